"""Connected components on Spark DataFrames with alternating large-star / small-star rounds
(Kiveris et al., "Connected Components in MapReduce and Beyond", SoCC 2014).

Every round is a few shuffles; the edge set shrinks to one star per component centred on the
component's smallest node, in O(log² n) rounds, with no step holding a component in one place.
Each round is checkpointed (memory and disk on the executors), so lineage stays short and
memory bounded.
"""

from __future__ import annotations

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def _large_star(edges: DataFrame) -> DataFrame:
    """Each node links its larger neighbours to the smallest node of its neighbourhood."""
    both = edges.unionByName(edges.select(F.col("v").alias("u"), F.col("u").alias("v")))
    smallest = both.groupBy("u").agg(F.min("v").alias("m"))
    smallest = smallest.select("u", F.least("m", "u").alias("m"))
    return (both.join(smallest, "u").where(F.col("v") > F.col("u"))
            .select(F.col("v").alias("u"), F.col("m").alias("v")).distinct())


def _small_star(edges: DataFrame) -> DataFrame:
    """Each node links itself and its smaller neighbours to the smallest of them."""
    directed = edges.select(F.greatest("u", "v").alias("u"), F.least("u", "v").alias("v"))
    smallest = directed.groupBy("u").agg(F.min("v").alias("m"))
    linked = (directed.join(smallest, "u").where(F.col("v") != F.col("m"))
              .select(F.col("v").alias("u"), F.col("m").alias("v")))
    return linked.unionByName(smallest.select("u", F.col("m").alias("v"))).distinct()


def connected_components(edges: DataFrame, max_rounds: int = 64) -> tuple[DataFrame, int]:
    """(node, root) for every node that has an edge, root = smallest node of its component;
    and the number of rounds. `edges` has long columns a, b (undirected, any order)."""
    current = edges.select(F.greatest("a", "b").alias("u"), F.least("a", "b").alias("v"))
    current = current.where(F.col("u") != F.col("v")).distinct()
    current = current.localCheckpoint(eager=True)
    for round_number in range(1, max_rounds + 1):
        following = _small_star(_large_star(current)).localCheckpoint(eager=True)
        changed = (following.withColumn("new", F.lit(True))
                   .join(current.withColumn("old", F.lit(True)), ["u", "v"], "full_outer")
                   .where(F.col("new").isNull() | F.col("old").isNull()).limit(1).count())
        current = following
        if not changed:
            return current.select(F.col("u").alias("node"), F.col("v").alias("root")), round_number
    raise RuntimeError(f"connected components did not converge in {max_rounds} rounds")


def components_of(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(node, root) arrays for every node of the undirected edges a–b that is not its component's
    smallest node (root): one scipy pass."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as scipy_components

    nodes, index = np.unique(np.concatenate([a, b]).astype(np.int64), return_inverse=True)
    half = len(a)
    graph = coo_matrix((np.ones(half, dtype=np.int8), (index[:half], index[half:])),
                       shape=(nodes.size, nodes.size))
    _, labels = scipy_components(graph, directed=False)
    smallest = np.full(labels.max() + 1 if labels.size else 0, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(smallest, labels, nodes)
    roots = smallest[labels]
    moved = nodes != roots
    return nodes[moved], roots[moved]


def connected_components_on_driver(edges: DataFrame) -> DataFrame:
    """The same (node, root) result for an edge set small enough to collect: one scipy pass in the
    driver instead of a few Spark jobs per round. Memory is bounded by the caller's edge limit, not
    by the corpus (the nodes without an edge never leave the executors)."""
    import pandas as pd

    pairs = edges.select("a", "b").toPandas()
    node, root = components_of(pairs["a"].to_numpy(np.int64), pairs["b"].to_numpy(np.int64))
    return edges.sparkSession.createDataFrame(pd.DataFrame({"node": node, "root": root}),
                                              schema="node long, root long")
