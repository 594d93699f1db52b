"""The signature hot path in one compiled pass per document (numba).

The numpy path in minhash.py and normalize.py builds a dozen corpus-sized temporary arrays (code
points, masks, prefix sums, shingle keys) and walks them once per step. This kernel decodes UTF-8,
normalises, hashes words and shingles and takes the MinHash minima in one pass over each
document, keeping only one document's word hashes at a time. It computes exactly the same values
(same normalisation table, same polynomial hashes mod 2^64, same permutations): a test compares
both paths on real multilingual text.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from filters.dedup.normalize import DROP, SPACE

_BYTE_BASE = np.uint64(0x100000001B3)
_WORD_BASE = np.uint64(0x9E3779B97F4A7C15)
_EMPTY = np.uint32(0xFFFFFFFF)
_LOW32 = np.uint64(0xFFFFFFFF)


@njit(cache=True, inline="always")
def _fmix64(h: np.uint64) -> np.uint64:
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


@njit(cache=True, inline="always")
def _decode(data: np.ndarray, i: int) -> tuple[int, int]:
    """(code point, bytes used) of the valid UTF-8 character starting at data[i]."""
    first = np.uint32(data[i])
    if first < 0x80:
        return first, 1
    if first < 0xE0:
        return ((first & 0x1F) << 6) | (np.uint32(data[i + 1]) & 0x3F), 2
    if first < 0xF0:
        return ((first & 0x0F) << 12) | ((np.uint32(data[i + 1]) & 0x3F) << 6) \
            | (np.uint32(data[i + 2]) & 0x3F), 3
    return ((first & 0x07) << 18) | ((np.uint32(data[i + 1]) & 0x3F) << 12) \
        | ((np.uint32(data[i + 2]) & 0x3F) << 6) | (np.uint32(data[i + 3]) & 0x3F), 4


@njit(cache=True, inline="always")
def _normalised(code: int, mapping: np.ndarray, unspaced: np.ndarray) -> tuple[int, bool]:
    """normalize.normalized_codepoints for one code point (before the digit-run rule)."""
    if code < 0x10000:
        return mapping[code], unspaced[code]
    if 0x1F000 <= code < 0x1FB00:  # emoji and pictographs
        return SPACE, False
    return code, 0x20000 <= code < 0x40000


@njit(cache=True)
def _word_hashes(data: np.ndarray, start: int, end: int, mapping: np.ndarray, unspaced: np.ndarray,
                 out: np.ndarray) -> int:
    """Hashes of the words of one document's UTF-8 bytes into `out`; returns the word count."""
    words = 0
    h = np.uint64(0)
    power = np.uint64(1)
    length = 0
    previous_digit = False
    i = start
    while i < end:
        code, used = _decode(data, i)
        i += used
        mapped, alone = _normalised(code, mapping, unspaced)
        digit = 0x30 <= mapped <= 0x39
        drop = mapped == DROP or (digit and previous_digit)
        previous_digit = digit
        if drop:
            continue
        if digit:
            mapped = 0x30
        if mapped == SPACE or alone:
            if length:
                out[words] = _fmix64(h + np.uint64(length) * _WORD_BASE)
                words += 1
                h, power, length = np.uint64(0), np.uint64(1), 0
            if mapped == SPACE:
                continue
            out[words] = _fmix64(np.uint64(mapped) + _WORD_BASE)  # an unspaced character: one word
            words += 1
            continue
        h += np.uint64(mapped) * power
        power *= _BYTE_BASE
        length += 1
    if length:
        out[words] = _fmix64(h + np.uint64(length) * _WORD_BASE)
        words += 1
    return words


@njit(cache=True, inline="always")
def _sequence_hash(values: np.ndarray, start: int, end: int, base: np.uint64) -> np.uint64:
    h = np.uint64(0)
    power = np.uint64(1)
    for k in range(start, end):
        h += values[k] * power
        power *= base
    return _fmix64(h + np.uint64(end - start) * _WORD_BASE)


@njit(cache=True)
def hash_documents(data: np.ndarray, offsets: np.ndarray, mapping: np.ndarray, unspaced: np.ndarray,
                   ngram: int, a: np.ndarray, b: np.ndarray,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(signatures n×P uint32, shingle counts, exact hashes n×2) of the documents whose UTF-8
    bytes are data[offsets[d]:offsets[d+1]]."""
    n = offsets.size - 1
    perms = a.size
    signatures = np.full((n, perms), _EMPTY, dtype=np.uint32)
    counts = np.zeros(n, dtype=np.int64)
    exact = np.zeros((n, 2), dtype=np.uint64)
    longest = 0
    for d in range(n):
        longest = max(longest, offsets[d + 1] - offsets[d])
    words = np.empty(longest + 1, dtype=np.uint64)
    for d in range(n):
        count = _word_hashes(data, offsets[d], offsets[d + 1], mapping, unspaced, words)
        exact[d, 0] = _sequence_hash(words, 0, count, _WORD_BASE)
        exact[d, 1] = _sequence_hash(words, 0, count, _BYTE_BASE)
        if count == 0:
            continue
        shingles = count - ngram + 1 if count >= ngram else 1
        width = ngram if count >= ngram else count
        counts[d] = shingles
        row = signatures[d]
        for s in range(shingles):
            key = _sequence_hash(words, s, s + width, _WORD_BASE) >> np.uint64(32)
            for p in range(perms):  # a·key + b mod 2^32 (numba widens uint32 arithmetic: mask it)
                value = (key * np.uint64(a[p]) + np.uint64(b[p])) & _LOW32
                if value < row[p]:
                    row[p] = value
    return signatures, counts, exact


@njit(cache=True)
def _shingle_set(data: np.ndarray, start: int, end: int, mapping: np.ndarray, unspaced: np.ndarray,
                 ngram: int, words: np.ndarray) -> np.ndarray:
    """The sorted distinct 64-bit shingle hashes of one document's UTF-8 bytes."""
    count = _word_hashes(data, start, end, mapping, unspaced, words)
    if count == 0:
        return np.zeros(0, dtype=np.uint64)
    width = ngram if count >= ngram else count
    shingles = np.empty(count - width + 1, dtype=np.uint64)
    for s in range(shingles.size):
        shingles[s] = _sequence_hash(words, s, s + width, _WORD_BASE)
    shingles.sort()
    distinct = 1
    for s in range(1, shingles.size):
        if shingles[s] != shingles[distinct - 1]:
            shingles[distinct] = shingles[s]
            distinct += 1
    return shingles[:distinct]


@njit(cache=True)
def pair_jaccards(data: np.ndarray, offsets: np.ndarray, left: np.ndarray, right: np.ndarray,
                  mapping: np.ndarray, unspaced: np.ndarray, ngram: int) -> np.ndarray:
    """True shingle-set Jaccard of documents left[i] and right[i] (1.0 when both have none)."""
    longest = 0
    for d in range(offsets.size - 1):
        longest = max(longest, offsets[d + 1] - offsets[d])
    words = np.empty(longest + 1, dtype=np.uint64)
    out = np.empty(left.size, dtype=np.float64)
    for i in range(left.size):
        a = _shingle_set(data, offsets[left[i]], offsets[left[i] + 1], mapping, unspaced, ngram, words)
        b = _shingle_set(data, offsets[right[i]], offsets[right[i] + 1], mapping, unspaced, ngram, words)
        shared, j, k = 0, 0, 0
        while j < a.size and k < b.size:
            if a[j] == b[k]:
                shared += 1
                j += 1
                k += 1
            elif a[j] < b[k]:
                j += 1
            else:
                k += 1
        union = a.size + b.size - shared
        out[i] = shared / union if union else 1.0
    return out
