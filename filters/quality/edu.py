"""The edu scorer: FineWeb-Edu-style educational value 0..5 from a linear head, without a transformer.

Features of a document (first 512 WordPiece tokens, one tokenizer pass shared with the embedder):
- its static embedding (static_embed.py, distilled from all-MiniLM-L6-v2), L2-normalised;
- sublinear TF-IDF of its WordPiece unigrams and bigrams, hashed to 2^18 buckets, L2-normalised.
The head is ridge regression on both blocks, trained on real pages with real labels (FineWeb pages
scored 0..5 by Llama-3-70B: ../shared/data/quality). Cross-validated Spearman: models/metrics.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from filters.quality.static_embed import StaticEmbedder
from pipeline import npz

BUCKETS = 1 << 18
BIGRAM_MULT = 1_000_003
TFIDF_WEIGHT = 1.5   # scale of the lexical block against the embedding block (chosen by CV, see README)
RIDGE_ALPHA = 0.3


def lexical_counts(ids: list[np.ndarray]) -> sp.csr_matrix:
    """Counts of hashed WordPiece unigrams and bigrams per document (rows = documents)."""
    rows, keys = [], []
    for r, tokens in enumerate(ids):
        bigrams = (tokens[:-1] * BIGRAM_MULT + tokens[1:]) % BUCKETS if len(tokens) > 1 else tokens[:0]
        k = np.concatenate([tokens % BUCKETS, bigrams])
        rows.append(np.full(len(k), r, dtype=np.int64))
        keys.append(k)
    row = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    key = np.concatenate(keys) if keys else np.zeros(0, np.int64)
    matrix = sp.csr_matrix((np.ones(len(key)), (row, key)), shape=(len(ids), BUCKETS))
    matrix.sum_duplicates()
    return matrix


def tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    out = counts.copy().astype(np.float64)
    out.data = (1.0 + np.log(out.data)) * idf[out.indices]
    norms = np.sqrt(np.asarray(out.multiply(out).sum(axis=1)).ravel())
    return sp.diags(1.0 / np.maximum(norms, 1e-12)) @ out


@dataclass
class EduModel:
    idf: np.ndarray          # (BUCKETS,) float32
    w_embed: np.ndarray      # (dims,)
    w_lexical: np.ndarray    # (BUCKETS,)
    bias: float

    def features(self, ids: list[np.ndarray], embedder: StaticEmbedder) -> tuple[np.ndarray, sp.csr_matrix]:
        return embedder.embed_ids(ids), tfidf(lexical_counts(ids), self.idf)

    def predict_ids(self, ids: list[np.ndarray], embedder: StaticEmbedder) -> np.ndarray:
        dense, lexical = self.features(ids, embedder)
        raw = dense @ self.w_embed + TFIDF_WEIGHT * (lexical @ self.w_lexical) + self.bias
        return np.clip(raw, 0.0, 5.0)

    def predict(self, texts: list[str], embedder: StaticEmbedder | None = None) -> np.ndarray:
        embedder = embedder or StaticEmbedder.default()
        return self.predict_ids(embedder.token_ids(texts), embedder)

    @classmethod
    def fit(cls, texts: list[str], scores: np.ndarray, embedder: StaticEmbedder,
            alpha: float = RIDGE_ALPHA) -> EduModel:
        from sklearn.linear_model import Ridge

        ids = embedder.token_ids(texts)
        counts = lexical_counts(ids)
        df = np.bincount(counts.indices, minlength=BUCKETS)
        idf = (np.log((1 + len(ids)) / (1 + df)) + 1.0).astype(np.float32)
        dense, lexical = embedder.embed_ids(ids), tfidf(counts, idf)
        x = sp.hstack([sp.csr_matrix(dense.astype(np.float64)), TFIDF_WEIGHT * lexical]).tocsr()
        ridge = Ridge(alpha=alpha, solver="sparse_cg", tol=1e-8, max_iter=10_000).fit(x, scores)
        coef = ridge.coef_
        return cls(idf, coef[:embedder.dims].astype(np.float32), coef[embedder.dims:].astype(np.float32),
                   float(ridge.intercept_))

    def save(self, path: Path) -> None:
        npz.save(path, idf=self.idf.astype(np.float16), w_embed=self.w_embed,
                            w_lexical=self.w_lexical.astype(np.float16), bias=self.bias)

    @classmethod
    def load(cls, path: str | Path) -> EduModel:
        data = np.load(path)
        return cls(data["idf"].astype(np.float32), data["w_embed"].astype(np.float32),
                   data["w_lexical"].astype(np.float32), float(data["bias"]))


@lru_cache(maxsize=4)
def load(path: str) -> EduModel:
    return EduModel.load(path)


def cross_validated(texts: list[str], scores: np.ndarray, embedder: StaticEmbedder, folds: int = 5,
                    seed: int = 0) -> np.ndarray:
    """Out-of-fold predictions (each document scored by a model that never saw it)."""
    order = np.random.default_rng(seed).permutation(len(texts))
    out = np.zeros(len(texts))
    for fold in range(folds):
        test = order[fold::folds]
        train = np.setdiff1d(order, test)
        model = EduModel.fit([texts[i] for i in train], scores[train], embedder)
        out[test] = model.predict([texts[i] for i in test], embedder)
    return out
