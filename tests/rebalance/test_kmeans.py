"""Hierarchical k-means on a seeded mixture of unit vectors: refinement, the saved tree's reuse,
determinism whatever order the sub-problems run in."""

from __future__ import annotations

import numpy as np
import pytest

from filters.rebalance import kmeans


@pytest.fixture(scope="module")
def mixture() -> np.ndarray:
    """3,000 unit vectors around 60 random centres of power-law sizes (float16, as stored)."""
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((60, 48))
    weights = 1.0 / np.arange(1, 61)
    x = centres[rng.choice(60, 3_000, p=weights / weights.sum())] + 0.35 * rng.standard_normal((3_000, 48))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float16)


def test_refinement_lowers_the_inertia_and_the_leaves_are_the_trees_own_assignment(mixture):
    x = mixture.astype(np.float32)
    tree0, leaf0 = kmeans.hierarchical_kmeans(mixture, 40, 2, 10, 0, refine=0)
    tree, leaf = kmeans.hierarchical_kmeans(mixture, 40, 2, 10, 0, refine=2, probe=3)
    assert len(tree.leaves) == 40 and tree.probe == 3 and tree0.probe == 1
    assert kmeans.inertia(x, tree.leaves, leaf) < kmeans.inertia(x, tree0.leaves, leaf0)
    # the returned leaves are what the tree gives the same rows: a saved tree reproduces them
    assert (tree.assign(mixture) == leaf).all()
    np.testing.assert_allclose(np.linalg.norm(tree.leaves, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(tree.levels[1], axis=1), 1.0, rtol=1e-5)


def test_a_saved_tree_keeps_its_probe_and_assigns_like_the_original(mixture, tmp_path):
    tree, leaf = kmeans.hierarchical_kmeans(mixture, 40, 2, 10, 0, refine=1, probe=4)
    tree.save(str(tmp_path))
    loaded = kmeans.Hierarchy.load(str(tmp_path))
    assert loaded.probe == 4 and (loaded.assign(mixture) == leaf).all()
    # greedy descent (probe 1) misses some rows' nearest leaf that the beam finds
    loaded.probe = 1
    assert (loaded.assign(mixture) != leaf).any()


def test_sub_problems_in_any_order_give_the_same_tree(mixture):
    tree, leaf = kmeans.hierarchical_kmeans(mixture, 40, 2, 10, 5)
    backwards = lambda f, jobs: [f(job) for job in jobs[::-1]][::-1]  # noqa: E731
    other, other_leaf = kmeans.hierarchical_kmeans(mixture, 40, 2, 10, 5, mapper=backwards)
    assert (leaf == other_leaf).all()
    assert all((a == b).all() for a, b in zip(tree.levels, other.levels, strict=True))


def test_three_levels_keep_a_consistent_tree(mixture):
    tree, leaf = kmeans.hierarchical_kmeans(mixture, 64, 3, 10, 0, refine=1, probe=2)
    assert len(tree.levels) == 3 and len(tree.leaves) == 64
    assert (tree.assign(mixture) == leaf).all()
    leaf_parent, top = tree.ancestors(leaf)[1:]
    assert (tree.parents[1][leaf_parent] == top).all()
