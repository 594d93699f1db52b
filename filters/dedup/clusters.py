"""From per-partition signatures to one cluster assignment per row, on Spark DataFrames.

    signatures → nodes numbered in survivor order (best tier, longest, smallest id)
      → edges: same exact hash, and LSH band collisions (star to the bucket's smallest node),
        verified by estimated Jaccard → connected components (large-star/small-star)
      → per row: root = smallest node of its component = the survivor; cluster size; duplicate type

Numbering nodes in survivor order makes the component minimum the survivor, so no step needs a
whole cluster in one place. The node numbers depend on Spark's partitioning, but only their order
is used, so the output is the same for any partition count or cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from filters.dedup.components import connected_components

SURVIVOR_ORDER = [F.col("tier_rank").asc(), F.col("length").desc(), F.col("id").asc(),
                  F.col("part").asc(), F.col("row").asc()]


@dataclass(frozen=True)
class ClusterSettings:
    num_perm: int
    exact: bool = True
    near: bool = True
    verify_threshold: float | None = None  # None: merge every LSH candidate pair


def _numbered_nodes(spark: SparkSession, signatures_dir: str, work_dir: str) -> DataFrame:
    """Signature rows with `node`, increasing in survivor order (written out so it is fixed)."""
    path = f"{work_dir}/nodes"
    ordered = spark.read.parquet(signatures_dir).orderBy(*SURVIVOR_ORDER)
    ordered.withColumn("node", F.monotonically_increasing_id()).write.mode("overwrite").parquet(path)
    return spark.read.parquet(path)


def _exact_edges(nodes: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(edges from every exact copy to its group's first node, the group representatives)."""
    first = nodes.groupBy("exact").agg(F.min("node").alias("rep"))
    edges = (nodes.select("node", "exact").join(first, "exact")
             .where(F.col("node") != F.col("rep")).select(F.col("node").alias("a"), F.col("rep").alias("b")))
    return edges, first.select(F.col("rep").alias("node"))


def _lsh_candidates(representatives: DataFrame) -> DataFrame:
    """Pairs sharing a band key: every member of a bucket paired with the bucket's smallest node."""
    banded = representatives.select("node", F.posexplode("bands").alias("band", "key"))
    smallest = banded.groupBy("band", "key").agg(F.min("node").alias("b"))
    return (banded.join(smallest, ["band", "key"]).where(F.col("node") != F.col("b"))
            .select(F.col("node").alias("a"), "b").distinct())


def _verified(candidates: DataFrame, nodes: DataFrame, settings: ClusterSettings) -> DataFrame:
    """Candidate pairs whose estimated Jaccard (share of equal signature values) passes the cut."""
    sig_a = nodes.select(F.col("node").alias("a"), F.col("sig").alias("sig_a"))
    sig_b = nodes.select(F.col("node").alias("b"), F.col("sig").alias("sig_b"))
    equal = F.expr("aggregate(zip_with(sig_a, sig_b, (x, y) -> if(x = y, 1, 0)), 0, (acc, x) -> acc + x)")
    scored = candidates.join(sig_a, "a").join(sig_b, "b").withColumn("similarity", equal / settings.num_perm)
    return scored.where(F.col("similarity") >= settings.verify_threshold).select("a", "b")


def cluster(spark: SparkSession, signatures_dir: str, work_dir: str, settings: ClusterSettings) -> dict:
    """Write `work_dir/assign` (partitioned by part) and return counts for the manifest."""
    nodes = _numbered_nodes(spark, signatures_dir, work_dir)
    stats: dict = {"documents": nodes.count()}
    edge_sets = []
    exact_edges, representatives = _exact_edges(nodes)
    if settings.exact:
        edge_sets.append(exact_edges)
    else:
        representatives = nodes.select("node")
    if settings.near:
        reps = nodes.join(representatives, "node").where(F.col("shingles") > 0)
        candidates = _lsh_candidates(reps).localCheckpoint(eager=True)
        stats["candidate_pairs"] = candidates.count()
        near = candidates
        if settings.verify_threshold is not None:
            near = _verified(candidates, nodes, settings).localCheckpoint(eager=True)
        stats["verified_pairs"] = near.count()
        edge_sets.append(near)
    edges = edge_sets[0]
    for more in edge_sets[1:]:
        edges = edges.unionByName(more)
    components, stats["components_rounds"] = connected_components(edges)

    assigned = (nodes.select("node", "id", "part", "row", "exact").join(components, "node", "left")
                .withColumn("root", F.coalesce("root", "node")))
    sizes = assigned.groupBy("root").agg(F.count(F.lit(1)).alias("dup_cluster_size"))
    survivors = nodes.select(F.col("node").alias("root"), F.col("id").alias("dup_cluster_id"),
                             F.col("exact").alias("survivor_exact"))
    kind = (F.when(F.col("node") == F.col("root"),
                   F.when(F.col("dup_cluster_size") > 1, "survivor").otherwise("unique"))
            .when(F.col("exact") == F.col("survivor_exact"), "exact_duplicate")
            .otherwise("near_duplicate"))
    rows = (assigned.join(sizes, "root").join(survivors, "root").withColumn("dup_type", kind)
            .select("part", "row", "id", "dup_cluster_id", "dup_cluster_size", "dup_type"))
    path = f"{work_dir}/assign"
    rows.repartition("part").write.mode("overwrite").partitionBy("part").parquet(path)
    result = spark.read.parquet(path)
    summary = result.groupBy("dup_type").agg(F.count(F.lit(1)).alias("count"),
                                              F.max("dup_cluster_size").alias("largest")).collect()
    counts = {r["dup_type"]: r["count"] for r in summary}
    stats.update({
        "clusters": counts.get("survivor", 0),
        "unique": counts.get("unique", 0),
        "exact_duplicates": counts.get("exact_duplicate", 0),
        "near_duplicates": counts.get("near_duplicate", 0),
    })
    stats["largest_cluster"] = int(max((r["largest"] for r in summary), default=0))
    return stats


def sample_removed(spark: SparkSession, work_dir: str, size: int, seed: int) -> list[dict]:
    """A deterministic sample of near-duplicate rows with where their survivor is (for precision)."""
    if size <= 0:
        return []
    rows = spark.read.parquet(f"{work_dir}/assign")
    removed = rows.where(F.col("dup_type") == "near_duplicate")
    picked = (removed.withColumn("h", F.xxhash64("id", F.lit(seed))).orderBy("h", "id", "part", "row")
              .limit(size))
    survivors = rows.where(F.col("id") == F.col("dup_cluster_id")).where(F.col("dup_type") == "survivor")
    survivors = survivors.select(F.col("id").alias("dup_cluster_id"), F.col("part").alias("survivor_part"),
                                 F.col("row").alias("survivor_row")).dropDuplicates(["dup_cluster_id"])
    joined = picked.join(survivors, "dup_cluster_id").orderBy("h", "id", "part", "row")
    return [r.asDict() for r in joined.select("id", "part", "row", "survivor_part", "survivor_row").collect()]
