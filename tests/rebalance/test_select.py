"""The survivor rules on small hand-made inputs whose answers are worked out in the comments."""

from __future__ import annotations

import numpy as np

from filters.rebalance import select


def test_water_level_and_fill_keep_small_clusters_whole():
    sizes = np.array([100, 50, 10, 5])
    # x = 25: 25 + 25 + 10 + 5 = 65 <= 70, x = 26 gives 67, x = 27 gives 69, x = 28 gives 71 > 70
    assert select.water_level(sizes, 70) == 27
    out = select.water_fill(sizes, 70, np.random.default_rng(0))
    assert out.sum() == 70 and list(out[2:]) == [10, 5] and set(out[:2]) == {27, 28}


def test_hierarchical_caps_split_the_target_over_the_tree_first():
    # two coarse nodes: leaves 0,1 under node 0 (sizes 90, 10), leaves 2,3 under node 1 (sizes 50, 50)
    sizes = np.array([90, 10, 50, 50])
    top = np.array([0, 0, 1, 1])
    caps = select.cluster_caps(sizes, "hierarchical", None, 4.0, 0.5, [top], seed=0)
    assert caps.sum() == 100
    # top level: 100 rows split 50/50 (both nodes hold 100); node 0's 50 -> leaf 1 whole (10), leaf 0 40
    assert list(caps) == [40, 10, 25, 25]


def test_keep_first_keeps_the_best_ranked_rows_of_each_group():
    groups = np.array([0, 0, 0, 1, 1, 0])
    rank = np.array([5, 1, 3, 0, 2, 4])
    drop = select.keep_first(groups, rank, np.ones(6, bool), np.array([2, 1]))
    assert list(np.flatnonzero(drop)) == [0, 4, 5]  # group 0 keeps ranks 1 and 3, group 1 rank 0


def test_ranking_puts_tier_before_score_and_ties_on_a_seeded_hash():
    rows = select.Rows(ids=["a", "b", "c", "d"], leaf=np.zeros(4, np.int64), tier_rank=np.array([1, 0, 0, 1]),
                       score=np.array([9.0, 1.0, np.nan, 9.0]), hosts=[""] * 4, domains=[""] * 4)
    rank = select.ranking(rows, seed=7)
    assert list(np.argsort(rank))[:2] == [1, 2]  # tier 0 first; the NaN score is the lowest in it
    assert {int(rank[0]), int(rank[3])} == {2, 3}
    assert np.array_equal(rank, select.ranking(rows, seed=7))
