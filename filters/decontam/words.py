"""Words of a batch of texts, hashed on the UTF-8 bytes with numpy (no Python per word or byte).

The words are the shared splitter's segments (filters/segment.py): a run of letters, marks and
digits, or one character of a script written without spaces (Han, kana, Thai), so Chinese text is
n-grammed by characters; punctuation, symbols and spaces separate. Words are lower-cased, and a
run of digits (ASCII or full-width) hashes like a single "0", so a copy with changed numbers
still matches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filters import segment

PRIME = np.uint64(1099511628211)
PRIME_INV = np.uint64(pow(1099511628211, -1, 2**64))
MIN_WORD_LETTERS = 2  # a word with fewer letters carries little evidence of copying
DIGIT_VALUE = np.uint64(ord("0") + 1)


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


def _digits(data: np.ndarray) -> np.ndarray:
    """Per byte: part of a digit (ASCII 0-9, or the 3 bytes of a full-width digit U+FF10..U+FF19)."""
    digit = (data >= ord("0")) & (data <= ord("9"))
    if len(data) >= 3 and data.max() >= 0xEF:
        lead = np.flatnonzero((data[:-2] == 0xEF) & (data[1:-1] == 0xBC) & (data[2:] >= 0x90) & (data[2:] <= 0x99))
        for k in range(3):
            digit[lead + k] = True
    return digit


def split_words(texts: pa.Array) -> Words:
    """Lower-case, cut into segments, mask digit runs, hash each word (all numpy)."""
    lowered = pc.utf8_lower(contiguous(texts).fill_null("")).cast(pa.large_string())
    found = segment.spans(lowered)
    _, data = segment.utf8_buffers(lowered)
    starts, ends = found.byte_start, found.byte_end
    n = len(data)
    opened = np.zeros(n + 1, np.int8)                      # words never overlap: starts and ends
    closed = np.zeros(n + 1, np.int8)                      # are each unique
    opened[starts] = 1
    closed[ends] = 1
    in_word = np.cumsum(opened[:-1] - closed[:-1], dtype=np.int64) > 0
    first_byte = np.zeros(n + 1, bool)
    first_byte[starts] = True
    digit = _digits(data)
    repeated_digit = digit & np.concatenate([[False], digit[:-1]]) & ~first_byte[:-1]
    keep = in_word & ~repeated_digit
    values = np.where(digit, DIGIT_VALUE, data.astype(np.uint64) + np.uint64(1))[keep]
    rank = np.concatenate([[0], np.cumsum(keep)])          # kept bytes before i
    with np.errstate(over="ignore"):
        inverse = np.cumprod(np.full(len(values) + 1, PRIME_INV, np.uint64))
        powers = np.cumprod(np.full(len(values) + 1, PRIME, np.uint64))
        prefix = np.concatenate([[np.uint64(0)], np.cumsum(values * inverse[:len(values)], dtype=np.uint64)])
        first, last = rank[starts], rank[ends]
        hashes = (prefix[last] - prefix[first]) * powers[np.maximum(last - 1, 0)]
    return Words(hashes, found.doc, starts, ends, data)


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
