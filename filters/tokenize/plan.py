"""The global plan of stage 8: which rows (and how many copies), in which order, in which shard.

Computed once on the driver from light per-row metadata, deterministic from the seed, and stored
in the run folder, so every shard is then an independent partition the runner commits (and
resumes) on its own.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from filters.tokenize.config import MixtureConfig

# Named weight presets, multiplied with the `tokenize.mixture` maps. The annealing profile
# up-samples code and pull-request-derived data, as in late-training data mixes.
PROFILES: dict[str, dict[str, dict[str, float]]] = {
    "default": {},
    "annealing": {
        "content_type": {"Code": 2.0},
        "kind": {"pr": 3.0, "repair": 3.0, "localization": 2.0, "commit": 1.5},
    },
}
WEIGHTED_COLUMNS = ("source", "tier", "content_type", "kind")


def row_weights(meta: pa.Table, mixture: MixtureConfig) -> np.ndarray:
    """Product of the per-source / tier / content_type / kind weights (1.0 when not listed)."""
    profile = PROFILES[mixture.profile]
    weights = np.ones(meta.num_rows)
    for column in mixture.weight_columns:  # upstream per-row weights
        if column in meta.column_names:
            values = pc.fill_null(meta.column(column).cast(pa.float64()), 1.0).to_numpy(zero_copy_only=False)
            weights *= np.maximum(values, 0.0)
    for column in WEIGHTED_COLUMNS:
        table = {**profile.get(column, {}), **getattr(mixture, column)}
        if not table or column not in meta.column_names:
            continue
        values = meta.column(column).cast(pa.string()).to_pylist()
        weights *= np.array([float(table.get(v, 1.0)) for v in values])
    return weights


def copies_from_weights(weights: np.ndarray, ids: list[str], seed: int) -> np.ndarray:
    """floor(w) copies, plus one more with probability frac(w), by a seeded per-id coin."""
    coins = np.array([xxhash.xxh64_intdigest(f"{seed}\x00mixture\x00{i}".encode()) for i in ids], np.uint64)
    u = coins.astype(np.float64) / 2.0**64
    whole = np.floor(weights)
    return (whole + (u < weights - whole)).astype(np.int64)


def make_plan(meta: pa.Table, mixture: MixtureConfig, seed: int, shard_tokens: int) -> pa.Table:
    """One plan row per output sample (and one per dropped row): file, row, copy, shard, order.

    `meta` needs file, row, id, est_tokens and the weighted columns, in canonical input order.
    """
    copies = copies_from_weights(row_weights(meta, mixture), meta.column("id").to_pylist(), seed)
    entries = np.maximum(copies, 1)              # a row with 0 copies stays once, as a drop
    index = np.repeat(np.arange(meta.num_rows), entries)
    copy = np.arange(len(index)) - np.repeat(np.cumsum(entries) - entries, entries)
    dropped = np.repeat(copies == 0, entries)
    order = np.random.default_rng(seed).permutation(len(index))
    index, copy, dropped = index[order], copy[order], dropped[order]
    est = np.where(dropped, 0, meta.column("est_tokens").to_numpy()[index])
    shard = (np.cumsum(est) - est) // max(1, shard_tokens)
    _, shard = np.unique(shard, return_inverse=True)  # consecutive shard numbers
    return pa.table({
        "position": pa.array(np.arange(len(index)), pa.int64()),
        "shard": pa.array(shard.astype(np.int32)),
        "file": meta.column("file").take(pa.array(index)),
        "row": meta.column("row").take(pa.array(index)),
        "copy": pa.array(copy.astype(np.int32)),
        "drop": pa.array(np.where(dropped, "mixture", None).tolist(), pa.string()),
    })
