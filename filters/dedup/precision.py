"""The run's own precision: true Jaccard of removed rows with their survivor.

MinHash only estimates similarity; measuring the exact shingle-set Jaccard tells the user how
many removals were right, without trusting the estimator: on a deterministic sample, or on every
removal when the exact survivor check has measured them all (a census).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from filters.dedup.minhash import exact_jaccards
from pipeline import io


def texts_at(path: str, rows: list[int] | np.ndarray) -> pa.Array:
    """The texts at the given rows (any order) of a parquet file, reading only the row groups
    holding them."""
    wanted = np.asarray(rows, dtype=np.int64)
    with io.open_input(path) as fh:
        reader = pq.ParquetFile(fh, page_checksum_verification=True)
        sizes = np.array([reader.metadata.row_group(g).num_rows for g in range(reader.num_row_groups)])
        starts = np.concatenate([[0], np.cumsum(sizes)])
        group_of = np.searchsorted(starts, wanted, side="right") - 1
        groups = np.unique(group_of)
        table = reader.read_row_groups(groups.tolist(), columns=["text"], use_threads=False)
    read_starts = np.concatenate([[0], np.cumsum(sizes[groups])])[:-1]  # where each group begins in table
    local = read_starts[np.searchsorted(groups, group_of)] + wanted - starts[group_of]
    return table.column("text").combine_chunks().take(pa.array(local))


def _texts(pairs: list[dict], inputs: list[str]) -> dict[tuple[int, int], str]:
    wanted: dict[int, set[int]] = defaultdict(set)
    for pair in pairs:
        wanted[pair["part"]].add(pair["row"])
        wanted[pair["survivor_part"]].add(pair["survivor_row"])
    texts = {}
    for part, rows in sorted(wanted.items()):
        ordered = sorted(rows)
        texts.update(zip(((part, row) for row in ordered), texts_at(inputs[part], ordered).to_pylist(), strict=True))
    return texts


def _figures(jaccards: np.ndarray, min_jaccard: float, method: str) -> dict:
    """Share of removals whose true Jaccard with their survivor ≥ min_jaccard, and its spread."""
    if not len(jaccards):
        return {"sampled": 0, "precision": None, "min_jaccard": round(min_jaccard, 4), "method": method}
    return {
        "sampled": int(len(jaccards)),
        "method": method,
        "min_jaccard": round(min_jaccard, 4),
        "precision": round(float(np.mean(jaccards >= min_jaccard)), 4),
        "true_jaccard_mean": round(float(np.mean(jaccards)), 4),
        "true_jaccard_p05": round(float(np.quantile(jaccards, 0.05)), 4),
        "true_jaccard_min": round(float(np.min(jaccards)), 4),
    }


def precision_census(jaccards: np.ndarray, min_jaccard: float) -> dict:
    """The figures over every near-duplicate removal, when the exact survivor check has measured
    each one's true Jaccard with its survivor already."""
    return _figures(jaccards, min_jaccard, "census")


def precision_estimate(pairs: list[dict], inputs: list[str], ngram: int, min_jaccard: float,
                       tokens: str = "words") -> dict:
    """The figures over a deterministic sample of near-duplicate removals (their texts read here)."""
    if not pairs:
        return _figures(np.zeros(0), min_jaccard, "sample")
    texts = _texts(pairs, inputs)
    removed = [texts[(p["part"], p["row"])] for p in pairs]
    kept = [texts[(p["survivor_part"], p["survivor_row"])] for p in pairs]
    half = np.arange(len(pairs))
    return _figures(exact_jaccards(pa.array(removed + kept, pa.string()), half, half + len(pairs), ngram, tokens),
                    min_jaccard, "sample")
