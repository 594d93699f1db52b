"""Stage 5 benchmarks: embeddings and k-means.

- rebalance.embed: documents embedded per core on ~920-character windows of real FineWeb pages
  (the pages the static table was not distilled on: filters.embed.distill.held_out). Ours: the
  `minilm-static` embedder (one tokenizer call and a sparse product per batch). Peer: raw
  sentence-transformers all-MiniLM-L6-v2 (the packaged weights, CPU, one thread), as a user would
  call it. Metrics of ours against the transformer's own embeddings of the same windows (computed
  once, outside the timed section, cached): mean cosine, and the share of windows whose nearest
  of 20 k-means centroids of the transformer's embeddings is the same with ours.
  Goals (issue 17): >= 10x the transformer per core, mean cosine >= 0.98, same cluster >= 95%.
- rebalance.kmeans: hierarchical (the stage's defaults: 2 levels of 10 faiss iterations, then 2
  refinement passes, filters.rebalance.kmeans) vs flat
  faiss k-means on the same float32 vectors (converted outside the timed sections of both) at a size
  where flat is feasible; inertia of both reported. Goals: >= 10x flat per core, inertia <= 1.05x
  flat's.
- rebalance.kmeans_1m (full runs only): hierarchical at 1M x 384 with 10K and 100K clusters,
  time and peak memory (flat is not run there: hours per iteration).

The k-means vectors are synthetic: a seeded mixture of 384-d unit vectors around power-law sized
centres (bench-only; embedding 1M real documents would dominate the run). Run with
`python -m bench --only rebalance` (`--quick` for smaller sizes).
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import numpy as np

from bench.harness import Goal, Probe, _write_probe, call, compare, timed

CACHE = Path(os.environ.get("BENCH_CACHE", Path(__file__).parent / ".cache")) / "rebalance"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
WINDOW = 920
REFERENCE_CLUSTERS = 20


# ---------------------------------------------------------------- embeddings

def windows(n: int) -> list[str]:
    """`n` ~920-character windows of the held-out FineWeb pages, in file order (repeated if short)."""
    from filters.embed.distill import held_out

    out: list[str] = []
    with gzip.open(SHARED / "quality" / "fineweb_edu_llama3_annotations_1000.jsonl.gz", "rt") as f:
        for line in f:
            row = json.loads(line)
            if held_out(row["id"]):
                text = " ".join(row["text"].split())
                out += [text[i:i + WINDOW] for i in range(0, len(text), WINDOW) if len(text[i:i + WINDOW]) > 300]
    return [out[i % len(out)] for i in range(n)]


def reference(n: int) -> np.ndarray:
    """The transformer's embeddings of windows(n) (cached beside the bench)."""
    path = CACHE / f"minilm-{n}.npy"
    if not path.exists():
        from filters.embed.models import load_embedder

        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, load_embedder("minilm", 1, 64).embed(windows(n)))
    return np.load(path)


def ours_embed(n: int, model: str = "minilm-static") -> dict:
    from filters.embed.models import load_embedder
    from filters.rebalance import kmeans

    texts = windows(n)
    embedder = load_embedder(model, 1, 64)
    embedder.embed(texts[:8])  # warm up (lazy tokenizer state)
    with timed(items=n):
        vectors = embedder.embed(texts)
    ref = reference(n)  # after the timed section: a metrics-only probe below
    if vectors.shape[1] == ref.shape[1]:
        centroids = kmeans.train(ref, REFERENCE_CLUSTERS, 20, 0, 256)
        same = kmeans.nearest(vectors, centroids)[0] == kmeans.nearest(ref, centroids)[0]
        metrics = {"mean_cosine": float(np.mean(np.sum(vectors * ref, axis=1))), "same_cluster": float(same.mean())}
    else:
        metrics = {"note": f"{vectors.shape[1]}-d, not comparable with MiniLM's 384-d"}
    _write_probe(Probe(metrics=metrics))
    return {}


def raw_minilm(n: int) -> None:
    """The peer: sentence-transformers' own encode on the packaged model (one torch thread)."""
    import torch
    from sentence_transformers import SentenceTransformer

    from filters.embed.models import minilm_path

    torch.set_num_threads(1)
    texts = windows(n)
    model = SentenceTransformer(minilm_path(), device="cpu", local_files_only=True)
    model.encode(texts[:8])
    with timed(items=n):
        model.encode(texts, batch_size=64, normalize_embeddings=True)


# ---------------------------------------------------------------- k-means

def vectors(n: int, dims: int = 384, centres: int = 5_000, seed: int = 0) -> np.ndarray:
    """A seeded mixture: power-law sized clusters of unit vectors around random centres (float16)."""
    path = CACHE / f"mixture-{n}-{dims}-{centres}-{seed}.npy"
    if path.exists():
        return np.load(path)
    rng = np.random.default_rng(seed)
    mu = rng.standard_normal((centres, dims)).astype(np.float32)
    mu /= np.linalg.norm(mu, axis=1, keepdims=True)
    weights = 1.0 / np.arange(1, centres + 1) ** 1.1
    which = rng.choice(centres, size=n, p=weights / weights.sum())
    out = np.empty((n, dims), np.float16)
    for start in range(0, n, 100_000):
        rows = which[start:start + 100_000]
        x = mu[rows] + 0.08 * rng.standard_normal((len(rows), dims)).astype(np.float32)
        out[start:start + len(rows)] = x / np.linalg.norm(x, axis=1, keepdims=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out


def _inertia(x: np.ndarray, centroids: np.ndarray, leaf: np.ndarray) -> float:
    from filters.rebalance import kmeans

    return kmeans.inertia(x, centroids, leaf)


def ours_kmeans(n: int, k: int) -> dict:
    """The stage's k-means with its default settings (rebalance.kmeans.*)."""
    from filters.rebalance import kmeans
    from filters.rebalance.config import KmeansConfig

    c = KmeansConfig()
    x = np.ascontiguousarray(vectors(n), dtype=np.float32)  # the same float32 input the peer gets
    with timed(items=n):
        tree, leaf = kmeans.hierarchical_kmeans(x, k, c.levels, c.iterations, 0, c.max_points_per_centroid,
                                                c.refine, c.probe)
    _write_probe(Probe(metrics={"inertia": _inertia(x, tree.leaves, leaf), "clusters": int(len(tree.leaves))}))
    return {}


def flat_kmeans(n: int, k: int) -> dict:
    """The peer: one flat spherical faiss k-means, as its documentation shows it."""
    import faiss

    from filters.rebalance import kmeans

    x = np.ascontiguousarray(vectors(n), dtype=np.float32)
    with timed(items=n):
        km = faiss.Kmeans(x.shape[1], k, niter=20, seed=0, spherical=True, max_points_per_centroid=256)
        km.train(x)
        leaf = kmeans.nearest(x, km.centroids)[0]
    _write_probe(Probe(metrics={"inertia": _inertia(x, km.centroids, leaf), "clusters": k}))
    return {}


def run(quick: bool):
    n = 400 if quick else 2_000
    results = [compare(
        "rebalance.embed", call(ours_embed, n), {"sentence-transformers": call(raw_minilm, n)},
        unit="docs", input_desc=f"{n:,} windows of ~920 characters of held-out real FineWeb pages",
        reps=1 if quick else 3,
        goals=[Goal(10.0, peer="sentence-transformers"), Goal(0.98, metric="mean_cosine"),
               Goal(0.95, metric="same_cluster")],
        notes="ours: the minilm-static table (filters/embed); the peer: sentence-transformers encode, 1 thread")]
    size, k = (50_000, 500) if quick else (200_000, 2_000)
    results.append(compare(
        "rebalance.kmeans", call(ours_kmeans, size, k), {"faiss flat": call(flat_kmeans, size, k)},
        unit="vectors", input_desc=f"{size:,} x 384 synthetic unit vectors (power-law mixture), {k:,} clusters",
        reps=1 if quick else 3,
        goals=[Goal(10.0, peer="faiss flat"), Goal(1.05, metric="inertia", peer="faiss flat", higher_is_better=False)],
        notes="hierarchical: 2 levels (sqrt(k) coarse, leaves allotted by squared error), 10 iterations each, "
              "then 2 refinement passes (probe 3); flat: faiss.Kmeans, 20 iterations, default threads"))
    if not quick:
        for k in (10_000, 100_000):
            results.append(compare(
                f"rebalance.kmeans_1m_{k // 1000}k", call(ours_kmeans, 1_000_000, k), {},
                unit="vectors", input_desc=f"1,000,000 x 384 synthetic unit vectors, {k:,} clusters", reps=1,
                notes="hierarchical only: flat faiss at this size costs hours per iteration on one core"))
    return results
