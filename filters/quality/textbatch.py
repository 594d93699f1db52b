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
_PREFIX = re.escape("§%=—–+…,:;!?¿¡()[]{}<>_#*&\"'”“`‘´’‚„»«$£€¥")
SUFFIX_CHARS = "…,:;!?¿¡()[]{}<>_#*&\"'”“`‘´’‚„»«%."
_SUFFIX = re.escape(SUFFIX_CHARS)
_END = rf"(?=[{_SUFFIX}]*(?:\s|$))"                    # only suffix marks left in the chunk
_CLITIC = r"(?:[nN]['’][tT]|['’](?:[sS]|re|ll|ve|[dDmM]))"  # n't 's 're 'll: split off by spaCy
# infixes spaCy splits inside a chunk: letter-letter and digit-digit hyphens, lower.Upper, a:b a/b a,b
_INFIX = (r"(?<=[^\W\d_])-(?=[^\W\d_])|(?<=\d)-(?=\d)|(?<=[a-z])\.(?=[A-Z])"
          r"|(?<=[^\W_])[:<>=/,](?=[^\W\d_])")
_INFIX_AHEAD = (r"(?<=[^\W\d_])-[^\W\d_]|(?<=\d)-\d|(?<=[a-z])\.[A-Z]"
                r"|(?<=[^\W_])[:<>=/,][^\W\d_]")
_CHUNK_START = rf"(?<![^\s{_PREFIX}])"                 # at a chunk's start, after any prefixes
WORD_RE = re.compile(
    r"(?=\S)(?:"                                      # whitespace fails at once
    rf"[^\W_](?:\w*[^\W_])?(?=[{_SUFFIX}]?(?:\s|$))"     # fast path: a plain word (same result)
    rf"|https?://\S+?{_END}"                            # URLs stay whole
    rf"|{_CHUNK_START}(?:[^\W\d_]\.){{2,}}(?=\s|$)"     # abbreviations: e.g. i.e. U.S.
    rf"|{_CHUNK_START}[^\W\d_]\.(?=\s|$)"               # single-letter abbreviations: v. A.
    r"|\.{2,}"                                          # "..." is one token
    rf"|['’](?:[sS]|re|ll|ve|[dDmM]){_END}"               # a clitic
    rf"|{_INFIX}"                                       # an infix mark
    rf"|[^\s{_PREFIX}]\S*?(?={_CLITIC}?{_END}|{_INFIX_AHEAD})"  # a chunk's core: up to its
    r"|\S)"                                           # suffixes, a clitic or an infix; else one mark
)


def char_class(chars: str) -> str:
    """An RE2 character class matching exactly these characters."""
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in sorted(set(chars))) + "]"


SUFFIX_CLASS = char_class(SUFFIX_CHARS)
# A chunk WORD_RE cuts into its word and at most one trailing mark (its fast path), as RE2
PLAIN_CHUNK = r"^[\pL\pN](?:[\pL\pN_]*[\pL\pN])?" + SUFFIX_CLASS + "?$"
TRAILING_MARK = SUFFIX_CLASS + "$"


def split_words(texts: pa.Array) -> tuple[pa.DictionaryArray, np.ndarray]:
    """WORD_RE.findall of every text, flattened and dictionary-encoded, with each token's text index.

    WORD_RE never matches across whitespace and its look-arounds only see whitespace at a chunk's
    edges, so a text's tokens are the concatenated tokens of its whitespace-separated chunks
    (Arrow's whitespace is exactly str.isspace()). Chunks repeat a lot, so each distinct chunk is
    cut once: plain words (and a word plus one trailing mark) in Arrow, the rest by WORD_RE. The
    token strings are never expanded per occurrence: only their dictionary ids are (numpy).
    """
    chunks = pc.utf8_split_whitespace(texts)
    per_text = pc.list_value_length(chunks).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    encoded = pc.dictionary_encode(pc.list_flatten(chunks))
    chunk_ids = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    cut = _chunk_tokens(encoded.dictionary)
    token_dict = pc.dictionary_encode(cut.values)
    token_ids = token_dict.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    offsets = cut.offsets.to_numpy().astype(np.int64)
    starts, sizes = offsets[chunk_ids], offsets[chunk_ids + 1] - offsets[chunk_ids]
    ids = token_ids[_concat_ranges(starts, sizes)]
    doc = np.repeat(np.repeat(np.arange(len(texts), dtype=np.int64), per_text), sizes)
    tokens = pa.DictionaryArray.from_arrays(pa.array(ids, pa.int64()), token_dict.dictionary)
    return tokens, doc


def _concat_ranges(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """start, start + 1, …, start + size - 1 for every (start, size), concatenated."""
    within = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return np.repeat(starts, sizes) + within


def _chunk_tokens(chunks: pa.Array) -> pa.LargeListArray:
    """WORD_RE.findall of each (distinct) chunk, as a list array in chunk order."""
    plain = _mask(pc.match_substring_regex(chunks, PLAIN_CHUNK))
    marked = plain & _mask(pc.match_substring_regex(chunks, TRAILING_MARK))
    plain_at, marked_at, other_at = np.flatnonzero(plain), np.flatnonzero(marked), np.flatnonzero(~plain)
    other = [WORD_RE.findall(c) for c in chunks.take(pa.array(other_at)).to_pylist()]
    counts = plain.astype(np.int64) + marked
    counts[other_at] = [len(t) for t in other]
    words = pc.replace_substring_regex(chunks.take(pa.array(plain_at)), TRAILING_MARK, "")
    marks = pc.utf8_slice_codeunits(chunks.take(pa.array(marked_at)), start=-1)
    source = pa.concat_arrays([words.cast(pa.large_string()), marks.cast(pa.large_string()),
                               pa.array([t for ts in other for t in ts], pa.large_string())])
    offsets = np.concatenate([[0], np.cumsum(counts)])
    order = np.empty(int(offsets[-1]), np.int64)      # token position → index into `source`
    order[offsets[plain_at]] = np.arange(len(plain_at))
    order[offsets[marked_at] + 1] = len(plain_at) + np.arange(len(marked_at))
    sizes = counts[other_at]
    order[_concat_ranges(offsets[other_at], sizes)] = len(plain_at) + len(marked_at) + np.arange(sizes.sum())
    return pa.LargeListArray.from_arrays(pa.array(offsets), source.take(pa.array(order)))


@dataclass
class Segments:
    """Pieces of every document (words, lines, paragraphs) flattened into one Arrow array."""

    values: pa.Array          # large_string, one entry per piece
    doc: np.ndarray           # int64 index of the owning document, non-decreasing
    n_docs: int

    @classmethod
    def from_list_array(cls, lists: pa.Array, keep: np.ndarray | None = None) -> Segments:
        """From a list<string> array (one list per document); `keep` masks the flat values."""
        counts = pc.list_value_length(lists).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        values = pc.list_flatten(lists)
        doc = np.repeat(np.arange(len(lists)), counts)
        if keep is not None:
            values, doc = values.filter(pa.array(keep)), doc[keep]
        return cls(values.cast(pa.large_string()), doc, len(lists))

    @cached_property
    def _encoded(self) -> pa.DictionaryArray:
        if pa.types.is_dictionary(self.values.type):   # already unique values + ids (words)
            return self.values
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
        if pa.types.is_dictionary(self.values.type):
            return self.gather(pc.utf8_length(self.distinct)).astype(np.int64)
        return pc.utf8_length(self.values).to_numpy(zero_copy_only=False).astype(np.int64)

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
        """WORD_RE's tokens, found once per distinct whitespace chunk of the batch (see split_words)."""
        tokens, doc = split_words(self.array)
        return Segments(tokens, doc, self.n)

    @cached_property
    def splitlines(self) -> Segments:
        """str.splitlines(): what Gopher quality and C4 iterate over (split in Arrow; no trailing
        empty piece after a final line break, none at all for an empty text)."""
        lists = pc.split_pattern_regex(self.array, LINE_BREAKS)
        counts = pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int64)
        ends = np.cumsum(counts)
        trailing = _mask(pc.match_substring_regex(self.array, f"(?:{LINE_BREAKS})$")) | (self.char_len == 0)
        keep = np.ones(int(ends[-1]) if len(ends) else 0, dtype=bool)
        keep[ends[trailing] - 1] = False
        return Segments.from_list_array(lists, keep)

    @cached_property
    def newline_lines(self) -> Segments:
        """Non-blank pieces of text.split("\\n"): FineWeb's lines."""
        lists = pc.split_pattern(self.array, "\n")
        blank = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(pc.list_flatten(lists))), 0)
        return Segments.from_list_array(lists, ~_mask(blank))

    @cached_property
    def runs_of_lines(self) -> Segments:
        """re.split("\\n+"): Gopher repetition's lines."""
        return Segments.from_list_array(pc.split_pattern_regex(self.array, "\n+"))

    @cached_property
    def paragraphs(self) -> Segments:
        """re.split("\\n{2,}") of the stripped text: Gopher repetition's paragraphs."""
        stripped = pc.utf8_trim_whitespace(self.array)
        return Segments.from_list_array(pc.split_pattern_regex(stripped, r"\n{2,}"))

    def count(self, needle: str) -> np.ndarray:
        return np.fromiter((t.count(needle) for t in self.texts), dtype=np.int64, count=self.n)


# str.splitlines() boundaries, as RE2
LINE_BREAKS = r"\r\n|[\n\r\x{0b}\x{0c}\x{1c}\x{1d}\x{1e}\x{85}\x{2028}\x{2029}]"


def _mask(array) -> np.ndarray:
    return np.asarray(array.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
