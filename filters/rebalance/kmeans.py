"""Hierarchical (top-down) spherical k-means with faiss: 100K+ clusters over millions of vectors.

Flat k-means costs N x K x d per iteration: 1M x 100K x 384 is ~4e13 multiply-adds, hours per
iteration on a CPU. Top-down, level 1 splits the vectors into b = K^(1/levels) coarse clusters;
each coarse cluster is then split again, down to K leaves in all. Leaves are allotted to a coarse
cluster in proportion to its squared error (sum of 2 - 2 cos to its centroid), not its size: that is
where flat k-means would put its centroids, and it keeps a dense heap of near-identical pages
(thousands of template copies) in a few leaves instead of slicing it into hundreds of small ones
that no cap would ever touch. An iteration then costs about levels x N x b x d (~300x less at K=100K, two levels).
The sub-problems are independent, so they can run anywhere (`mapper`); every one is seeded from
the run's seed and its path in the tree, so the result does not depend on where or in which order
they ran.

A tree alone is a few percent worse than flat k-means (a point near a coarse boundary is stuck with
the leaves of one side). `refine` Lloyd passes over the whole tree fix most of that cheaply: every
point goes to its nearest leaf among the children of its `probe` nearest coarse nodes (a beam down
the tree), then every node becomes the unit mean of the points below it. A pass costs about
N x (b + probe x K/b) x d, a few flat iterations' worth at most.

The tree is kept (`Hierarchy`): leaf centroids, for every level the parent of each node, and the
probe width. It is saved beside the embeddings and reused to assign new data (the same beam), and
it is the hierarchy Vo et al.'s balanced sampling walks down.
"""

from __future__ import annotations

import io as _io
import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from pipeline import io

ASSIGN_CHUNK = 65_536  # vectors converted to float32 and searched at a time
SMALL = 1 << 24  # rows x centroids below which a faiss call runs on one thread


def _faiss():
    import faiss

    return faiss


@contextmanager
def one_thread(rows: int, centroids: int) -> Iterator[None]:
    """Small faiss calls on one thread: on a few thousand rows OpenMP's fork/join and spin-waiting
    cost more CPU than the work (the tree took 3.7x the CPU on two threads of a busy 2-core
    machine). Sub-problems run side by side through `mapper` instead."""
    faiss = _faiss()
    before = faiss.omp_get_max_threads()
    if rows * centroids < SMALL:
        faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def as_float32(x: np.ndarray) -> np.ndarray:
    """x as a contiguous float32 array. Large float16 arrays go through torch: numpy's conversion
    is ~10x slower (26 ns a value here, 10 s at 1M x 384), more than importing torch."""
    if x.dtype == np.float16 and x.size > SMALL:
        import torch

        return torch.from_numpy(np.ascontiguousarray(x)).float().numpy()
    return np.ascontiguousarray(x, dtype=np.float32)


def train(x: np.ndarray, k: int, iterations: int, seed: int, max_points_per_centroid: int) -> np.ndarray:
    """Spherical k-means centroids (k x d, unit norm) of the float32 rows of x. k >= len(x): the
    points themselves."""
    x = as_float32(x)
    if k >= len(x):
        return _unit(x.copy())
    if k == 1:
        return _unit(x.mean(axis=0, keepdims=True))
    faiss = _faiss()
    km = faiss.Kmeans(x.shape[1], k, niter=iterations, seed=seed, spherical=True, verbose=False,
                      max_points_per_centroid=max_points_per_centroid, min_points_per_centroid=1)
    km.train(x)
    return np.asarray(km.centroids, dtype=np.float32)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def nearest(x: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index, inner product) of each row's nearest centroid, in chunks (x may be float16)."""
    faiss = _faiss()
    index = faiss.IndexFlatIP(centroids.shape[1])
    index.add(np.ascontiguousarray(centroids, dtype=np.float32))
    ids = np.empty(len(x), np.int64)
    sims = np.empty(len(x), np.float32)
    for start in range(0, len(x), ASSIGN_CHUNK):
        chunk = as_float32(x[start:start + ASSIGN_CHUNK])
        d, i = index.search(chunk, 1)
        ids[start:start + len(chunk)], sims[start:start + len(chunk)] = i[:, 0], d[:, 0]
    return ids, sims


def allot(weights: np.ndarray, sizes: np.ndarray, total: int) -> np.ndarray:
    """Split `total` leaves over groups in proportion to `weights` (largest remainders, ties by
    index), at least one per non-empty group and never more than its size."""
    sizes = np.asarray(sizes, np.int64)
    weights = np.where(sizes > 0, np.maximum(np.asarray(weights, np.float64), 0.0), 0.0)
    if weights.sum() <= 0:
        weights = sizes.astype(np.float64)
    total = int(min(max(total, int((sizes > 0).sum())), sizes.sum()))
    share = weights * total / max(weights.sum(), 1e-300)
    out = np.minimum(np.maximum(np.floor(share).astype(np.int64), (sizes > 0).astype(np.int64)), sizes)
    remainder = share - np.floor(share)
    while out.sum() != total:
        if out.sum() < total:
            room = np.where(out < sizes)[0]
            pick = room[np.lexsort((room, -remainder[room]))[0]]
            out[pick] += 1
            remainder[pick] = -1.0
        else:
            over = np.where(out > 1)[0]
            pick = over[np.lexsort((over, remainder[over]))[0]]
            out[pick] -= 1
            remainder[pick] = 2.0
    return out


@dataclass
class Hierarchy:
    """levels[0] = leaf centroids; levels[t] = centroids of level t (coarser as t grows).
    parents[t] maps each node of level t to its node in level t+1 (len(parents) = len(levels) - 1).
    probe: how many nodes per level a point's search keeps on its way down (1: greedy)."""

    levels: list[np.ndarray]
    parents: list[np.ndarray]
    probe: int = 1

    @property
    def leaves(self) -> np.ndarray:
        return self.levels[0]

    def assign(self, x: np.ndarray) -> np.ndarray:
        """Leaf of each row: the `probe` nearest top-level nodes, then at each level below the
        `probe` nearest among their children (the nearest one at the leaves)."""
        out = np.empty(len(x), np.int64)
        for start in range(0, len(x), 4 * ASSIGN_CHUNK):
            out[start:start + 4 * ASSIGN_CHUNK] = self._descend(as_float32(x[start:start + 4 * ASSIGN_CHUNK]))
        return out

    def _descend(self, x: np.ndarray) -> np.ndarray:
        faiss = _faiss()
        top = self.levels[-1]
        with one_thread(len(x), len(top)):
            _, candidates = faiss.knn(x, top, min(self.probe, len(top)), metric=faiss.METRIC_INNER_PRODUCT)
        for level in range(len(self.levels) - 2, -1, -1):
            keep = 1 if level == 0 else self.probe
            centroids, parent = self.levels[level], self.parents[level]
            kids_order = np.argsort(parent, kind="stable")
            kids_bounds = np.searchsorted(parent[kids_order], np.arange(len(self.levels[level + 1]) + 1))
            flat = candidates.ravel()
            rows = np.repeat(np.arange(len(x)), candidates.shape[1])[flat >= 0]
            flat = flat[flat >= 0]
            by_node = np.argsort(flat, kind="stable")
            nodes, starts = np.unique(flat[by_node], return_index=True)
            best_sim = np.full((len(x), keep), -np.inf, np.float32)
            best_id = np.full((len(x), keep), -1, np.int64)
            for node, begin, end in zip(nodes, starts, np.append(starts[1:], len(flat)), strict=True):
                members = rows[by_node[begin:end]]
                kids = kids_order[kids_bounds[node]:kids_bounds[node + 1]]
                if not len(kids):
                    continue
                with one_thread(len(members), len(kids)):
                    sim, local = faiss.knn(x[members], centroids[kids], min(keep, len(kids)),
                                           metric=faiss.METRIC_INNER_PRODUCT)
                _merge(best_sim, best_id, members, sim, kids[local])
            candidates = best_id
        return candidates[:, 0]

    def ancestors(self, leaf: np.ndarray) -> list[np.ndarray]:
        """[leaf, its level-1 node, …, its top node] for each leaf id."""
        out = [np.asarray(leaf)]
        for parent in self.parents:
            out.append(parent[out[-1]])
        return out

    def recenter(self, x: np.ndarray, leaf: np.ndarray) -> None:
        """Every node becomes the unit mean of the rows below it (a node with none keeps its place)."""
        onehot = sparse.csr_matrix((np.ones(len(leaf), np.float32), (leaf, np.arange(len(leaf)))),
                                   shape=(len(self.leaves), len(leaf)))
        sums = onehot @ x
        counts = np.bincount(leaf, minlength=len(self.leaves))
        for level in range(len(self.levels)):
            if level:
                parent = self.parents[level - 1]
                up = sparse.csr_matrix((np.ones(len(parent), np.float32), (parent, np.arange(len(parent)))),
                                       shape=(len(self.levels[level]), len(parent)))
                sums, counts = up @ sums, np.bincount(parent, weights=counts, minlength=len(self.levels[level]))
            filled = counts > 0
            self.levels[level][filled] = _unit(np.asarray(sums[filled], np.float32))

    def save(self, folder: str) -> None:
        buffer = _io.BytesIO()
        arrays = {f"level{t}": c for t, c in enumerate(self.levels)}
        arrays.update({f"parent{t}": p for t, p in enumerate(self.parents)})
        np.savez(buffer, probe=np.int64(self.probe), **arrays)
        io.write_bytes_atomic(io.join(folder, "hierarchy.npz"), buffer.getvalue())

    @classmethod
    def load(cls, folder: str) -> Hierarchy:
        with io.open_input(io.join(folder, "hierarchy.npz")) as fh:
            data = np.load(_io.BytesIO(fh.read()))
        n = len([k for k in data.files if k.startswith("level")])
        probe = int(data["probe"]) if "probe" in data.files else 1
        return cls([data[f"level{t}"] for t in range(n)], [data[f"parent{t}"] for t in range(n - 1)], probe)


def _merge(best_sim: np.ndarray, best_id: np.ndarray, rows: np.ndarray, sim: np.ndarray, ids: np.ndarray) -> None:
    """Fold new (similarity, id) candidates of `rows` into their running top-k (ties: the earlier)."""
    if best_sim.shape[1] == 1:
        better = sim[:, 0] > best_sim[rows, 0]
        best_sim[rows[better], 0], best_id[rows[better], 0] = sim[better, 0], ids[better, 0]
        return
    all_sim = np.concatenate([best_sim[rows], sim], axis=1)
    all_id = np.concatenate([best_id[rows], ids], axis=1)
    order = np.argsort(-all_sim, axis=1, kind="stable")[:, :best_sim.shape[1]]
    best_sim[rows] = np.take_along_axis(all_sim, order, axis=1)
    best_id[rows] = np.take_along_axis(all_id, order, axis=1)


def _seed(seed: int, path: tuple[int, ...]) -> int:
    """A faiss seed per sub-problem from the run's seed and the node's path in the tree."""
    value = seed & 0x7FFFFFFF
    for step in path:
        value = (value * 1_000_003 + step + 1) & 0x7FFFFFFF
    return value


def _split_job(job: dict) -> dict:
    """One sub-problem: cluster `x` into `k` centroids, return them with each row's centroid."""
    with one_thread(len(job["x"]), job["k"]):
        centroids = train(job["x"], job["k"], job["iterations"], job["seed"], job["max_points_per_centroid"])
        ids, sims = nearest(job["x"], centroids)
    # squared distance of unit vectors to their (unit) centroid: 2 - 2 cos
    sse = np.bincount(ids, weights=np.maximum(2.0 - 2.0 * sims, 0.0), minlength=len(centroids))
    return {"centroids": centroids, "ids": ids, "sse": sse}


def hierarchical_kmeans(x: np.ndarray, k: int, levels: int, iterations: int, seed: int,
                        max_points_per_centroid: int = 256, refine: int = 2, probe: int = 3,
                        mapper: Callable[[Callable, list], Iterable] = map) -> tuple[Hierarchy, np.ndarray]:
    """The tree and each row's leaf (= the tree's `assign` of x). levels=1 is flat faiss k-means."""
    x = as_float32(x)
    k = int(max(1, min(k, len(x))))
    params = {"iterations": iterations, "max_points_per_centroid": max_points_per_centroid}
    # groups: (path, rows of x, leaves wanted) at the current depth, top-down
    groups = [((), np.arange(len(x)), k)]
    tree: list[list[tuple[tuple[int, ...], np.ndarray]]] = []  # per depth: (path, centroids)
    assignment: dict[tuple[int, ...], np.ndarray] = {}
    for depth in range(levels):
        remaining = levels - depth
        jobs = []
        for path, rows, wanted in groups:
            branch = wanted if remaining == 1 else max(1, min(len(rows), round(wanted ** (1.0 / remaining))))
            jobs.append({"x": x[rows], "k": int(branch),
                         "seed": _seed(seed, path), **params})
        results = list(mapper(_split_job, jobs))
        next_groups = []
        tree.append([])
        for (path, rows, wanted), result in zip(groups, results, strict=True):
            tree[-1].append((path, result["centroids"]))
            if remaining == 1:
                assignment[path] = result["ids"]
                continue
            sizes = np.bincount(result["ids"], minlength=len(result["centroids"]))
            for child, share in enumerate(allot(result["sse"], sizes, wanted)):
                if sizes[child]:
                    next_groups.append((path + (child,), rows[result["ids"] == child], int(share)))
        groups = next_groups if remaining > 1 else groups
    hierarchy, leaf = _assemble(tree, groups, assignment, len(x))
    if levels > 1 and refine > 0:
        hierarchy.probe = max(1, probe)
        for _ in range(refine):
            hierarchy.recenter(x, leaf)
            leaf = hierarchy.assign(x)
    return hierarchy, leaf


def _assemble(tree, leaf_groups, assignment, n: int) -> tuple[Hierarchy, np.ndarray]:
    """Number the nodes of every depth in path order and build the parent arrays."""
    numbered: list[dict[tuple[int, ...], int]] = []  # per depth: node path -> global id
    centroids: list[np.ndarray] = []
    for depth_nodes in tree:
        ids: dict[tuple[int, ...], int] = {}
        blocks = []
        for path, block in sorted(depth_nodes, key=lambda item: item[0]):
            for j in range(len(block)):
                ids[path + (j,)] = len(ids)
            blocks.append(block)
        numbered.append(ids)
        centroids.append(np.vstack(blocks).astype(np.float32))
    parents = []
    for depth in range(len(tree) - 1, 0, -1):  # children at depth, parents at depth-1
        child_ids, parent_ids = numbered[depth], numbered[depth - 1]
        parent = np.empty(len(child_ids), np.int64)
        for path, node in child_ids.items():
            parent[node] = parent_ids[path[:-1]]
        parents.append(parent)
    leaf = np.empty(n, np.int64)
    leaf_ids = numbered[-1]
    for path, rows, _ in leaf_groups:
        local = assignment[path]
        lookup = np.array([leaf_ids[path + (j,)] for j in range(int(local.max()) + 1)], np.int64)
        leaf[rows] = lookup[local]
    return Hierarchy(levels=centroids[::-1], parents=parents), leaf


def inertia(x: np.ndarray, centroids: np.ndarray, leaf: np.ndarray) -> float:
    """Sum of squared distances of the rows to their centroid (chunked)."""
    total = 0.0
    for start in range(0, len(x), ASSIGN_CHUNK):
        chunk = np.asarray(x[start:start + ASSIGN_CHUNK], dtype=np.float32)
        diff = chunk - centroids[leaf[start:start + ASSIGN_CHUNK]]
        total += float(np.einsum("ij,ij->", diff, diff))
    return total


def effective_clusters(docs: int, clusters: int, min_cluster_docs: int) -> int:
    return int(max(1, min(clusters, math.floor(docs / min_cluster_docs))))

