"""Words and segments of text: one splitter per script family, the same for every stage.

Two units, and which stage uses which:

- **segments** (`split`, `count`, `spans`): the unit a stage counts lengths and n-grams in when it
  does not need linguistic words. A segment is either one character of an unspaced script (Han,
  kana, Thai: the scripts that do not put spaces between words) or a maximal run of word
  characters (letters, marks, digits: a word of a spaced script, "Python3" in a Chinese
  sentence); punctuation, symbols and spaces separate segments and are none themselves. With
  `whole_words=True`, only spaces (and unspaced characters) separate, and a run holding at least
  one letter or digit is one segment with its punctuation: the words str.split() gives for English
  ("don't", "a.b()"), runs of punctuation alone ("|", "—") left out. The family is decided per
  character, not per document language, so a mixed Chinese/English page counts each part in its
  own unit and no language id is needed. Vectorised over an Arrow batch (numpy on the UTF-8
  bytes). Used by: dedup shingles (filters/dedup/normalize.py maps punctuation to spaces, then its
  words are the segments; it takes its unspaced ranges from here), decontamination n-grams
  (segments), the crawler's page word counts (whole words, the unit its thresholds were set in).
- **words** (`words`, `spaced`): linguistic words, for rules whose published thresholds were set
  on them (FineWeb-2's per-language Gopher/C4 settings count cmn_Hani words with spaCy's Chinese
  tokenizer in its jieba mode, i.e. jieba's default cut). Chinese (`zh`): jieba, dictionary + HMM;
  every other language: the segments. jieba is ~80x slower than segments (one core, the 100 real
  Chinese CCNet documents of ../shared/data/zh: segments 17M characters/s, jieba 0.21M), so it is
  used only there.

On the same documents a Chinese word is 1.8 segments (Han characters per jieba word of Han
characters: 1.85; all segments per non-punctuation jieba word: 1.80), so a threshold stated in
words is ~1.8x as many segments for Chinese text: `SEGMENTS_PER_WORD`.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Scripts written without spaces between words: every character is a segment of its own.
# Thai, kana (hiragana + katakana), CJK extension A, CJK unified ideographs, CJK compatibility
# ideographs, and the supplementary ideographic planes (extensions B and later).
UNSPACED_RANGES = ((0x0E00, 0x0E80), (0x3040, 0x3100), (0x3400, 0x4DC0), (0x4E00, 0xA000),
                   (0xF900, 0xFB00), (0x20000, 0x40000))
UNSPACED_LANGUAGES = frozenset({"zh", "ja", "th", "wuu", "yue", "gan", "lzh"})  # lid.176 codes
SEGMENTS_PER_WORD = {"zh": 1.8}  # measured: segments per jieba word, real Chinese CCNet text

SPACE, PUNCT, WORD, UNSPACED = 0, 1, 2, 3  # character classes


def family(language: str | None) -> str:
    """`unspaced` for languages written without spaces between words (zh, ja, th), else `spaced`."""
    return "unspaced" if (language or "").lower().split("-")[0] in UNSPACED_LANGUAGES else "spaced"


def _char_class(code: int) -> int:
    char = chr(code)
    if char.isspace():
        return SPACE
    if unicodedata.category(char)[0] not in "LMN":
        return PUNCT
    return UNSPACED if any(lo <= code < hi for lo, hi in UNSPACED_RANGES) else WORD


@lru_cache(maxsize=1)
def char_classes() -> np.ndarray:
    """Class (SPACE, PUNCT, WORD, UNSPACED) of every code point of the Basic Multilingual Plane."""
    return np.array([_char_class(c) for c in range(0x10000)], dtype=np.uint8)


@lru_cache(maxsize=1)
def unspaced_table() -> np.ndarray:
    """True for BMP code points of an unspaced script (higher planes: `is_unspaced`)."""
    table = np.zeros(0x10000, dtype=bool)
    for lo, hi in UNSPACED_RANGES:
        table[lo:min(hi, 0x10000)] = True
    return table


def is_unspaced(code: np.ndarray) -> np.ndarray:
    """Per code point (uint32): is it a character of an unspaced script."""
    bmp = code < 0x10000
    return np.where(bmp, unspaced_table()[np.where(bmp, code, 0)], (code >= 0x20000) & (code < 0x40000))


def utf8_buffers(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Views of a string array's offsets (int64, from 0) and data bytes."""
    strings = strings.cast(pa.large_string())
    _, offset_buf, data_buf = strings.buffers()
    offsets = np.frombuffer(offset_buf, dtype=np.int64)[strings.offset : strings.offset + len(strings) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    return offsets - offsets[0], data[offsets[0] : offsets[-1]]


def decode_utf8(data: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(code points, text offsets in code points, byte offset of each code point) of valid UTF-8
    bytes (Arrow guarantees validity)."""
    if len(data) == 0 or data.max() < 0x80:
        return data.astype(np.uint32), offsets, np.arange(len(data), dtype=np.int64)
    starts = np.flatnonzero((data & 0xC0) != 0x80)  # first byte of every character
    code = data[starts].astype(np.uint32)
    multi = np.flatnonzero(code >= 0x80)
    first = code[multi]
    length = 2 + (first >= 0xE0).astype(np.int64) + (first >= 0xF0)
    value = first & np.where(length == 2, 0x1F, np.where(length == 3, 0x0F, 0x07)).astype(np.uint32)
    last = len(data) - 1
    for k in (1, 2, 3):
        follow = data[np.minimum(starts[multi] + k, last)].astype(np.uint32) & 0x3F
        value = np.where(length > k, (value << 6) | follow, value)
    code[multi] = value
    return code, np.searchsorted(starts, offsets).astype(np.int64), starts.astype(np.int64)


def _strings(texts) -> pa.Array:
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    elif not isinstance(texts, pa.Array):
        texts = pa.array(list(texts), pa.string())
    return pc.fill_null(texts.cast(pa.string()), "")


def classes(code: np.ndarray) -> np.ndarray:
    """Class of each code point: SPACE, PUNCT, WORD or UNSPACED."""
    bmp = code < 0x10000
    if bmp.all():
        return char_classes()[code]
    out = char_classes()[np.where(bmp, code, 0)]
    high = ~bmp
    out[high] = np.where((code[high] >= 0x20000) & (code[high] < 0x40000), UNSPACED,
                         np.where((code[high] >= 0x1F000) & (code[high] < 0x1FB00), PUNCT, WORD))
    return out


@dataclass
class Spans:
    """The segments of a batch of texts: owning text, and [start, end) in code points and bytes."""

    doc: np.ndarray         # int64
    start: np.ndarray       # code point offsets within the batch
    end: np.ndarray
    byte_start: np.ndarray  # byte offsets within the batch's UTF-8 data
    byte_end: np.ndarray
    unspaced: np.ndarray    # bool: an unspaced-script character (else a run)
    n_docs: int

    def counts(self) -> np.ndarray:
        return np.bincount(self.doc, minlength=self.n_docs).astype(np.int64)


def spans(texts, whole_words: bool = False) -> Spans:
    """Every segment of every text (see the module docstring), in text order."""
    strings = _strings(texts)
    offsets, data = utf8_buffers(strings)
    code, offsets, byte_of = decode_utf8(data, offsets)
    cls = classes(code)
    first = np.zeros(len(code) + 1, dtype=bool)
    first[offsets] = True                                        # texts never share a segment
    alone = cls == UNSPACED
    in_run = (cls == WORD) | (cls == PUNCT) if whole_words else cls == WORD
    run_start = in_run & ~(np.concatenate([[False], in_run[:-1]]) & ~first[:-1])
    run_end = in_run & ~(np.concatenate([in_run[1:], [False]]) & ~first[1:])
    starts, ends = np.flatnonzero(run_start), np.flatnonzero(run_end) + 1
    if whole_words:
        letters = np.concatenate([[0], np.cumsum(cls == WORD)])
        word_run = letters[ends] > letters[starts]               # holds a letter, mark or digit
        starts, ends = starts[word_run], ends[word_run]
    single = np.flatnonzero(alone)
    order = np.argsort(np.concatenate([starts, single]), kind="stable")
    is_alone = np.concatenate([np.zeros(len(starts), bool), np.ones(len(single), bool)])[order]
    starts = np.concatenate([starts, single])[order]
    ends = np.concatenate([ends, single + 1])[order]
    byte_of = np.append(byte_of, len(data))
    doc = np.searchsorted(offsets, starts, side="right") - 1
    return Spans(doc.astype(np.int64), starts, ends, byte_of[starts], byte_of[ends], is_alone, len(strings))


def count(texts, whole_words: bool = False) -> np.ndarray:
    """Segments per text (int64); a null text has 0."""
    return spans(texts, whole_words).counts()


_ASCII_RUN = re.compile(r"[A-Za-z0-9]+")
_TOKEN_WITHOUT_ASCII_ALNUM = re.compile(r"(?<!\S)[^\sA-Za-z0-9]+(?!\S)")
_UNSPACED_CHAR = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi - 1)}" for lo, hi in UNSPACED_RANGES) + "]")


@lru_cache(maxsize=4096)
def _has_word_char(token: str) -> bool:
    return not token.isascii() and any(_char_class(ord(char)) == WORD for char in token)


def count_one(text: str, whole_words: bool = False) -> int:
    """`count([text])[0]` for one text, without the batch set-up (~3 ms a page for the crawler).
    Whole words of a text without unspaced-script characters are its str.split() tokens holding a
    letter, mark or digit: all tokens, less those (found by one regular expression) with no ASCII
    letter or digit and no other letter, mark or digit ("|", "¶", "—"). Segments of an ASCII text
    are its runs of ASCII letters and digits. Any other text goes through `count`."""
    if whole_words and not _UNSPACED_CHAR.search(text):
        no_word = sum(not _has_word_char(token) for token in _TOKEN_WITHOUT_ASCII_ALNUM.findall(text))
        return len(text.split()) - no_word
    if not whole_words and text.isascii():
        return len(_ASCII_RUN.findall(text))
    return int(count([text], whole_words)[0])


def split(text: str, whole_words: bool = False) -> list[str]:
    """The segments of one text: `split("用Python写代码。a-b") == ["用", "Python", "写", "代", "码", "a", "b"]`;
    with whole_words=True the last one is "。a-b"."""
    found = spans([text], whole_words)
    raw = text.encode("utf-8")
    return [raw[s:e].decode("utf-8") for s, e in zip(found.byte_start.tolist(), found.byte_end.tolist(), strict=True)]


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()  # loads its dictionary once per process (~0.7 s)
    return jieba


def words(text: str, language: str | None) -> list[str]:
    """Linguistic words: jieba's default cut (dictionary + HMM) for Chinese, else the segments.
    Spaces are not words; punctuation stays (as spaCy's tokenizer keeps it, which FineWeb-2 used)."""
    if (language or "").lower().split("-")[0] == "zh":
        return [w for w in _jieba().cut(text) if w.strip()]
    return split(text)


def spaced(text: str, language: str | None) -> str:
    """The text with its Chinese words separated by single spaces, line by line (line breaks kept),
    so whitespace-based word rules see jieba's words; other languages are returned unchanged."""
    if (language or "").lower().split("-")[0] != "zh":
        return text
    cut = _jieba().cut
    return "\n".join(" ".join(w for w in cut(line) if w.strip()) for line in text.split("\n"))
