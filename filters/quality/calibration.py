"""Tier cut points on a fixed reference sample, so a tier means the same thing on every corpus.

The Nemotron-CC recipe bins each scorer's scores into 20 buckets at token-weighted percentiles.
Computed on a run's own documents (`quality.calibration.mode: run`), a corpus of uniformly good
pages still loses its bottom half. The default (`reference`) bins against a fixed, real, general
web sample instead, per language, shipped with the models in models/calibration.json:

- en: the held-out split of FineWeb pages, real pages' main text, WARC extracts and CCNet docs;
- zh: the held-out split of Chinese Common Crawl docs, real Chinese pages and iNews pages.
None of these documents trained any model (corpus.py splits by a stable hash).

The file stores the sample's raw scores (not only cut points), so scorer weights, the scorer set
and the ensemble method can change at decide time without scoring anything again: cut points are a
sort of a few hundred numbers. It also records the sha256 of each model file it was scored with;
a run whose models differ is told to rebuild it (`python -m pipeline train calibration`) or to
use `calibration.mode: run`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from filters.quality import corpus, ensemble

DEFAULT_REFERENCE = Path(__file__).parent / "models" / "calibration.json"
VERSION = 1
SAMPLE_SOURCES = {"en": ["fineweb_edu", "trafilatura_pages", "warc_pages", "ccnet_en"],
                  "zh": ["chinesewebtext_zh", "zh_html_pages", "inews_zh"]}
MIN_LANGUAGE_ROWS = 30   # a run-mode language with fewer sampled rows uses the pooled run sample


class Sample:
    """Raw scores of a calibration sample for one language, with each document's byte weight."""

    def __init__(self, scores: dict[str, np.ndarray], weights: np.ndarray):
        self.scores = {k: np.asarray(v, dtype=np.float64) for k, v in scores.items()}
        self.weights = np.asarray(weights, dtype=np.float64)

    def cut_points(self, scorer: str) -> list[float]:
        return ensemble.weighted_cut_points(self.scores[scorer], self.weights)

    def ensemble_cut_points(self, scorers: list[str], method: str, weights: dict[str, float]) -> list[float]:
        per = np.stack([ensemble.buckets(self.scores[s], self.cut_points(s)) for s in scorers], axis=1)
        return ensemble.weighted_cut_points(ensemble.combine(per, method, [weights.get(s, 1.0) for s in scorers]),
                                            self.weights)

    def to_json(self) -> dict:
        kept = {k: v for k, v in sorted(self.scores.items()) if np.isfinite(v).all()}  # e.g. no edu for zh
        return {"scores": {k: [round(float(x), 6) for x in v] for k, v in kept.items()},
                "weights": [int(w) for w in self.weights]}

    @classmethod
    def from_json(cls, data: dict) -> Sample:
        return cls(data["scores"], np.asarray(data["weights"]))


def model_hashes(paths: dict[str, str]) -> dict[str, str]:
    return {name: hashlib.sha256(Path(p).read_bytes()).hexdigest() for name, p in sorted(paths.items())}


def load_reference(path: str | Path | None = None) -> dict:
    from pipeline.resources import resource

    with open(path or resource(DEFAULT_REFERENCE), encoding="utf-8") as handle:
        return json.load(handle)


def reference_samples(data: dict) -> dict[str, Sample]:
    return {lang: Sample.from_json(entry["sample"]) for lang, entry in data["languages"].items()}


def build_reference(score: Callable[[list[str], list[str]], dict[str, np.ndarray]] | None = None,
                    out: Path = DEFAULT_REFERENCE) -> dict:
    """Score the fixed web sample with the shipped models and the default settings; write `out`."""
    from filters.quality import models

    if score is None:
        from filters.quality import scorers

        score = scorers.default_scores
    languages = {}
    for lang, keys in SAMPLE_SOURCES.items():
        docs = corpus.docs(keys, kind="web", split="heldout", lang=lang)
        texts = [d.text for d in docs]
        raw = score(texts, [lang] * len(texts))
        weights = np.array([len(t.encode("utf-8")) for t in texts])
        names = hashlib.sha256("\n".join(d.name for d in docs).encode()).hexdigest()
        languages[lang] = {
            "sample": Sample(raw, weights).to_json(),
            "provenance": {"split": "heldout (never used for training)", "docs": len(docs),
                           "bytes": int(weights.sum()), "doc_names_sha256": names,
                           "sources": {k: {"docs": sum(d.source == k for d in docs),
                                           "from": corpus.SOURCES[k].provenance} for k in keys}}}
    data = {"version": VERSION, "what": "per-language raw scores of a fixed real web sample; the stage derives "
                                        "token-weighted cut points from them (filters/quality/calibration.py)",
            "models": model_hashes(models.default_paths()), "languages": languages}
    out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {out}: " + ", ".join(f"{lang} {v['provenance']['docs']} docs" for lang, v in languages.items()))
    return data
