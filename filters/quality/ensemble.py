"""Scores → token-weighted percentile buckets → ensemble bucket → tier (Nemotron-CC, algorithms.md §2.3).

Pure functions of stored scores, calibration cut points and config, so a re-threshold run can
re-decide from `quality_scores` without recomputing any scorer.
"""

from __future__ import annotations

import numpy as np

PERCENTILES = tuple(range(5, 100, 5))  # 19 cut points → buckets 0..19
TIERS = ("high", "medium_high", "medium", "medium_low", "low")


def weighted_cut_points(scores: np.ndarray, weights: np.ndarray) -> list[float]:
    """Token-weighted percentiles 5..95 with the inverted-CDF method (the recipe weights by bytes)."""
    order = np.argsort(scores, kind="stable")
    s, w = scores[order], np.maximum(weights[order].astype(np.float64), 1.0)
    cdf = np.cumsum(w) / w.sum()
    idx = np.searchsorted(cdf, np.array(PERCENTILES) / 100.0, side="left")
    return [float(s[min(i, len(s) - 1)]) for i in idx]


def buckets(scores: np.ndarray, cut_points: list[float]) -> np.ndarray:
    """digitize(score, cut points) → 0..19 (each bucket ≈ 5% of the calibration tokens)."""
    return np.digitize(scores, np.asarray(cut_points), right=False).astype(np.int32)


def combine(per_scorer: np.ndarray, method: str, weights: list[float] | None = None) -> np.ndarray:
    """Ensemble of per-scorer buckets (rows = docs, columns = scorers); `weights` weigh the mean."""
    if method == "max":
        return per_scorer.max(axis=1).astype(np.float64)
    if method == "mean":
        w = np.ones(per_scorer.shape[1]) if weights is None else np.asarray(weights, dtype=np.float64)
        return per_scorer @ w / w.sum()
    if method == "vote":  # the bucket a majority of scorers place the document at or above
        return np.sort(per_scorer, axis=1)[:, (per_scorer.shape[1] - 1) // 2].astype(np.float64)
    raise ValueError(method)


def tier_of(bucket: np.ndarray, ranges: dict[str, list[int]]) -> np.ndarray:
    out = np.full(len(bucket), "low", dtype=object)
    for tier in reversed(TIERS):
        lo, hi = ranges[tier]
        out[(bucket >= lo) & (bucket <= hi)] = tier
    return out
