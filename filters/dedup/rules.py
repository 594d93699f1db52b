"""The merge rules both clustering paths apply (driver_path.py in numpy, spark_path.py on Spark),
so they give the same clusters: when a candidate pair merges, when a member still resembles its
survivor, and the survivor order."""

from __future__ import annotations

import struct

import numpy as np
import pyarrow as pa

from filters.dedup.cluster_settings import ClusterSettings
from filters.dedup.minhash import exact_jaccards
from pipeline import io

NODE_FIELDS = ("part", "row", "id", "exact", "length", "tier_rank", "shingles", "sig")
# (column, ascending): best tier, longest text, smallest id; part and row only break exact ties
SURVIVOR_ORDER = (("tier_rank", True), ("length", False), ("id", True), ("part", True), ("row", True))


def similar(exact_l: np.ndarray, exact_r: np.ndarray, sig_l: np.ndarray, sig_r: np.ndarray):
    """(same normalised text, estimated Jaccard) of aligned rows of exact hashes and signatures."""
    similarity = (sig_l == sig_r).mean(axis=1) if sig_l.size else np.zeros(len(sig_l))
    return (exact_l == exact_r).all(axis=1), similarity


def merges(same: np.ndarray, similarity: np.ndarray, shingles_l: np.ndarray, shingles_r: np.ndarray,
           settings: ClusterSettings) -> np.ndarray:
    """A candidate pair merges on the same normalised text (exact), or when both have shingles and
    the estimated Jaccard passes the cut (near; every LSH pair when unverified)."""
    near = (shingles_l > 0) & (shingles_r > 0)
    if settings.verify_threshold is not None:
        near &= similarity >= settings.verify_threshold
    return (same & settings.exact) | (near & settings.near)


def resembles(same: np.ndarray, similarity: np.ndarray, cut: float) -> np.ndarray:
    """Survivor check: a member stays in its cluster when it is the survivor's text or close to it."""
    return same | (similarity >= cut)


def text_similarity(same: np.ndarray, texts_l: pa.Array, texts_r: pa.Array, ngram: int,
                    tokens: str = "words") -> np.ndarray:
    """Exact survivor check: true shingle-set Jaccard of each aligned pair of texts that are not
    the same normalised text (1.0 for those)."""
    similarity = np.ones(len(same))
    other = np.flatnonzero(~same)
    if other.size:
        texts = pa.concat_arrays([texts_l.cast(pa.string()), texts_r.cast(pa.string())])
        similarity[other] = exact_jaccards(texts, other, other + len(same), ngram, tokens)
    return similarity


def regrouped(failed: np.ndarray, exact: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Members that failed the survivor check stay, but exact copies among them stay together:
    (node, root) with root the smallest node of each group of equal texts."""
    if not failed.size:
        return failed, failed
    _, group = np.unique(exact, axis=0, return_inverse=True)
    group = group.ravel()
    smallest = np.full(group.max() + 1, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(smallest, group, failed)
    root = smallest[group]
    return failed[failed != root], root[failed != root]


def node_rows(path: str, part: int, rows: np.ndarray) -> pa.Table:
    """The signature rows of one input partition's candidate nodes, with `pr` = part << 32 | row."""
    picked = io.read_parquet(path, columns=list(NODE_FIELDS)).take(pa.array(rows))
    return picked.add_column(0, "pr", pa.array((np.int64(part) << 32) | rows.astype(np.int64)))


def spark_xxhash64(text: str, seed: int) -> int:
    """Spark's xxhash64(text, lit(seed)) (default seed 42): the precision sample's order."""
    import xxhash

    h = xxhash.xxh64_intdigest(text.encode(), 42)
    packed = struct.pack("<i", seed) if -2**31 <= seed < 2**31 else struct.pack("<q", seed)
    h = xxhash.xxh64_intdigest(packed, h)
    return h - 2**64 if h >= 2**63 else h
