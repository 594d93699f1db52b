"""From per-partition signatures to one cluster assignment per row, on Spark DataFrames.

    signatures → nodes numbered in survivor order (best tier, longest, smallest id)
        → exact copies: one representative per normalised-text hash (its group's first node)
      → representatives: LSH band collisions (star to the bucket's smallest node), verified by
        estimated Jaccard → connected components (large-star/small-star)
      → survivor check: a member not similar to the component's survivor itself stays on its own
      → per row: root = its representative's root = the survivor; cluster size; duplicate type

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
    survivor_check: float | None = None  # None: every member of a component is its survivor's duplicate


def _numbered_nodes(spark: SparkSession, signatures_dir: str, work_dir: str) -> DataFrame:
    """Signature rows with `node`, increasing in survivor order (written out so it is fixed)."""
    path = f"{work_dir}/nodes"
    ordered = spark.read.parquet(signatures_dir).orderBy(*SURVIVOR_ORDER)
    ordered.withColumn("node", F.monotonically_increasing_id()).write.mode("overwrite").parquet(path)
    return spark.read.parquet(path)


def _representatives(nodes: DataFrame, exact: bool) -> DataFrame:
    """(node, rep): each node's exact-copy group representative, its group's first node."""
    if not exact:
        return nodes.select("node", F.col("node").alias("rep"))
    first = nodes.groupBy("exact").agg(F.min("node").alias("rep"))
    return nodes.select("node", "exact").join(first, "exact").select("node", "rep")


def _lsh_candidates(representatives: DataFrame) -> DataFrame:
    """Pairs sharing a band key: every member of a bucket paired with the bucket's smallest node."""
    banded = representatives.select("node", F.posexplode("bands").alias("band", "key"))
    smallest = banded.groupBy("band", "key").agg(F.min("node").alias("b"))
    return (banded.join(smallest, ["band", "key"]).where(F.col("node") != F.col("b"))
            .select(F.col("node").alias("a"), "b").distinct())


def _with_similarity(pairs: DataFrame, nodes: DataFrame, left: str, right: str,
                     num_perm: int) -> DataFrame:
    """Pairs of node columns `left`, `right` plus their estimated Jaccard (share of equal values)."""
    sig_left = nodes.select(F.col("node").alias(left), F.col("sig").alias("sig_left"))
    sig_right = nodes.select(F.col("node").alias(right), F.col("sig").alias("sig_right"))
    equal = F.expr("aggregate(zip_with(sig_left, sig_right, (x, y) -> if(x = y, 1, 0)), 0, "
                   "(acc, x) -> acc + x)")
    return (pairs.join(sig_left, left).join(sig_right, right)
            .withColumn("similarity", equal / num_perm).drop("sig_left", "sig_right"))


def _verified(candidates: DataFrame, nodes: DataFrame, settings: ClusterSettings) -> DataFrame:
    """Candidate pairs whose estimated Jaccard passes the cut."""
    scored = _with_similarity(candidates, nodes, "a", "b", settings.num_perm)
    return scored.where(F.col("similarity") >= settings.verify_threshold).select("a", "b")


def _survivor_checked(roots: DataFrame, nodes: DataFrame, settings: ClusterSettings) -> DataFrame:
    """A member whose estimated Jaccard with the survivor itself is below the cut becomes its own
    root: a chain A~B~C must not remove C for a survivor A that C does not resemble."""
    moved = roots.where(F.col("node") != F.col("root"))
    scored = _with_similarity(moved, nodes, "node", "root", settings.num_perm)
    failed = (scored.where(F.col("similarity") < settings.survivor_check)
              .select("node", F.lit(True).alias("separated")))
    separated = F.coalesce("separated", F.lit(False))
    return (roots.join(failed, "node", "left")
            .select("node", F.when(separated, F.col("node")).otherwise(F.col("root")).alias("root"),
                    separated.alias("separated")))


def _near_roots(representatives: DataFrame, nodes: DataFrame, settings: ClusterSettings,
                stats: dict) -> DataFrame:
    """(node, root) for every representative: LSH candidates → verified pairs → components."""
    with_bands = nodes.join(representatives, "node").where(F.col("shingles") > 0)
    candidates = _lsh_candidates(with_bands).localCheckpoint(eager=True)
    stats["candidate_pairs"] = candidates.count()
    near = candidates
    if settings.verify_threshold is not None:
        near = _verified(candidates, nodes, settings).localCheckpoint(eager=True)
    stats["verified_pairs"] = near.count()
    components, stats["components_rounds"] = connected_components(near)
    roots = (representatives.join(components, "node", "left")
             .select("node", F.coalesce("root", "node").alias("root")))
    if settings.survivor_check is not None:
        checked = _survivor_checked(roots, nodes, settings).localCheckpoint(eager=True)
        stats["separated_from_survivor"] = checked.where(F.col("separated")).count()
        roots = checked.select("node", "root")
    return roots


def cluster(spark: SparkSession, signatures_dir: str, work_dir: str, settings: ClusterSettings) -> dict:
    """Write `work_dir/assign` (partitioned by part) and return counts for the manifest."""
    nodes = _numbered_nodes(spark, signatures_dir, work_dir)
    stats: dict = {"documents": nodes.count()}
    node_rep = _representatives(nodes, settings.exact).localCheckpoint(eager=True)
    representatives = node_rep.where(F.col("node") == F.col("rep")).select("node")
    if settings.near:
        rep_roots = _near_roots(representatives, nodes, settings, stats)
    else:
        rep_roots = representatives.select("node", F.col("node").alias("root"))
    components = (node_rep.join(rep_roots.withColumnRenamed("node", "rep"), "rep")
                  .select("node", "root"))

    assigned = nodes.select("node", "id", "part", "row", "exact").join(components, "node")
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
