"""From per-partition signatures to one cluster assignment per row, on Spark DataFrames.

    signatures → nodes numbered in survivor order (best tier, longest, smallest id)
      → exact copies: one representative per normalised-text hash (its group's first node)
      → representatives: LSH band collisions (star to the bucket's smallest node), verified by
        estimated Jaccard → connected components (in the driver when the edge set is small,
        else large-star/small-star rounds)
      → survivor check: a member not similar to the component's survivor itself stays on its own
      → cluster members: root = its representative's root = the survivor; size; duplicate type
        (every other row is unique, filled in per partition by the stage)

Numbering nodes in survivor order makes the component minimum the survivor, so no step needs a
whole cluster in one place. The node numbers depend on Spark's partitioning, but only their order
is used, so the output is the same for any partition count or cluster.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from filters.dedup.components import connected_components, connected_components_on_driver
from filters.dedup.signatures import unpacked_rows

BAND_ROWS = pa.schema([("node", pa.int64()), ("band", pa.int32()), ("key", pa.int64())])
BAND_ROWS_DDL = "node long, band int, key long"
ASSIGNMENT_DDL = "row int, id string, dup_cluster_id string, dup_cluster_size long, dup_type string, part int"

# (column, ascending): best tier, longest text, smallest id; part and row only break exact ties
SURVIVOR_ORDER = (("tier_rank", True), ("length", False), ("id", True), ("part", True), ("row", True))


@dataclass(frozen=True)
class ClusterSettings:
    exact: bool = True
    near: bool = True
    verify_threshold: float | None = None  # None: merge every LSH candidate pair
    survivor_check: float | None = None  # None: every component member is its survivor's duplicate
    driver_components_max_edges: int = 0  # verified edges up to this many: components in the driver


def _numbered_nodes(spark: SparkSession, signatures_dir: str, work_dir: str) -> DataFrame:
    """Signature rows with `node`, increasing in survivor order (written out so it is fixed)."""
    path = f"{work_dir}/nodes"
    ordered = spark.read.parquet(signatures_dir).orderBy(
        *[F.col(name).asc() if ascending else F.col(name).desc() for name, ascending in SURVIVOR_ORDER])
    ordered.withColumn("node", F.monotonically_increasing_id()).write.mode("overwrite").parquet(path)
    return spark.read.parquet(path)


def _exact_copies(nodes: DataFrame) -> DataFrame:
    """(node, rep) for every exact copy: rep is the first node of its normalised-text group."""
    groups = (nodes.groupBy("exact").agg(F.min("node").alias("rep"), F.count(F.lit(1)).alias("n"))
              .where(F.col("n") > 1))
    return (nodes.select("node", "exact").join(groups, "exact").where(F.col("node") != F.col("rep"))
            .select("node", "rep"))


def _band_rows(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """(node, packed band keys) → one (node, band, key) row per band, in numpy."""
    for batch in batches:
        keys = unpacked_rows(batch.column("bands"), np.int64)
        count, bands = keys.shape
        yield pa.RecordBatch.from_arrays(
            [pa.array(np.repeat(batch.column("node").to_numpy(), bands)),
             pa.array(np.tile(np.arange(bands, dtype=np.int32), count)), pa.array(keys.reshape(-1))],
            names=["node", "band", "key"])


def _bucket_stars(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """All (band, key) rows of one hash partition → (member, smallest member) of every bucket."""
    table = pa.Table.from_batches(list(batches), schema=BAND_ROWS)
    band, key, node = (table.column(name).to_numpy() for name in ("band", "key", "node"))
    order = np.lexsort((node, key, band))
    band, key, node = band[order], key[order], node[order]
    starts = np.ones(node.size, dtype=bool)
    starts[1:] = (band[1:] != band[:-1]) | (key[1:] != key[:-1])
    smallest = node[np.maximum.accumulate(np.where(starts, np.arange(node.size), 0))]
    linked = node != smallest
    yield pa.RecordBatch.from_arrays([pa.array(node[linked]), pa.array(smallest[linked])],
                                     names=["a", "b"])


def _lsh_candidates(representatives: DataFrame) -> DataFrame:
    """Pairs sharing a band key: every member of a bucket paired with the bucket's smallest node.
    One shuffle of (band, key, node) longs; the grouping is a sort in numpy per partition."""
    banded = representatives.select("node", "bands").mapInArrow(_band_rows, BAND_ROWS_DDL)
    return banded.repartition("band", "key").mapInArrow(_bucket_stars, "a long, b long").distinct()


def _similarities(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Estimated Jaccard of each pair: the share of equal signature values."""
    for batch in batches:
        left = unpacked_rows(batch.column("sig_left"), np.uint32)
        right = unpacked_rows(batch.column("sig_right"), np.uint32)
        similarity = (left == right).mean(axis=1) if left.size else np.zeros(len(batch))
        yield pa.RecordBatch.from_arrays(
            [batch.column("left"), batch.column("right"), pa.array(similarity)],
            names=["left", "right", "similarity"])


def _with_similarity(pairs: DataFrame, nodes: DataFrame, left: str, right: str) -> DataFrame:
    """Pairs of node columns `left`, `right` plus their estimated Jaccard."""
    sig_left = nodes.select(F.col("node").alias("left"), F.col("sig").alias("sig_left"))
    sig_right = nodes.select(F.col("node").alias("right"), F.col("sig").alias("sig_right"))
    joined = (pairs.select(F.col(left).alias("left"), F.col(right).alias("right"))
              .join(sig_left, "left").join(sig_right, "right")
              .select("left", "right", "sig_left", "sig_right"))
    scored = joined.mapInArrow(_similarities, "left long, right long, similarity double")
    return scored.select(F.col("left").alias(left), F.col("right").alias(right), "similarity")


def _verified(candidates: DataFrame, nodes: DataFrame, settings: ClusterSettings) -> DataFrame:
    """Candidate pairs whose estimated Jaccard passes the cut."""
    scored = _with_similarity(candidates, nodes, "a", "b")
    return scored.where(F.col("similarity") >= settings.verify_threshold).select("a", "b")


def _survivor_checked(moved: DataFrame, nodes: DataFrame, settings: ClusterSettings) -> DataFrame:
    """Drop from `moved` each member whose estimated Jaccard with the survivor itself is below the
    cut: it stays on its own, so a chain A~B~C does not remove C for a survivor A it does not
    resemble."""
    scored = _with_similarity(moved, nodes, "node", "root")
    return scored.where(F.col("similarity") >= settings.survivor_check).select("node", "root")


def _near_moved(representatives: DataFrame, nodes: DataFrame, settings: ClusterSettings,
                stats: dict) -> DataFrame:
    """(node, root) for every representative merged into a smaller one: LSH candidates → verified
    pairs → components (→ survivor check)."""
    with_bands = nodes.join(representatives, "node").where(F.col("shingles") > 0)
    candidates = _lsh_candidates(with_bands).localCheckpoint(eager=True)
    stats["candidate_pairs"] = candidates.count()
    near = candidates
    if settings.verify_threshold is not None:
        near = _verified(candidates, nodes, settings).localCheckpoint(eager=True)
    stats["verified_pairs"] = near.count()
    if stats["verified_pairs"] <= settings.driver_components_max_edges:
        moved, stats["components_rounds"] = connected_components_on_driver(near), 0
    else:
        moved, stats["components_rounds"] = connected_components(near)
    if settings.survivor_check is not None:
        moved = moved.localCheckpoint(eager=True)
        checked = _survivor_checked(moved, nodes, settings).localCheckpoint(eager=True)
        stats["separated_from_survivor"] = moved.count() - checked.count()
        moved = checked
    return moved


def _no_rows(spark: SparkSession, *names: str) -> DataFrame:
    return spark.createDataFrame([], ", ".join(f"{name} long" for name in names))


def cluster(spark: SparkSession, signatures_dir: str, work_dir: str, settings: ClusterSettings) -> dict:
    """Write `work_dir/assign` (partitioned by part) for the rows of every cluster of two or more,
    and return counts for the manifest. Rows not written are unique; only the (few) cluster
    members go through the joins below."""
    nodes = _numbered_nodes(spark, signatures_dir, work_dir)
    stats: dict = {"documents": nodes.count()}
    copies = _exact_copies(nodes) if settings.exact else _no_rows(spark, "node", "rep")
    copies = copies.localCheckpoint(eager=True)
    if settings.near:
        representatives = nodes.select("node").join(copies, "node", "left_anti")
        near = _near_moved(representatives, nodes, settings, stats)
    else:
        near = _no_rows(spark, "node", "root")
    follow = near.select(F.col("node").alias("rep"), "root")  # exact copies follow their representative
    moved = (copies.join(follow, "rep", "left").select("node", F.coalesce("root", "rep").alias("root"))
             .unionByName(near)).localCheckpoint(eager=True)

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
        "unique": stats["documents"] - sum(counts.values()),
        "exact_duplicates": counts.get("exact_duplicate", 0),
        "near_duplicates": counts.get("near_duplicate", 0),
    })
    largest = max((r["largest"] for r in summary), default=min(stats["documents"], 1))
    stats["largest_cluster"] = int(largest)
    return stats


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
