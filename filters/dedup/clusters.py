"""From per-partition signatures to one cluster assignment per row, on Spark.

    signature files → bucket rows (one per LSH band, one per normalised-text hash), built and
      grouped in numpy: one shuffle of packed blobs, each bucket a star to its first member
      → candidate pairs (only documents sharing a bucket with another)
      → their endpoints' signatures, read from the signature files per input partition
      → those nodes numbered in survivor order (best tier, longest, smallest id)
      → pairs verified (same normalised text, or estimated Jaccard ≥ the cut)
      → connected components (in the driver when the edge set is small, else large-star/small-star)
      → survivor check: a member not similar to its survivor itself stays (with its exact copies)
      → cluster members: root = the survivor; size; duplicate type
        (every other row is unique, filled in per partition by the stage)

The whole corpus passes through Spark once, as a few large binary blobs per (input partition,
reducer): the JVM moves bytes and never sees a row per document. Everything after the buckets
grows with the duplicates, not with the corpus. Before numbering, a node is `part << 32 | row`; a
bucket's star centre is its first member by (tier, length, normalised-text hash), which depends on
the documents only, so the verified edges, and hence the clusters, are the same for any input
partitioning or Spark cluster. Numbering the candidates in survivor order makes each component's
minimum its survivor, so no step needs a whole cluster in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from filters.dedup.components import connected_components, connected_components_on_driver
from filters.dedup.incore import (
    DRIVER_MAX_NODES,
    SURVIVOR_ORDER,
    cluster_in_driver,
    merges,
    node_rows,
    read_pairs,
    resembles,
    similar,
    text_similarity,
)
from filters.dedup.precision import precision_census, texts_at
from filters.dedup.signatures import unpacked_rows, write_uncompressed
from pipeline import io

ASSIGNMENT_DDL = "row int, id string, dup_cluster_id string, dup_cluster_size long, dup_type string, part int"
NODE_DDL = ("pr long, part int, row int, id string, exact binary, length long, tier_rank int, "
            "shingles long, sig binary")
PAIRS = pa.schema([("a", pa.int64()), ("b", pa.int64())])

KEY_BITS = 56  # bucket = (band + 1) << 56 | 56 bits of the band key; band 0 is the exact-text hash
KEY_MASK = np.int64((1 << KEY_BITS) - 1)
CHUNK_ROWS = 250_000  # signature rows turned into bucket rows at a time (bounds a mapper's memory)


@dataclass(frozen=True)
class ClusterSettings:
    exact: bool = True
    near: bool = True
    verify_threshold: float | None = None  # None: merge every LSH candidate pair
    survivor_check: float | None = None  # None: every component member is its survivor's duplicate
    survivor_check_ngram: int | None = None  # n-gram: the survivor check reads texts (exact Jaccard)
    driver_components_max_edges: int = 0  # verified edges up to this many: components in the driver


def _exact_keys(column: pa.Array) -> np.ndarray:
    """The first 64 bits of each 128-bit normalised-text hash, as int64."""
    return np.ascontiguousarray(unpacked_rows(column, np.int64)[:, 0])


def bucket_rows(batch: pa.RecordBatch, part: int, exact: bool, near: bool) -> np.ndarray:
    """(bucket, centre, exact key, node) int64 rows of one batch of signature rows: one per LSH band
    (documents with shingles only) and one per normalised-text hash. `centre` ranks members for the
    star: best tier, then longest; the exact key breaks its ties by content."""
    node = (np.int64(part) << 32) | batch.column("row").to_numpy().astype(np.int64)
    exact_key = _exact_keys(batch.column("exact"))
    length = np.minimum(batch.column("length").to_numpy(), 0xFFFFFFFF)
    centre = (batch.column("tier_rank").to_numpy().astype(np.int64) << 32) | (0xFFFFFFFF - length)
    keep = batch.column("shingles").to_numpy() > 0 if near else np.zeros(len(node), dtype=bool)
    keys = unpacked_rows(batch.column("bands"), np.int64)[keep]
    count, bands = keys.shape
    first = len(node) if exact else 0
    out = np.empty((first + count * bands, 4), dtype=np.int64)  # filled in place: no temporaries
    if exact:
        out[:first] = np.column_stack([exact_key & KEY_MASK, centre, exact_key, node])
    per_band = out[first:].reshape(count, bands, 4)
    per_band[:, :, 0] = (keys & KEY_MASK) | (np.arange(1, bands + 1, dtype=np.int64) << KEY_BITS)
    for column, values in ((1, centre), (2, exact_key), (3, node)):
        per_band[:, :, column] = values[keep][:, None]
    return out


def _bucket_blobs(job: tuple[str, int], settings: ClusterSettings, reducers: int) -> Iterator[tuple[int, bytes]]:
    """One signature file → (reducer, packed bucket rows) per reducer and chunk of rows."""
    path, part = job
    table = io.read_parquet(path, columns=["row", "exact", "length", "tier_rank", "shingles", "bands"])
    for batch in table.to_batches(max_chunksize=CHUNK_ROWS):
        rows = bucket_rows(batch, part, settings.exact, settings.near)
        target = (rows[:, 0] % reducers).astype(np.uint16 if reducers < 2**16 else np.int64)
        order = np.argsort(target, kind="stable")  # a radix sort for 16-bit keys
        bounds = np.searchsorted(target[order], np.arange(reducers + 1))
        for reducer in range(reducers):
            chunk = rows[order[bounds[reducer]:bounds[reducer + 1]]]
            if len(chunk):
                yield reducer, np.ascontiguousarray(chunk).tobytes()


def bucket_stars(rows: np.ndarray) -> np.ndarray:
    """Bucket rows → distinct (member, centre) node pairs: each member of a bucket of two or more
    linked to its first member by (centre, exact key, node)."""
    by_bucket = np.sort(rows[:, 0])
    shared = np.unique(by_bucket[1:][by_bucket[1:] == by_bucket[:-1]])  # buckets of two or more
    rows = rows[np.isin(rows[:, 0], shared, assume_unique=False)]  # the few rows that matter
    if not len(rows):
        return np.zeros((0, 2), dtype=np.int64)
    order = np.lexsort((rows[:, 3], rows[:, 2], rows[:, 1], rows[:, 0]))
    bucket, node = rows[order, 0], rows[order, 3]
    starts = np.ones(len(order), dtype=bool)
    starts[1:] = bucket[1:] != bucket[:-1]
    centre = node[np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))]
    pairs = np.column_stack([node[~starts], centre[~starts]])
    return np.unique(pairs, axis=0) if len(pairs) else pairs


def _write_stars(index: int, blobs: Iterable[tuple[int, bytes]], folder: str) -> Iterator[int]:
    """One reducer: all bucket rows hashed to it → its candidate pairs, as one parquet file."""
    parts = [np.frombuffer(blob, dtype=np.int64).reshape(-1, 4) for _, blob in blobs]
    pairs = bucket_stars(np.concatenate(parts) if parts else np.zeros((0, 4), dtype=np.int64))
    write_uncompressed(io.join(folder, f"part-{index:05d}.parquet"),
                       pa.table([pa.array(pairs[:, 0]), pa.array(pairs[:, 1])], schema=PAIRS))
    yield len(pairs)


def _write_candidates(spark: SparkSession, files: list[tuple[str, int]], work_dir: str,
                      settings: ClusterSettings) -> str:
    """Candidate pairs (a, b) of nodes `part << 32 | row`, one parquet file per reducer (a pair may
    repeat across files); returns the folder. The shuffle carries one blob per (mapper chunk,
    reducer); bucketing is a numpy sort per reducer."""
    reducers = max(int(spark.conf.get("spark.sql.shuffle.partitions")), 1)
    folder = f"{work_dir}/pairs"
    (spark.sparkContext.parallelize(files, len(files))
     .flatMap(partial(_bucket_blobs, settings=settings, reducers=reducers))
     .partitionBy(reducers, int)
     .mapPartitionsWithIndex(partial(_write_stars, folder=folder))
     .collect())
    return folder


def _node_rows(table: pa.Table, files: dict[int, str]) -> pa.Table:
    """The signature rows of one input partition's candidate nodes (a semi-join in numpy)."""
    part = int(table.column("part")[0].as_py())
    return node_rows(files[part], part, np.unique(table.column("row").to_numpy()))


def _numbered_nodes(pairs: DataFrame, files: dict[int, str]) -> DataFrame:
    """Every node of a candidate pair with its signature row and `node`, increasing in survivor
    order."""
    ends = pairs.select(F.col("a").alias("pr")).union(pairs.select(F.col("b").alias("pr"))).distinct()
    ends = ends.select(F.shiftright("pr", 32).cast("int").alias("part"),
                       F.col("pr").bitwiseAND(0xFFFFFFFF).cast("int").alias("row"))

    def node_rows(table: pa.Table) -> pa.Table:  # a plain function: applyInArrow reads its hints
        return _node_rows(table, files)

    rows = ends.groupBy("part").applyInArrow(node_rows, NODE_DDL)
    ordered = rows.orderBy(*[F.col(name).asc() if ascending else F.col(name).desc()
                             for name, ascending in SURVIVOR_ORDER])
    return ordered.withColumn("node", F.monotonically_increasing_id()).localCheckpoint(eager=True)


def _similar(batch: pa.RecordBatch) -> tuple[np.ndarray, np.ndarray]:
    """incore.similar() of each joined pair in a batch."""
    return similar(unpacked_rows(batch.column("exact_l"), np.int64), unpacked_rows(batch.column("exact_r"), np.int64),
                   unpacked_rows(batch.column("sig_l"), np.uint32), unpacked_rows(batch.column("sig_r"), np.uint32))


def _verified_edges(batches: Iterator[pa.RecordBatch], settings: ClusterSettings) -> Iterator[pa.RecordBatch]:
    """Candidate pairs → (a, b) node numbers of those that merge (incore.merges)."""
    for batch in batches:
        keep = merges(*_similar(batch), batch.column("shingles_l").to_numpy(),
                      batch.column("shingles_r").to_numpy(), settings)
        yield pa.RecordBatch.from_arrays(
            [pa.array(batch.column("node_l").to_numpy()[keep]), pa.array(batch.column("node_r").to_numpy()[keep])],
            names=["a", "b"])


def _survivor_passes(batches: Iterator[pa.RecordBatch], cut: float) -> Iterator[pa.RecordBatch]:
    """(node, root) → whether the member resembles its survivor (incore.resembles)."""
    for batch in batches:
        passes = resembles(*_similar(batch), cut)
        yield pa.RecordBatch.from_arrays(
            [batch.column("node"), batch.column("root"), batch.column("exact_l"), pa.array(passes)],
            names=["node", "root", "exact", "passes"])


def _pair_frame(pairs: DataFrame, nodes: DataFrame, left: str, right: str, by: str) -> DataFrame:
    """`pairs`, whose columns `left` and `right` hold `by` values of nodes, joined with both ends'
    node number, exact hash, shingle count and signature (suffixes _l, _r)."""
    def side(key: str, suffix: str) -> DataFrame:
        return nodes.select(F.col(by).alias(key), *[F.col(c).alias(c + suffix)
                                                    for c in ("node", "exact", "shingles", "sig")])

    return pairs.join(side(left, "_l"), left).join(side(right, "_r"), right)


def _text_rows(table: pa.Table, inputs: dict[int, str]) -> pa.Table:
    """(node, exact, text) of one input partition's nodes, the text read from its input file."""
    part = int(table.column("part")[0].as_py())
    texts = texts_at(inputs[part], table.column("row").to_numpy())
    return pa.table({"node": table.column("node"), "exact": table.column("exact"), "text": texts.cast(pa.string())})


def _survivor_passes_by_text(batches: Iterator[pa.RecordBatch], cut: float,
                             ngram: int) -> Iterator[pa.RecordBatch]:
    """(node, root, texts) → whether the member resembles its survivor by exact Jaccard."""
    for batch in batches:
        same = (unpacked_rows(batch.column("exact_l"), np.int64) == unpacked_rows(batch.column("exact_r"), np.int64)
                ).all(axis=1)
        similarity = text_similarity(same, batch.column("text_l"), batch.column("text_r"), ngram)
        yield pa.RecordBatch.from_arrays(
            [batch.column("node"), batch.column("root"), batch.column("exact_l"), pa.array(resembles(same, similarity, cut)),
             pa.array(similarity), pa.array(same)], names=["node", "root", "exact", "passes", "similarity", "same"])


def _scored_by_text(moved: DataFrame, nodes: DataFrame, inputs: dict[int, str],
                    settings: ClusterSettings) -> DataFrame:
    """_survivor_passes_by_text of every (node, root): the texts of the members and survivors only
    are read, per input partition."""
    ends = moved.select("node").union(moved.select(F.col("root").alias("node"))).distinct()

    def text_rows(table: pa.Table) -> pa.Table:  # a plain function: applyInArrow reads its hints
        return _text_rows(table, inputs)

    texts = (ends.join(nodes.select("node", "part", "row", "exact"), "node")
             .groupBy("part").applyInArrow(text_rows, "node long, exact binary, text string"))

    def side(key: str, suffix: str) -> DataFrame:
        return texts.select(F.col("node").alias(key), F.col("text").alias("text" + suffix),
                            F.col("exact").alias("exact" + suffix))

    joined = moved.join(side("node", "_l"), "node").join(side("root", "_r"), "root")
    return joined.mapInArrow(partial(_survivor_passes_by_text, cut=settings.survivor_check,
                                     ngram=settings.survivor_check_ngram),
                             "node long, root long, exact binary, passes boolean, similarity double, same boolean")


def _survivor_checked(moved: DataFrame, nodes: DataFrame, inputs: dict[int, str], settings: ClusterSettings,
                      stats: dict) -> DataFrame:
    """Keep in `moved` only members that resemble the survivor itself, so a chain A~B~C does not
    remove C for a survivor A it does not resemble (by exact Jaccard of the texts, or by estimate).
    A member that fails stays, and its exact copies (which fail with it) stay its duplicates: their
    smallest node becomes their root."""
    if settings.survivor_check_ngram is not None:
        scored = _scored_by_text(moved, nodes, inputs, settings).localCheckpoint(eager=True)
        removals = scored.where(F.col("passes") & ~F.col("same")).select("similarity").toArrow()
        stats["precision"] = precision_census(removals.column(0).to_numpy(), settings.survivor_check)
    else:
        scored = _pair_frame(moved, nodes, "node", "root", "node").mapInArrow(
            partial(_survivor_passes, cut=settings.survivor_check), "node long, root long, exact binary, passes boolean"
        ).localCheckpoint(eager=True)
    failed = scored.where(~F.col("passes"))
    stats["separated_from_survivor"] = failed.count()
    regrouped = (failed.withColumn("root", F.min("node").over(Window.partitionBy("exact")))
                 .where(F.col("node") != F.col("root")).select("node", "root"))
    return scored.where(F.col("passes")).select("node", "root").unionByName(regrouped)


def _moved(pairs: DataFrame, files: dict[int, str], inputs: dict[int, str], settings: ClusterSettings,
           stats: dict) -> tuple[DataFrame, DataFrame]:
    """(node, root) for every node merged into a smaller one, and the numbered candidate nodes."""
    pairs = pairs.distinct().localCheckpoint(eager=True)
    stats["candidate_pairs"] = pairs.count()
    nodes = _numbered_nodes(pairs, files)
    edges = (_pair_frame(pairs, nodes, "a", "b", "pr").drop("a", "b")
             .mapInArrow(partial(_verified_edges, settings=settings), "a long, b long")
             .localCheckpoint(eager=True))
    stats["verified_pairs"] = edges.count()
    if stats["verified_pairs"] <= settings.driver_components_max_edges:
        moved, stats["components_rounds"] = connected_components_on_driver(edges), 0
    else:
        moved, stats["components_rounds"] = connected_components(edges)
    if settings.survivor_check is not None:
        moved = _survivor_checked(moved, nodes, inputs, settings, stats)
    return moved.localCheckpoint(eager=True), nodes


def cluster(spark: SparkSession, files: list[tuple[str, int]], inputs: dict[int, str], documents: int,
            work_dir: str, settings: ClusterSettings, sample: tuple[int, int]) -> tuple[dict, list[dict]]:
    """Write `work_dir/assign` (partitioned by part) for the rows of every cluster of two or more,
    from the signature files [(path, part)] (and the input files {part: path}, for the exact
    survivor check); return counts for the manifest and the precision
    sample (`sample` = (size, seed), see sample_removed). Rows not written are unique; only
    candidate nodes go past the buckets. A small candidate set is finished in the driver
    (incore.py), a large one on Spark, with the same rules and result."""
    stats: dict = {"documents": documents}
    by_part = {part: path for path, part in files}
    folder = _write_candidates(spark, files, work_dir, settings)
    pairs = read_pairs(folder, settings.driver_components_max_edges)
    if pairs is not None and len(np.unique(pairs)) <= DRIVER_MAX_NODES:
        stats["candidate_pairs"] = len(pairs)
        removed = cluster_in_driver(pairs, by_part, inputs, documents, f"{work_dir}/assign", settings, sample, stats)
        return stats, removed
    moved, nodes = _moved(spark.read.schema("a long, b long").parquet(folder), by_part, inputs, settings, stats)
    sizes = moved.groupBy("root").agg((F.count(F.lit(1)) + 1).alias("dup_cluster_size"))
    members = moved.unionByName(sizes.select(F.col("root").alias("node"), "root"))
    survivors = nodes.select(F.col("node").alias("root"), F.col("id").alias("dup_cluster_id"),
                             F.col("exact").alias("survivor_exact"))
    kind = (F.when(F.col("node") == F.col("root"), "survivor")
            .when(F.col("exact") == F.col("survivor_exact"), "exact_duplicate")
            .otherwise("near_duplicate"))
    rows = (members.join(sizes, "root").join(nodes.select("node", "id", "part", "row", "exact"), "node")
            .join(survivors, "root").withColumn("dup_type", kind)
            .select("part", "row", "id", "dup_cluster_id", "dup_cluster_size", "dup_type"))
    rows.repartition("part").write.mode("overwrite").partitionBy("part").parquet(f"{work_dir}/assign")
    summary = read_assignments(spark, work_dir).groupBy("dup_type").agg(
        F.count(F.lit(1)).alias("count"), F.max("dup_cluster_size").alias("largest")).collect()
    counts = {r["dup_type"]: r["count"] for r in summary}
    stats.update({
        "clusters": counts.get("survivor", 0),
        "unique": documents - sum(counts.values()),
        "exact_duplicates": counts.get("exact_duplicate", 0),
        "near_duplicates": counts.get("near_duplicate", 0),
    })
    largest = max((r["largest"] for r in summary), default=min(documents, 1))
    stats["largest_cluster"] = int(largest)
    return stats, sample_removed(spark, work_dir, *sample)


def read_assignments(spark: SparkSession, work_dir: str) -> DataFrame:
    """The member rows written by cluster(); with an explicit schema, as a corpus without any
    duplicate leaves the folder without a data file."""
    return spark.read.schema(ASSIGNMENT_DDL).parquet(f"{work_dir}/assign")


def sample_removed(spark: SparkSession, work_dir: str, size: int, seed: int) -> list[dict]:
    """A deterministic sample of near-duplicate rows with where their survivor is (for precision)."""
    if size <= 0:
        return []
    rows = read_assignments(spark, work_dir)
    removed = rows.where(F.col("dup_type") == "near_duplicate")
    picked = (removed.withColumn("h", F.xxhash64("id", F.lit(seed))).orderBy("h", "id", "part", "row")
              .limit(size))
    survivors = rows.where(F.col("id") == F.col("dup_cluster_id")).where(F.col("dup_type") == "survivor")
    survivors = survivors.select(F.col("id").alias("dup_cluster_id"), F.col("part").alias("survivor_part"),
                                 F.col("row").alias("survivor_row")).dropDuplicates(["dup_cluster_id"])
    joined = picked.join(survivors, "dup_cluster_id").orderBy("h", "id", "part", "row")
    return [r.asDict() for r in joined.select("id", "part", "row", "survivor_part", "survivor_row").collect()]
