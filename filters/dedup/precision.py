"""The run's own precision estimate: true Jaccard of sampled removed rows with their survivor.

MinHash only estimates similarity; measuring the exact shingle-set Jaccard on a deterministic
sample tells the user how many removals were right, without trusting the estimator.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from filters.dedup.minhash import exact_jaccard, shingle_sets
from pipeline import io


def _rows_of(path: str, rows: list[int]) -> list[str]:
    """The texts at the given rows of a parquet file, reading only the row groups holding them."""
    wanted = np.asarray(rows, dtype=np.int64)
    with io.open_input(path) as fh:
        reader = pq.ParquetFile(fh)
        sizes = np.array([reader.metadata.row_group(g).num_rows for g in range(reader.num_row_groups)])
        starts = np.concatenate([[0], np.cumsum(sizes)])
        group_of = np.searchsorted(starts, wanted, side="right") - 1
        groups = np.unique(group_of)
        table = reader.read_row_groups(groups.tolist(), columns=["text"])
    read_starts = np.concatenate([[0], np.cumsum(sizes[groups])])[:-1]  # where each group begins in table
    local = read_starts[np.searchsorted(groups, group_of)] + wanted - starts[group_of]
    return [text or "" for text in table.column("text").take(pa.array(local)).to_pylist()]


def _texts(pairs: list[dict], inputs: list[str]) -> dict[tuple[int, int], str]:
    wanted: dict[int, set[int]] = defaultdict(set)
    for pair in pairs:
        wanted[pair["part"]].add(pair["row"])
        wanted[pair["survivor_part"]].add(pair["survivor_row"])
    texts = {}
    for part, rows in sorted(wanted.items()):
        ordered = sorted(rows)
        texts.update({(part, row): text for row, text in zip(ordered, _rows_of(inputs[part], ordered), strict=True)})
    return texts


def precision_estimate(pairs: list[dict], inputs: list[str], ngram: int, min_jaccard: float) -> dict:
    """Share of sampled near-duplicate removals whose true Jaccard with the survivor ≥ min_jaccard."""
    if not pairs:
        return {"sampled": 0, "precision": None, "min_jaccard": min_jaccard}
    texts = _texts(pairs, inputs)
    removed = [texts[(p["part"], p["row"])] for p in pairs]
    kept = [texts[(p["survivor_part"], p["survivor_row"])] for p in pairs]
    sets = shingle_sets(pa.array(removed + kept, pa.string()), ngram)
    half = len(pairs)
    jaccards = np.array([exact_jaccard(sets[i], sets[half + i]) for i in range(half)])
    return {
        "sampled": half,
        "min_jaccard": round(min_jaccard, 4),
        "precision": round(float(np.mean(jaccards >= min_jaccard)), 4),
        "true_jaccard_mean": round(float(jaccards.mean()), 4),
        "true_jaccard_p05": round(float(np.quantile(jaccards, 0.05)), 4),
        "true_jaccard_min": round(float(jaccards.min()), 4),
    }
