"""The run's own precision estimate: true Jaccard of sampled removed rows with their survivor.

MinHash only estimates similarity; measuring the exact shingle-set Jaccard on a deterministic
sample tells the user how many removals were right, without trusting the estimator.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyarrow as pa

from filters.dedup.minhash import exact_jaccard, shingle_sets
from filters.dedup.signatures import read_documents


def _texts(pairs: list[dict], inputs: list[str]) -> dict[tuple[int, int], str]:
    wanted: dict[int, set[int]] = defaultdict(set)
    for pair in pairs:
        wanted[pair["part"]].add(pair["row"])
        wanted[pair["survivor_part"]].add(pair["survivor_row"])
    texts = {}
    for part, rows in sorted(wanted.items()):
        ordered = sorted(rows)
        column = read_documents(inputs[part], ["id", "text"]).column("text")
        picked = column.take(pa.array(ordered)).to_pylist()
        texts.update({(part, row): text or "" for row, text in zip(ordered, picked, strict=True)})
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
