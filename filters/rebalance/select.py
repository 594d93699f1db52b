"""Which rows survive: SemDeDup inside clusters, cluster caps, domain caps; best rows first.

Every step walks rows in one global order: best quality tier first, then the higher score, then a
seeded hash of the id (never the input order), so the rows kept in a cluster are its best ones,
not a random draw. Steps, each seeing only the rows the steps before it kept:

1. SemDeDup (optional; Abbas et al. 2023): inside a cluster, a row whose cosine to any
   better-ranked row is >= 1 - eps is dropped (`semdedup`).
2. Cluster cap (`cluster_cap`): a cluster keeps at most its cap. The cap is
   - `cap`: the same for every cluster (rebalance.cap, or cap_factor x the mean cluster size);
   - `water_filling`: the largest x with sum(min(x, size)) <= target, the remainder one each to
     clusters above x in a seeded order (Vo et al. 2024, one level);
   - `hierarchical`: that rule top-down over the k-means tree: the target is split over the
     top-level clusters, each share over their children, down to the leaves (Vo et al. 2024).
3. Domain caps: no host (`host_cap`), then no registered domain (`domain_cap`), holds more than
   its share of the rows kept so far.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from xxhash import xxh64_intdigest


@dataclass
class Rows:
    """The global view of the stage input the selection needs (one entry per input row)."""

    ids: list[str]
    leaf: np.ndarray          # leaf cluster of each row
    tier_rank: np.ndarray     # position of the row's tier in tier_order (unknown tiers last)
    score: np.ndarray         # higher is better inside a tier (NaN: lowest)
    hosts: list[str]
    domains: list[str]


def ranking(rows: Rows, seed: int) -> np.ndarray:
    """Rank of every row (0 = best): tier, then score (descending), then a seeded id hash."""
    tie = np.fromiter((xxh64_intdigest(f"{seed}:{i}".encode()) for i in rows.ids), np.uint64, len(rows.ids))
    score = np.nan_to_num(rows.score.astype(np.float64), nan=-np.inf)
    order = np.lexsort((tie, -score, rows.tier_rank))
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    return rank


def water_level(sizes: np.ndarray, target: int) -> int:
    """The largest integer x with sum(min(x, size)) <= target (binary search)."""
    sizes = np.asarray(sizes, np.int64)
    if sizes.sum() <= target:
        return int(sizes.max(initial=0))
    low, high = 0, int(sizes.max(initial=0))
    while low < high:
        mid = (low + high + 1) // 2
        if np.minimum(sizes, mid).sum() <= target:
            low = mid
        else:
            high = mid - 1
    return low


def water_fill(sizes: np.ndarray, target: int, rng: np.random.Generator) -> np.ndarray:
    """Vo et al.'s allotment: min(x, size) each, the remainder +1 to random clusters above x."""
    sizes = np.asarray(sizes, np.int64)
    x = water_level(sizes, target)
    out = np.minimum(sizes, x)
    left = int(target - out.sum())
    if left > 0:
        above = np.where(sizes > x)[0]
        out[rng.permutation(above)[:left]] += 1
    return out


def semdedup(leaf: np.ndarray, rank: np.ndarray, vectors, eps: float, alive: np.ndarray,
             block: int = 2048) -> np.ndarray:
    """Rows to drop: cosine >= 1 - eps with any better-ranked row of the same cluster.
    `vectors(rows)` returns the unit embeddings of those rows (float32)."""
    drop = np.zeros(len(leaf), bool)
    candidates = np.where(alive)[0]
    order = candidates[np.lexsort((rank[candidates], leaf[candidates]))]
    bounds = np.flatnonzero(np.diff(leaf[order])) + 1
    for members in np.split(order, bounds):
        if len(members) < 2:
            continue
        x = vectors(members)
        for start in range(1, len(members), block):
            stop = min(len(members), start + block)
            sims = x[start:stop] @ x[:stop].T
            upper = np.triu(np.ones((stop - start, stop), bool), k=start)  # row start+i sees j < start+i only
            sims[upper] = -np.inf
            drop[members[start:stop]] = sims.max(axis=1) >= 1.0 - eps
    return drop


def cluster_caps(sizes: np.ndarray, rule: str, cap: int | None, cap_factor: float, target_fraction: float,
                 ancestors: list[np.ndarray], seed: int) -> np.ndarray:
    """Rows each leaf cluster may keep. `sizes`: rows per leaf; `ancestors`: for each level above
    the leaves, the node of every leaf (used by the hierarchical rule)."""
    sizes = np.asarray(sizes, np.int64)
    n, clusters = int(sizes.sum()), max(int((sizes > 0).sum()), 1)
    rng = np.random.default_rng(seed)
    if rule == "cap":
        limit = cap if cap is not None else math.ceil(cap_factor * n / clusters)
        return np.minimum(sizes, limit)
    target = int(math.floor(target_fraction * n))
    if rule == "water_filling" or not ancestors:
        return water_fill(sizes, target, rng)
    # hierarchical: split the target over the top level, then each share over its children
    levels = [np.arange(len(sizes)), *ancestors]  # levels[t][leaf] = the leaf's node at level t
    top = levels[-1]
    budget = {int(node): int(b) for node, b in zip(*_fill_groups(top, sizes, target, rng), strict=True)}
    for t in range(len(levels) - 2, -1, -1):
        parent_of_leaf = levels[t + 1]
        node_of_leaf = levels[t]
        child_budget: dict[int, int] = {}
        for parent, share in budget.items():
            leaves = np.where(parent_of_leaf == parent)[0]
            nodes, allotted = _fill_groups(node_of_leaf[leaves], sizes[leaves], share, rng)
            child_budget.update({int(k): int(v) for k, v in zip(nodes, allotted, strict=True)})
        budget = child_budget
    out = np.zeros(len(sizes), np.int64)
    for leaf, share in budget.items():
        out[leaf] = share
    return out


def _fill_groups(group_of_leaf: np.ndarray, sizes: np.ndarray, target: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Water-fill `target` over the groups the leaves belong to (group size = its leaves' rows)."""
    nodes, inverse = np.unique(group_of_leaf, return_inverse=True)
    totals = np.bincount(inverse, weights=sizes, minlength=len(nodes)).astype(np.int64)
    return nodes, water_fill(totals, min(target, int(totals.sum())), rng)


def keep_first(groups: np.ndarray, rank: np.ndarray, alive: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """Rows beyond their group's limit (by rank) among the alive rows: the ones to drop.
    `limits[g]` is group g's limit; groups are 0..len(limits)-1."""
    drop = np.zeros(len(groups), bool)
    rows = np.where(alive)[0]
    order = rows[np.lexsort((rank[rows], groups[rows]))]
    g = groups[order]
    start = np.searchsorted(g, g, side="left")
    position = np.arange(len(order)) - start
    drop[order[position >= limits[g]]] = True
    return drop


def share_cap(keys: list[str], rank: np.ndarray, alive: np.ndarray, share: float) -> np.ndarray:
    """Drop rows of keys (hosts, domains) holding more than `share` of the alive rows."""
    if share <= 0:
        return np.zeros(len(keys), bool)
    names, groups = np.unique(np.asarray(keys, dtype=object), return_inverse=True)
    limit = max(1, math.floor(share * int(alive.sum())))
    return keep_first(groups, rank, alive, np.full(len(names), limit, np.int64))
