"""One tokenization pass over a batch of documents, shared by every rule scorer.

The Gopher, C4 and FineWeb rules all look at the same words and lines. We split them once per batch
into flat Arrow/numpy arrays (one entry per word or line, plus the owning document's index), so each
rule is a handful of vectorised kernels instead of a Python loop per word.

Words follow datatrove's English word tokenizer (spaCy's blank English model) closely enough for
its rules: URLs and abbreviations stay whole, numbers keep their inner separators, clitics
('s, n't) and every punctuation mark split off, an ellipsis "..." is one token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filters.quality.punctuation import PUNCTUATION_CHARS, TERMINAL_CHARS  # noqa: F401

# spaCy splits these off the start (prefix) or end (suffix) of a whitespace-separated chunk.
_PREFIX = re.escape("§%=—–+…,:;!?¿¡()[]{}<>_#*&\"'”“`‘´’‚„»«$£€¥-/")
_SUFFIX = re.escape("…,:;!?¿¡()[]{}<>_#*&\"'”“`‘´’‚„»«%.")
_END = rf"(?=[{_SUFFIX}]*(?:\s|$))"                    # only suffix marks left in the chunk
_CLITIC = r"(?:[nN]['’][tT]|['’](?:[sS]|re|ll|ve|[dDmM]))"  # n't 's 're 'll: split off by spaCy
WORD_RE = re.compile(
    rf"[^\W_](?:\w*[^\W_])?(?=[{_SUFFIX}]?(?:\s|$))"     # fast path: a plain word (same result)
    r"|\.{2,}"                                          # "..." is one token
    rf"|['’](?:[sS]|re|ll|ve|[dDmM]){_END}"               # a clitic
    r"|(?<=[a-z])\.(?=[A-Z])"                           # infix dot: csv.Dialect
    rf"|[^\s{_PREFIX}](?:[^\s-]|-(?![^\W_]))*?"          # a chunk's core, up to: its suffixes,
    rf"(?={_CLITIC}?{_END}|-[^\W_]|(?<=[a-z])\.[A-Z]|(?<=[^\W_])[:<>=/,][^\W\d_])"  # a clitic, an infix
    r"|\S"                                            # prefix/suffix/infix marks, one token each
)

def char_class(chars: str) -> str:
    """An RE2 character class matching exactly these characters."""
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in sorted(set(chars))) + "]"


@dataclass
class Segments:
    """Pieces of every document (words, lines, paragraphs) flattened into one Arrow array."""

    values: pa.Array          # large_string, one entry per piece
    doc: np.ndarray           # int64 index of the owning document, non-decreasing
    n_docs: int

    @classmethod
    def from_lists(cls, pieces: list[list[str]]) -> Segments:
        counts = np.fromiter((len(p) for p in pieces), dtype=np.int64, count=len(pieces))
        flat = [x for p in pieces for x in p]
        return cls(pa.array(flat, type=pa.large_string()), np.repeat(np.arange(len(pieces)), counts),
                   len(pieces))

    @cached_property
    def _encoded(self) -> pa.DictionaryArray:
        return pc.dictionary_encode(self.values)

    @cached_property
    def ids(self) -> np.ndarray:
        """A small integer per distinct piece value (dictionary encoding over the whole batch)."""
        return self._encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)

    @property
    def distinct(self) -> pa.Array:
        """The distinct values; per-value features computed here are gathered with `ids`."""
        return self._encoded.dictionary

    @cached_property
    def lengths(self) -> np.ndarray:
        return self.gather(pc.utf8_length(self.distinct)).astype(np.int64)

    def gather(self, per_distinct: pa.Array) -> np.ndarray:
        """A feature computed once per distinct value, expanded to every piece."""
        return np.asarray(per_distinct.to_numpy(zero_copy_only=False))[self.ids]

    @cached_property
    def is_repeat(self) -> np.ndarray:
        """True where the same value already occurred earlier in the same document."""
        return repeats(self.doc, self.ids)

    def per_doc(self, weights: np.ndarray | None = None) -> np.ndarray:
        """Sum of weights (or count) per document."""
        return np.bincount(self.doc, weights=weights, minlength=self.n_docs)

    def mask(self, array: pa.Array) -> np.ndarray:
        return np.asarray(array.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def repeats(doc: np.ndarray, key: np.ndarray) -> np.ndarray:
    """True for every (doc, key) pair that is not the first of its kind (order = array order)."""
    if len(key) == 0:
        return np.zeros(0, dtype=bool)
    combined = doc.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) ^ key.astype(np.uint64)
    _, first = np.unique(combined, return_index=True)
    out = np.ones(len(key), dtype=bool)
    out[first] = False
    return out


class TextBatch:
    """A batch of texts with lazily computed, shared segmentations."""

    def __init__(self, texts: list[str]):
        self.texts = ["" if t is None else t for t in texts]
        self.n = len(self.texts)

    @cached_property
    def array(self) -> pa.Array:
        return pa.array(self.texts, type=pa.large_string())

    @cached_property
    def char_len(self) -> np.ndarray:
        return np.fromiter((len(t) for t in self.texts), dtype=np.int64, count=self.n)

    @cached_property
    def words(self) -> Segments:
        return Segments.from_lists([WORD_RE.findall(t) for t in self.texts])

    @cached_property
    def splitlines(self) -> Segments:
        """str.splitlines(): what Gopher quality and C4 iterate over."""
        return Segments.from_lists([t.splitlines() for t in self.texts])

    @cached_property
    def newline_lines(self) -> Segments:
        """Non-blank pieces of text.split("\\n"): FineWeb's lines."""
        return Segments.from_lists([[x for x in t.split("\n") if x.strip()] for t in self.texts])

    @cached_property
    def runs_of_lines(self) -> Segments:
        """re.split("\\n+"): Gopher repetition's lines."""
        split = re.compile("\n+").split
        return Segments.from_lists([split(t) for t in self.texts])

    @cached_property
    def paragraphs(self) -> Segments:
        """re.split("\\n{2,}") of the stripped text: Gopher repetition's paragraphs."""
        split = re.compile(r"\n{2,}").split
        return Segments.from_lists([split(t.strip()) for t in self.texts])

    def count(self, pattern: str) -> np.ndarray:
        return pc.count_substring(self.array, pattern).to_numpy(zero_copy_only=False).astype(np.int64)
