"""Words of a batch of texts, hashed on the UTF-8 bytes with numpy (no Python per word or byte).

A word is a run of ASCII letters, digits, "_" or non-ASCII letters, lower-cased, with every run of
digits hashed like a single "0" (so a copy with changed numbers still matches). Chinese and
Japanese are written without spaces: every CJK ideograph or kana is a word of its own (n-grams of
them are character n-grams), and CJK / general / Latin-1 punctuation separates words like ASCII
punctuation does. Full-width digits are digits.

(Issue 20's shared splitter `filters/segment.py` was not on main when this was written; this module
segments CJK by characters itself.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

PRIME = np.uint64(1099511628211)
PRIME_INV = np.uint64(pow(1099511628211, -1, 2**64))
MIN_WORD_LETTERS = 2  # a word with fewer letters carries little evidence of copying

# Code point ranges of 3-byte UTF-8 characters (U+0800..U+FFFF), inclusive.
CJK_RANGES = ((0x3040, 0x30FF), (0x31F0, 0x31FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
              (0xF900, 0xFAFF))  # kana, CJK ext A, unified ideographs, compatibility ideographs
PUNCT_RANGES = ((0x2000, 0x206F), (0x3000, 0x303F), (0xFE30, 0xFE4F), (0xFF00, 0xFF0F),
                (0xFF1A, 0xFF20), (0xFF3B, 0xFF40), (0xFF5B, 0xFF65))  # general, CJK, full-width
FULLWIDTH_DIGITS = (0xFF10, 0xFF19)


@dataclass
class Words:
    """The words of a batch of texts: a hash per word, its text index and byte span."""

    hashes: np.ndarray   # uint64
    doc: np.ndarray      # int64, index of the text each word is in
    start: np.ndarray    # byte offsets into `data` (lower-cased UTF-8 of all texts)
    end: np.ndarray
    data: np.ndarray     # uint8

    def text(self, first: int, last: int) -> str:
        """The lower-cased source text from word `first` to word `last` (inclusive)."""
        return self.data[self.start[first]:self.end[last]].tobytes().decode("utf-8", "replace")

    def letters(self) -> np.ndarray:
        """How many letters (ASCII letters or non-ASCII bytes) each word has."""
        data = self.data
        is_letter = ((data >= ord("a")) & (data <= ord("z"))) | (data >= 0x80)
        cumulative = np.concatenate([[0], np.cumsum(is_letter, dtype=np.int64)])
        return cumulative[self.end] - cumulative[self.start]


def _byte_values() -> np.ndarray:
    """Byte → hash value: 0 for separators, "0"+1 for every digit, byte+1 for other word bytes."""
    values = np.zeros(256, np.uint64)
    for lo, hi in ((ord("a"), ord("z")), (ord("A"), ord("Z")), (0x80, 0xFF)):
        values[lo:hi + 1] = np.arange(lo, hi + 1, dtype=np.uint64) + np.uint64(1)
    values[ord("_")] = ord("_") + 1
    values[ord("0"):ord("9") + 1] = ord("0") + 1
    return values


BYTE_VALUE = _byte_values()
DIGIT_VALUE = np.uint64(ord("0") + 1)
IS_DIGIT = np.zeros(256, bool)
IS_DIGIT[ord("0"):ord("9") + 1] = True


def _in_ranges(cp: np.ndarray, ranges) -> np.ndarray:
    hit = np.zeros(len(cp), bool)
    for lo, hi in ranges:
        hit |= (cp >= lo) & (cp <= hi)
    return hit


def _classify_multibyte(data: np.ndarray, values: np.ndarray, digit: np.ndarray,
                        boundary: np.ndarray) -> None:
    """CJK characters become one-character words; wide punctuation separates; wide digits are digits."""
    n = len(data)
    latin1 = np.flatnonzero(data[:-1] == 0xC2) if n > 1 else np.zeros(0, np.int64)  # U+0080..U+00BF
    values[latin1] = 0
    values[latin1 + 1] = 0
    lead = np.flatnonzero((data >= 0xE0) & (data < 0xF0))
    lead = lead[lead + 2 < n]
    if len(lead):
        cp = ((data[lead].astype(np.int64) & 0x0F) << 12) | ((data[lead + 1].astype(np.int64) & 0x3F) << 6) \
            | (data[lead + 2].astype(np.int64) & 0x3F)
        punct = lead[_in_ranges(cp, PUNCT_RANGES)]
        for k in range(3):
            values[punct + k] = 0
        wide_digit = lead[_in_ranges(cp, (FULLWIDTH_DIGITS,))]
        for k in range(3):
            values[wide_digit + k] = DIGIT_VALUE
            digit[wide_digit + k] = True
        cjk = lead[_in_ranges(cp, CJK_RANGES)]
        boundary[cjk] = True
        boundary[cjk + 3] = True
    ext = np.flatnonzero(data == 0xF0)  # 4-byte: CJK extensions B.. (U+20000..U+3FFFF) are characters
    ext = ext[(ext + 3 < n)]
    ext = ext[(data[ext + 1] >= 0xA0) & (data[ext + 1] <= 0xBF)]
    boundary[ext] = True
    boundary[ext + 4] = True


def split_words(texts: pa.Array) -> Words:
    """Lower-case, cut at punctuation/space and around CJK characters, mask digit runs, hash words."""
    lowered = pc.utf8_lower(contiguous(texts).fill_null("")).cast(pa.large_string())
    offsets = np.frombuffer(lowered.buffers()[1], np.int64)[lowered.offset:lowered.offset + len(lowered) + 1]
    data = (np.frombuffer(lowered.buffers()[2], np.uint8)[offsets[0]:offsets[-1]] if offsets[-1]
            else np.zeros(0, np.uint8))
    offsets = offsets - offsets[0]
    values = BYTE_VALUE[data]
    digit = IS_DIGIT[data]
    boundary = np.zeros(len(data) + 1, bool)
    boundary[offsets] = True                                          # texts never share a word
    if len(data) and data.max() >= 0xC2:
        _classify_multibyte(data, values, digit, boundary)
    is_word = values != 0
    after_word = np.concatenate([[False], is_word]) & ~boundary       # byte i-1 is in i's word
    starts = np.flatnonzero(is_word & ~after_word[:-1])
    next_in_word = np.concatenate([is_word[1:], [False]]) & ~boundary[1:]
    ends = np.flatnonzero(is_word & ~next_in_word) + 1
    keep = is_word & ~(digit & np.concatenate([[False], digit[:-1]]) & after_word[:-1])
    kept = values[keep]
    rank = np.concatenate([[0], np.cumsum(keep)])                     # kept bytes before i
    with np.errstate(over="ignore"):
        inverse = np.cumprod(np.full(len(kept) + 1, PRIME_INV, np.uint64))
        powers = np.cumprod(np.full(len(kept) + 1, PRIME, np.uint64))
        prefix = np.concatenate([[np.uint64(0)], np.cumsum(kept * inverse[:len(kept)], dtype=np.uint64)])
        first, last = rank[starts], rank[ends]
        hashes = (prefix[last] - prefix[first]) * powers[last - 1]
    doc = np.searchsorted(offsets, starts, side="right") - 1
    return Words(hashes, doc.astype(np.int64), starts, ends, data)


def rolling_hashes(ids: np.ndarray, n: int) -> np.ndarray:
    """Hash of every window of n consecutive ids (len(ids) - n + 1 values), for small inputs."""
    h = np.zeros(len(ids) - n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * PRIME + ids[k:len(ids) - n + 1 + k].astype(np.uint64) + np.uint64(1)
    return h


class WindowHasher:
    """All window hashes of one id sequence in O(1) numpy passes per window length.

    prefix[j] = sum_{i<j} (id_i + 1) * P^-(i+1) (mod 2^64): P is odd, hence invertible modulo
    2^64, so a window's position is removed by one multiplication. Equal to `rolling_hashes`.
    """

    def __init__(self, ids: np.ndarray):
        length = len(ids)
        with np.errstate(over="ignore"):
            powers = np.cumprod(np.full(length + 1, PRIME, dtype=np.uint64))  # P^1 .. P^(L+1)
            inverse = np.cumprod(np.full(length + 1, PRIME_INV, dtype=np.uint64))
            values = (ids.astype(np.uint64) + np.uint64(1)) * inverse[:length]  # v_i * P^-(i+1)
            self.prefix = np.concatenate([[np.uint64(0)], np.cumsum(values, dtype=np.uint64)])
            self.powers = np.concatenate([[np.uint64(1)], powers])

    def hashes(self, starts: np.ndarray, n: int) -> np.ndarray:
        """sum_k v_(s+k) P^(n-1-k) = (prefix[s+n] - prefix[s]) * P^(s+n)."""
        with np.errstate(over="ignore"):
            return (self.prefix[starts + n] - self.prefix[starts]) * self.powers[starts + n]


def informative_windows(letters: np.ndarray, n: int) -> np.ndarray:
    """Windows of n words of which at least a quarter have 2+ letters.

    Benchmark n-grams made of single letters, numbers or operators ("a | b | c …", "1, 3, 5, 7 …")
    also occur in ordinary documentation and tables; matching them flags clean pages.
    """
    long_words = (letters >= MIN_WORD_LETTERS).astype(np.int64)
    return np.convolve(long_words, np.ones(n, np.int64), "valid") * 4 >= n


def contiguous(values):
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
