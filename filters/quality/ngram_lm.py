"""The perplexity scorer: a CCNet-style n-gram language model of reference text, per language.

CCNet tokenises with SentencePiece and scores with a 5-gram KenLM trained on Wikipedia; here:
- English: WordPiece ids of MiniLM's vocabulary (lowercased, accents stripped; the same tokenizer
  pass the edu scorer uses), trained on Wikipedia articles, edited news and a book (corpus.py);
- Chinese: characters after NFKC normalisation (digits folded to 0, as CCNet does), trained on
  People's Daily and two Chinese books.
Counts live in hashed tables (the file size does not grow with the corpus) and probabilities are
Witten-Bell interpolated across orders. Score = -log10(perplexity): higher is better.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline import npz

MULT = np.uint64(0x100000001B3)
START = np.uint64(1 << 40)  # above every token id (WordPiece ids, code points)


def char_ids(text: str, max_chars: int = 3000) -> np.ndarray:
    """Chinese LM tokens: one id per non-space character (NFKC; every digit -> '0')."""
    norm = unicodedata.normalize("NFKC", text[:max_chars]).lower()
    data = np.frombuffer("".join(norm.split()).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    data[(data >= 48) & (data <= 57)] = 48
    return data


def _hashes(tokens: np.ndarray, n: int) -> np.ndarray:
    """64-bit hash of tokens[i-n+1..i] for every i (the start padded with a start symbol)."""
    t = tokens.astype(np.uint64)
    padded = np.concatenate([np.full(n - 1, START, dtype=np.uint64), t])
    key = np.full(len(t), np.uint64(n * 7919))
    with np.errstate(over="ignore"):
        for k in range(n):
            key = (key ^ padded[k:k + len(t)]) * MULT
    return key


@dataclass
class NgramLM:
    order: int
    buckets: int
    grams: list[np.ndarray]      # grams[n-1][bucket] = count of n-grams (n = 1..order)
    contexts: list[np.ndarray]   # contexts[n-2]: times the (n-1)-token context was followed by a token
    types: list[np.ndarray]      # types[n-2]: distinct tokens that followed the context

    @classmethod
    def train(cls, token_lists: list[np.ndarray], order: int = 3, buckets: int = 1 << 20) -> NgramLM:
        grams = [np.zeros(buckets, np.int64) for _ in range(order)]
        contexts = [np.zeros(buckets, np.int64) for _ in range(order - 1)]
        gram_hashes: list[list[np.ndarray]] = [[] for _ in range(order)]
        ctx_hashes: list[list[np.ndarray]] = [[] for _ in range(order)]
        for tokens in token_lists:
            if len(tokens) == 0:
                continue
            for n in range(1, order + 1):
                gram_hashes[n - 1].append(_hashes(tokens, n))
                if n >= 2:
                    ctx_hashes[n - 1].append(_context_hashes(tokens, n))
        types = []
        for n in range(1, order + 1):
            g = np.concatenate(gram_hashes[n - 1])
            grams[n - 1] += np.bincount((g % np.uint64(buckets)).astype(np.int64), minlength=buckets)
            if n >= 2:
                c = np.concatenate(ctx_hashes[n - 1])
                contexts[n - 2] += np.bincount((c % np.uint64(buckets)).astype(np.int64), minlength=buckets)
                pairs = np.unique(np.stack([c, g], axis=1), axis=0)   # distinct (context, n-gram)
                types.append(np.bincount((pairs[:, 0] % np.uint64(buckets)).astype(np.int64),
                                         minlength=buckets))
        return cls(order, buckets, grams, contexts, types)

    def log10_probs(self, tokens: np.ndarray) -> np.ndarray:
        if len(tokens) == 0:
            return np.zeros(0)
        b = np.uint64(self.buckets)
        unigram = self.grams[0]
        prob = (unigram[(_hashes(tokens, 1) % b).astype(np.int64)] + 1.0) / (self._total + self.buckets)
        for n in range(2, self.order + 1):
            gram = self.grams[n - 1][(_hashes(tokens, n) % b).astype(np.int64)]
            ctx_key = (_context_hashes(tokens, n) % b).astype(np.int64)
            seen, kinds = self.contexts[n - 2][ctx_key], self.types[n - 2][ctx_key]
            gram = np.minimum(gram, seen)  # a hash collision cannot make P(w|h) exceed 1
            higher = (gram + kinds * prob) / np.maximum(seen + kinds, 1)
            prob = np.where(seen > 0, higher, prob)
        return np.log10(prob)

    @property
    def _total(self) -> float:
        if not hasattr(self, "_total_cache"):
            self._total_cache = float(self.grams[0].sum())
        return self._total_cache

    def score(self, tokens: np.ndarray) -> float:
        """-log10(perplexity) = mean log10 probability per token (higher = more reference-like)."""
        lp = self.log10_probs(tokens)
        return float(lp.mean()) if len(lp) else -10.0

    def save(self, path: Path) -> None:
        arrays = {f"grams{n}": _u16(a) for n, a in enumerate(self.grams)}
        arrays |= {f"contexts{n}": _u16(a) for n, a in enumerate(self.contexts)}
        arrays |= {f"types{n}": _u16(a) for n, a in enumerate(self.types)}
        npz.save(path, order=self.order, buckets=self.buckets,
                            total=float(self.grams[0].sum()), **arrays)

    @classmethod
    def load(cls, path: str | Path) -> NgramLM:
        data = np.load(path)
        order = int(data["order"])
        lm = cls(order, int(data["buckets"]),
                 [data[f"grams{n}"].astype(np.float64) for n in range(order)],
                 [data[f"contexts{n}"].astype(np.float64) for n in range(order - 1)],
                 [data[f"types{n}"].astype(np.float64) for n in range(order - 1)])
        lm._total_cache = float(data["total"])
        return lm


def _context_hashes(tokens: np.ndarray, n: int) -> np.ndarray:
    """Hash of the (n-1)-token context before each position (same padding as _hashes)."""
    shifted = np.concatenate([np.full(1, START, dtype=np.uint64), tokens[:-1].astype(np.uint64)])
    return _hashes(shifted, n - 1)


def _u16(a: np.ndarray) -> np.ndarray:
    """Counts stored as uint16 (saturating): hashed tables of small counts compress well."""
    return np.minimum(a, 65535).astype(np.uint16)


@lru_cache(maxsize=4)
def load(path: str) -> NgramLM:
    return NgramLM.load(path)
