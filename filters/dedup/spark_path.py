"""The clustering steps on Spark, for candidate sets too large for the driver (driver_path.py).

Only candidate nodes travel past the buckets: their signature rows are read per input partition
(a semi-join in numpy), numbered in survivor order (best tier, longest, smallest id), so each
component's minimum is its survivor and no step needs a whole cluster in one place. Pairs are
verified with rules.py, components found by large-star/small-star rounds (or in the driver when
the verified edges are few), then the survivor check and the assignment are joins. Each step
writes its result into the work folder (steps.py), so a killed run resumes at the step it was in.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from filters.dedup.cluster_settings import ClusterSettings
from filters.dedup.components import connected_components, connected_components_on_driver
from filters.dedup.precision import precision_census, texts_at
from filters.dedup.rules import (
    SURVIVOR_ORDER,
    merges,
    node_rows,
    resembles,
    similar,
    text_similarity,
)
from filters.dedup.signatures import unpacked_rows
from filters.dedup.work import WorkDir

NODE_DDL = ("pr long, part int, row int, id string, exact binary, length long, tier_rank int, "
            "shingles long, sig binary")
LINKS_DDL = "node long, root long"
ASSIGNMENT_DDL = "row int, id string, dup_cluster_id string, dup_cluster_size long, dup_type string, part int"


def _numbered_nodes(pairs: DataFrame, files: dict[int, str]) -> DataFrame:
    """Every node of a candidate pair with its signature row and `node`, increasing in survivor
    order."""
    ends = pairs.select(F.col("a").alias("pr")).union(pairs.select(F.col("b").alias("pr"))).distinct()
    ends = ends.select(F.shiftright("pr", 32).cast("int").alias("part"),
                       F.col("pr").bitwiseAND(0xFFFFFFFF).cast("int").alias("row"))

    def rows_of(table: pa.Table) -> pa.Table:  # a plain function: applyInArrow reads its hints
        part = int(table.column("part")[0].as_py())
        return node_rows(files[part], part, np.unique(table.column("row").to_numpy()))

    rows = ends.groupBy("part").applyInArrow(rows_of, NODE_DDL)
    ordered = rows.orderBy(*[F.col(name).asc() if ascending else F.col(name).desc()
                             for name, ascending in SURVIVOR_ORDER])
    return ordered.withColumn("node", F.monotonically_increasing_id())


def _similar(batch: pa.RecordBatch) -> tuple[np.ndarray, np.ndarray]:
    """rules.similar() of each joined pair in a batch."""
    return similar(unpacked_rows(batch.column("exact_l"), np.int64), unpacked_rows(batch.column("exact_r"), np.int64),
                   unpacked_rows(batch.column("sig_l"), np.uint32), unpacked_rows(batch.column("sig_r"), np.uint32))


def _verified_edges(batches: Iterator[pa.RecordBatch], settings: ClusterSettings) -> Iterator[pa.RecordBatch]:
    """Candidate pairs → (a, b) node numbers of those that merge (rules.merges)."""
    for batch in batches:
        keep = merges(*_similar(batch), batch.column("shingles_l").to_numpy(),
                      batch.column("shingles_r").to_numpy(), settings)
        yield pa.RecordBatch.from_arrays(
            [pa.array(batch.column("node_l").to_numpy()[keep]), pa.array(batch.column("node_r").to_numpy()[keep])],
            names=["a", "b"])


def _pair_frame(pairs: DataFrame, nodes: DataFrame, left: str, right: str, by: str) -> DataFrame:
    """`pairs`, whose columns `left` and `right` hold `by` values of nodes, joined with both ends'
    node number, exact hash, shingle count and signature (suffixes _l, _r)."""
    def side(key: str, suffix: str) -> DataFrame:
        return nodes.select(F.col(by).alias(key), *[F.col(c).alias(c + suffix)
                                                    for c in ("node", "exact", "shingles", "sig")])

    return pairs.join(side(left, "_l"), left).join(side(right, "_r"), right)


def components(spark: SparkSession, work: WorkDir, files: dict[int, str], settings: ClusterSettings) -> dict:
    """Number the candidate nodes, verify the pairs, and write each component member's survivor."""
    pairs = spark.read.schema("a long, b long").parquet(work.path("pairs")).distinct().localCheckpoint(eager=True)
    candidate_pairs = pairs.count()
    _numbered_nodes(pairs, files).write.mode("overwrite").parquet(work.path("nodes"))
    nodes = spark.read.parquet(work.path("nodes"))
    edges = (_pair_frame(pairs, nodes, "a", "b", "pr").drop("a", "b")
             .mapInArrow(partial(_verified_edges, settings=settings), "a long, b long")
             .localCheckpoint(eager=True))
    verified = edges.count()
    if verified <= settings.driver_components_max_edges:
        moved, rounds = connected_components_on_driver(edges), 0
    else:
        moved, rounds = connected_components(edges)
    moved.write.mode("overwrite").parquet(work.path("components"))
    return {"candidate_pairs": candidate_pairs, "verified_pairs": verified, "components_rounds": rounds}


def _survivor_passes(batches: Iterator[pa.RecordBatch], cut: float) -> Iterator[pa.RecordBatch]:
    """(node, root) → whether the member resembles its survivor (rules.resembles)."""
    for batch in batches:
        passes = resembles(*_similar(batch), cut)
        yield pa.RecordBatch.from_arrays(
            [batch.column("node"), batch.column("root"), batch.column("exact_l"), pa.array(passes)],
            names=["node", "root", "exact", "passes"])


def _survivor_passes_by_text(batches: Iterator[pa.RecordBatch], cut: float,
                             ngram: int, tokens: str = "words") -> Iterator[pa.RecordBatch]:
    """(node, root, texts) → whether the member resembles its survivor by exact Jaccard."""
    for batch in batches:
        same = (unpacked_rows(batch.column("exact_l"), np.int64) == unpacked_rows(batch.column("exact_r"), np.int64)
                ).all(axis=1)
        similarity = text_similarity(same, batch.column("text_l"), batch.column("text_r"), ngram, tokens)
        yield pa.RecordBatch.from_arrays(
            [batch.column("node"), batch.column("root"), batch.column("exact_l"),
             pa.array(resembles(same, similarity, cut)), pa.array(similarity), pa.array(same)],
            names=["node", "root", "exact", "passes", "similarity", "same"])


def _scored_by_text(moved: DataFrame, nodes: DataFrame, inputs: dict[int, str],
                    settings: ClusterSettings) -> DataFrame:
    """_survivor_passes_by_text of every (node, root): the texts of the members and survivors only
    are read, per input partition."""
    ends = moved.select("node").union(moved.select(F.col("root").alias("node"))).distinct()

    def text_rows(table: pa.Table) -> pa.Table:  # a plain function: applyInArrow reads its hints
        part = int(table.column("part")[0].as_py())
        texts = texts_at(inputs[part], table.column("row").to_numpy())
        return pa.table({"node": table.column("node"), "exact": table.column("exact"),
                         "text": texts.cast(pa.string())})

    texts = (ends.join(nodes.select("node", "part", "row", "exact"), "node")
             .groupBy("part").applyInArrow(text_rows, "node long, exact binary, text string"))

    def side(key: str, suffix: str) -> DataFrame:
        return texts.select(F.col("node").alias(key), F.col("text").alias("text" + suffix),
                            F.col("exact").alias("exact" + suffix))

    joined = moved.join(side("node", "_l"), "node").join(side("root", "_r"), "root")
    return joined.mapInArrow(partial(_survivor_passes_by_text, cut=settings.survivor_check,
                                     ngram=settings.survivor_check_ngram, tokens=settings.tokens),
                             "node long, root long, exact binary, passes boolean, similarity double, same boolean")


def survivor_check(spark: SparkSession, work: WorkDir, inputs: dict[int, str], settings: ClusterSettings) -> dict:
    """Keep as duplicates only members that resemble the survivor itself, so a chain A~B~C does not
    remove C for a survivor A it does not resemble (by exact Jaccard of the texts, or by estimate).
    A member that fails stays, and its exact copies (which fail with it) stay its duplicates: their
    smallest node becomes their root."""
    moved = spark.read.schema(LINKS_DDL).parquet(work.path("components"))
    if settings.survivor_check is None:
        moved.write.mode("overwrite").parquet(work.path("checked"))
        return {}
    nodes = spark.read.parquet(work.path("nodes"))
    figures = {}
    if settings.survivor_check_ngram is not None:
        scored = _scored_by_text(moved, nodes, inputs, settings).localCheckpoint(eager=True)
        removals = scored.where(F.col("passes") & ~F.col("same")).select("similarity").toArrow()
        figures["precision"] = precision_census(removals.column(0).to_numpy(), settings.survivor_check)
    else:
        scored = _pair_frame(moved, nodes, "node", "root", "node").mapInArrow(
            partial(_survivor_passes, cut=settings.survivor_check), "node long, root long, exact binary, passes boolean"
        ).localCheckpoint(eager=True)
    failed = scored.where(~F.col("passes"))
    regrouped = (failed.withColumn("root", F.min("node").over(Window.partitionBy("exact")))
                 .where(F.col("node") != F.col("root")).select("node", "root"))
    (scored.where(F.col("passes")).select("node", "root").unionByName(regrouped)
     .write.mode("overwrite").parquet(work.path("checked")))
    return {"separated_from_survivor": failed.count(), **figures}


def assignment(spark: SparkSession, work: WorkDir) -> dict:
    """Every cluster member's row (survivor's id, cluster size, duplicate type), per input partition."""
    moved = spark.read.schema(LINKS_DDL).parquet(work.path("checked"))
    nodes = spark.read.parquet(work.path("nodes"))
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
    rows.repartition("part").write.mode("overwrite").partitionBy("part").parquet(work.path("assign"))
    written = spark.read.schema(ASSIGNMENT_DDL).parquet(work.path("assign"))
    summary = written.groupBy("dup_type").agg(F.count(F.lit(1)).alias("count"),
                                           F.max("dup_cluster_size").alias("largest")).collect()
    counts = {r["dup_type"]: r["count"] for r in summary}
    return {"clusters": counts.get("survivor", 0), "members": sum(counts.values()),
            "exact_duplicates": counts.get("exact_duplicate", 0),
            "near_duplicates": counts.get("near_duplicate", 0),
            "largest_cluster": int(max((r["largest"] for r in summary), default=0))}
