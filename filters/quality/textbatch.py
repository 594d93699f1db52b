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
from functools import cache, cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from filters.quality.punctuation import PUNCTUATION_CHARS, TERMINAL_CHARS  # noqa: F401

# spaCy splits these off the start (prefix) or end (suffix) of a whitespace-separated chunk.
PREFIX_CHARS = "§%=—–+…,:;!?¿¡()[]{}<>_#*&\"'”“`‘´’‚„»«$£€¥"
_PREFIX = re.escape(PREFIX_CHARS)
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


def split_words(texts: pa.Array) -> tuple[pa.DictionaryArray, np.ndarray]:
    """WORD_RE.findall of every text, flattened and dictionary-encoded, with each token's text index.

    WORD_RE never matches across whitespace and its look-arounds only see whitespace at a chunk's
    edges, so a text's tokens are the concatenated tokens of its whitespace-separated chunks
    (Arrow's whitespace is exactly str.isspace()). Chunks repeat a lot, so each distinct chunk is
    cut once, by a compiled replay of WORD_RE (_cut_chunks). The token strings are never expanded
    per occurrence: only their dictionary ids are (one compiled pass, _expand).
    """
    chunks = pc.utf8_split_whitespace(texts)
    per_text = pc.list_value_length(chunks).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    encoded = pc.dictionary_encode(pc.list_flatten(chunks))
    chunk_ids = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    cut = _chunk_tokens(encoded.dictionary)
    token_dict = pc.dictionary_encode(cut.values)
    token_ids = token_dict.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    offsets = cut.offsets.to_numpy().astype(np.int64)
    ids, doc = _expand(chunk_ids, per_text, offsets, token_ids)
    tokens = pa.DictionaryArray.from_arrays(pa.array(ids, pa.int64()), token_dict.dictionary)
    return tokens, doc


@njit(cache=True)
def _expand(chunk_ids, per_text, offsets, token_ids):
    """Every chunk occurrence's token ids (token_ids[offsets[c]:offsets[c + 1]]) and text index."""
    total = 0
    for c in chunk_ids:
        total += offsets[c + 1] - offsets[c]
    ids, doc = np.empty(total, np.int64), np.empty(total, np.int64)
    i, k = 0, 0
    for d in range(len(per_text)):
        for _ in range(per_text[d]):
            c = chunk_ids[k]
            k += 1
            for j in range(offsets[c], offsets[c + 1]):
                ids[i], doc[i] = token_ids[j], d
                i += 1
    return ids, doc


def _chunk_tokens(chunks: pa.Array) -> pa.LargeListArray:
    """WORD_RE.findall of each (distinct) chunk, as a list array in chunk order."""
    chunks = chunks.cast(pa.large_string())
    if len(chunks) == 0:
        return pa.LargeListArray.from_arrays(pa.array([0], pa.int64()), pa.array([], pa.large_string()))
    offsets = np.frombuffer(chunks.buffers()[1], np.int64)[chunks.offset:chunks.offset + len(chunks) + 1]
    data = np.frombuffer(chunks.buffers()[2], np.uint8)
    counts, token_offsets, token_bytes = _cut_chunks(offsets, data, _char_flags())
    values = pa.LargeStringArray.from_buffers(len(token_offsets) - 1, pa.py_buffer(token_offsets),
                                              pa.py_buffer(token_bytes))
    return pa.LargeListArray.from_arrays(pa.array(np.concatenate([[0], np.cumsum(counts)])), values)


# Character classes of WORD_RE as bit flags per code point (_char_flags)
_WORD, _ALNUM, _LETTER, _DIGIT, _PRE, _SUF = 1, 2, 4, 8, 16, 32   # \w, [^\W_], [^\W\d_], \d


@cache
def _char_flags() -> np.ndarray:
    """The flags of every code point, found by Python's re itself (so the classes are WORD_RE's)."""
    every = "".join(map(chr, range(0x110000)))
    flags = np.zeros(0x110000, np.uint8)
    for bit, cls in ((_WORD, r"\w"), (_ALNUM, r"[^\W_]"), (_LETTER, r"[^\W\d_]"), (_DIGIT, r"\d"),
                     (_PRE, f"[{_PREFIX}]"), (_SUF, f"[{_SUFFIX}]")):
        marked = re.sub(cls, "\0", every).encode("utf-32-le", "surrogatepass")
        hit = np.frombuffer(marked, np.uint32) == 0
        hit[0] = re.fullmatch(cls, "\0") is not None   # NUL itself is the marker
        flags[hit] |= bit
    return flags


@njit(cache=True)
def _cut_chunks(offsets, data, flags):
    """WORD_RE.findall of every UTF-8 chunk data[offsets[k]:offsets[k + 1]], alternative by alternative.

    Returns tokens per chunk and the tokens as Arrow large_string buffers (offsets, bytes).
    t is where the chunk's trailing run of suffix marks starts: _END holds at e iff e >= t.
    """
    n = len(offsets) - 1
    counts = np.zeros(n, np.int64)
    longest = 0
    for k in range(n):
        longest = max(longest, offsets[k + 1] - offsets[k])
    cp = np.empty(longest + 3, np.int64)        # code points of the chunk, then 3 spaces
    at = np.empty(longest + 1, np.int64)        # byte position of each code point (+ the end)
    fl = np.zeros(longest + 3, np.int64)        # their flags
    tok_offsets = np.zeros(len(data) + 1, np.int64)
    tok_bytes = np.empty(len(data), np.uint8)
    n_tok = 0
    for k in range(n):
        b, size = offsets[k], 0
        while b < offsets[k + 1]:               # decode UTF-8
            lead = np.int64(data[b])
            width = 1 if lead < 0x80 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
            c = lead if width == 1 else lead & (0x3F >> (width - 1))
            for j in range(1, width):
                c = (c << 6) | (np.int64(data[b + j]) & 0x3F)
            cp[size], at[size], fl[size] = c, b, flags[c]
            size += 1
            b += width
        at[size] = b
        cp[size:size + 3], fl[size:size + 3] = 32, 0   # the whitespace after the chunk
        t = size
        while t > 0 and fl[t - 1] & _SUF:
            t -= 1
        last_non_word = -1                      # for the plain-word path: last non-\w before end
        last_non_word_1 = -1                    # ... before the final character
        for j in range(size):
            if not fl[j] & _WORD:
                if j < size - 1:
                    last_non_word_1 = j
                last_non_word = j
        i = 0
        while i < size:
            c, f, e = cp[i], fl[i], -1
            if f & _ALNUM:                      # a plain word, at most one suffix mark after it
                if i > last_non_word and fl[size - 1] & _ALNUM:
                    e = size
                elif (size - 1 > i and fl[size - 1] & _SUF and i > last_non_word_1
                      and fl[size - 2] & _ALNUM):
                    e = size - 1
            if e < 0 and c == 104 and _is_url_scheme(cp, i, size):    # URL: https?:// and more
                scheme = i + (8 if cp[i + 4] == 115 else 7)
                e = max(scheme + 1, t)
            if e < 0 and f & _LETTER and (i == 0 or fl[i - 1] & _PRE) and (size - i) % 2 == 0 \
                    and size - i >= 4:          # abbreviations: e.g. U.S.
                ok = True
                for j in range(i, size, 2):
                    if not (fl[j] & _LETTER and cp[j + 1] == 46):
                        ok = False
                        break
                if ok:
                    e = size
            # (a single-letter abbreviation "A." is always taken by the plain-word path first)
            if e < 0 and c == 46 and cp[i + 1] == 46:               # "..." is one token
                e = i + 1
                while cp[e] == 46:
                    e += 1
            if e < 0 and (c == 39 or c == 8217):                    # a clitic
                end = _clitic_end(cp, i + 1)
                if end > 0 and end >= t:
                    e = end
            if e < 0 and i > 0 and _infix(cp, fl, i):              # an infix mark
                e = i + 1
            if e < 0 and not f & _PRE:                              # a chunk's core
                e = i + 1
                while e < t and not _core_stops(cp, fl, e, t):
                    e += 1
            if e < 0:                                               # one mark
                e = i + 1
            start, stop = at[i], at[e]
            tok_bytes[tok_offsets[n_tok]:tok_offsets[n_tok] + stop - start] = data[start:stop]
            tok_offsets[n_tok + 1] = tok_offsets[n_tok] + stop - start
            n_tok += 1
            counts[k] += 1
            i = e
    return counts, tok_offsets[:n_tok + 1], tok_bytes[:tok_offsets[n_tok]]


@njit(cache=True)
def _is_url_scheme(cp, i, size):
    """http:// or https:// at i, followed by at least one character."""
    if i + 8 > size or cp[i + 1] != 116 or cp[i + 2] != 116 or cp[i + 3] != 112:   # "ttp"
        return False
    j = i + 5 if cp[i + 4] == 115 else i + 4                                          # "s"?
    return j + 3 < size and cp[j] == 58 and cp[j + 1] == 47 and cp[j + 2] == 47       # "://"


@njit(cache=True)
def _clitic_end(cp, i):
    """Where ['’](?:[sS]|re|ll|ve|[dDmM]) ends if its letters start at i, else -1."""
    c, d = cp[i], cp[i + 1]
    if c == 115 or c == 83 or c == 100 or c == 68 or c == 109 or c == 77:   # s S d D m M
        return i + 1
    if (c == 114 and d == 101) or (c == 108 and d == 108) or (c == 118 and d == 101):  # re ll ve
        return i + 2
    return -1


@njit(cache=True)
def _infix(cp, fl, i):
    """_INFIX at i (i > 0): the mark and the characters on either side."""
    c, before, after = cp[i], fl[i - 1], fl[i + 1]
    if c == 45:                                                     # -
        return bool(before & _LETTER and after & _LETTER) or bool(before & _DIGIT and after & _DIGIT)
    if c == 46:                                                     # .
        return 97 <= cp[i - 1] <= 122 and 65 <= cp[i + 1] <= 90
    if c == 58 or c == 60 or c == 62 or c == 61 or c == 47 or c == 44:   # : < > = / ,
        return bool(before & _ALNUM and after & _LETTER)
    return False


@njit(cache=True)
def _core_stops(cp, fl, e, t):
    """The core's lookahead at e < t: a clitic then only suffix marks, or an infix ahead."""
    c = cp[e]
    if ((c == 110 or c == 78) and (cp[e + 1] == 39 or cp[e + 1] == 8217)
            and (cp[e + 2] == 116 or cp[e + 2] == 84) and e + 3 >= t):   # n't
        return True
    if c == 39 or c == 8217:
        end = _clitic_end(cp, e + 1)
        if end > 0 and end >= t:
            return True
    return _infix(cp, fl, e)


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

    def __init__(self, texts: list[str], lang: str | None = None):
        self.texts = ["" if t is None else t for t in texts]
        self.n = len(self.texts)
        self.memo: dict[str, object] = {}  # results several scorers share (see scorers.rule_sets)
        self.lang = lang   # "zh": words are jieba's (filters/segment.py); anything else: WORD_RE's

    @cached_property
    def wordpiece_ids(self) -> list[np.ndarray]:
        """MiniLM WordPiece ids of each text's start, line breaks as [SEP]: one tokenizer pass
        shared by the edu and English perplexity scorers (static_embed.py)."""
        from filters.quality.static_embed import StaticEmbedder

        return StaticEmbedder.default().token_ids(self.texts)

    @cached_property
    def array(self) -> pa.Array:
        return pa.array(self.texts, type=pa.large_string())

    @cached_property
    def char_len(self) -> np.ndarray:
        return np.fromiter((len(t) for t in self.texts), dtype=np.int64, count=self.n)

    @cached_property
    def words(self) -> Segments:
        """WORD_RE's tokens, found once per distinct whitespace chunk of the batch (see split_words).
        Chinese text is first cut into words by jieba (FineWeb-2's word tokenizer for zh), so the
        word-based rules count words, not runs of characters between spaces."""
        source = self.array
        if self.lang == "zh":
            from filters.segment import spaced

            source = pa.array([spaced(t, "zh") for t in self.texts], type=pa.large_string())
        tokens, doc = split_words(source)
        return Segments(tokens, doc, self.n)

    @cached_property
    def splitlines(self) -> Segments:
        """str.splitlines(): what Gopher quality and C4 iterate over (split in Arrow; no trailing
        empty piece after a final line break, none at all for an empty text). A batch with no
        break but "\\n" reuses the plain "\\n" split (the regex split costs ~5x more)."""
        if _mask(pc.match_substring_regex(self.array, OTHER_LINE_BREAKS)).any():
            lists = pc.split_pattern_regex(self.array, LINE_BREAKS)
            trailing = _mask(pc.match_substring_regex(self.array, f"(?:{LINE_BREAKS})$"))
        else:
            lists, trailing = self._newline_split, _mask(pc.ends_with(self.array, "\n"))
        counts = pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int64)
        ends = np.cumsum(counts)
        trailing |= self.char_len == 0
        keep = np.ones(int(ends[-1]) if len(ends) else 0, dtype=bool)
        keep[ends[trailing] - 1] = False
        return Segments.from_list_array(lists, keep)

    @cached_property
    def _newline_split(self) -> pa.Array:
        return pc.split_pattern(self.array, "\n")

    @cached_property
    def newline_lines(self) -> Segments:
        """Non-blank pieces of text.split("\\n"): FineWeb's lines."""
        lists = self._newline_split
        blank = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(pc.list_flatten(lists))), 0)
        return Segments.from_list_array(lists, ~_mask(blank))

    @cached_property
    def runs_of_lines(self) -> Segments:
        """re.split("\\n+"): Gopher repetition's lines = the "\\n" split without its empty pieces,
        except a text's first and last (a leading or trailing run of breaks leaves one there)."""
        lists = self._newline_split
        counts = pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int64)
        keep = _mask(pc.greater(pc.binary_length(pc.list_flatten(lists)), 0))
        ends = np.cumsum(counts)
        keep[ends[counts > 0] - 1] = True
        keep[(ends - counts)[counts > 0]] = True
        return Segments.from_list_array(lists, keep)

    @cached_property
    def paragraphs(self) -> Segments:
        """re.split("\\n{2,}") of the stripped text: Gopher repetition's paragraphs."""
        stripped = pc.utf8_trim_whitespace(self.array)
        return Segments.from_list_array(pc.split_pattern_regex(stripped, r"\n{2,}"))

    def count(self, needle: str) -> np.ndarray:
        return np.fromiter((t.count(needle) for t in self.texts), dtype=np.int64, count=self.n)


# str.splitlines() boundaries, as RE2 (and those other than "\n")
LINE_BREAKS = r"\r\n|[\n\r\x{0b}\x{0c}\x{1c}\x{1d}\x{1e}\x{85}\x{2028}\x{2029}]"
OTHER_LINE_BREAKS = r"[\r\x{0b}\x{0c}\x{1c}\x{1d}\x{1e}\x{85}\x{2028}\x{2029}]"


def _mask(array) -> np.ndarray:
    return np.asarray(array.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
