"""Word n-gram repetition signals (RedPajama-v2's, as OpenCoder uses them) in one compiled pass.

    top_n   (n = 2, 3, 4): characters of the most frequent n-gram × its count / all word characters
                           (0 when no n-gram repeats; ties go to the n-gram seen first)
    dupe_n  (n = 5 … 10): characters of words covered by any n-gram that occurs twice or more /
                           all word characters (overlapping n-grams counted once)

Words come in as ids (equal words, equal ids) with their lengths; an n-gram is keyed by a 64-bit
polynomial hash of its ids (collisions are negligible for files of at most a few million words).
"""

from __future__ import annotations

import numba
import numpy as np

TOP = (2, 3, 4)
DUPE = (5, 6, 7, 8, 9, 10)


@numba.njit(cache=True)
def _gram_keys(ids: np.ndarray, n: int) -> np.ndarray:
    count = len(ids) - n + 1
    keys = np.empty(max(count, 0), dtype=np.uint64)
    for i in range(count):
        h = np.uint64(1469598103934665603)
        for j in range(n):
            h = (h ^ np.uint64(ids[i + j] + 1)) * np.uint64(1099511628211)
            h ^= h >> np.uint64(29)
        keys[i] = h
    return keys


@numba.njit(cache=True)
def _slots(keys: np.ndarray, table_keys: np.ndarray, counts: np.ndarray, first: np.ndarray,
           slot_of: np.ndarray) -> int:
    """Count equal keys in an open-addressing table (size a power of two > 2 × len(keys)):
    slot_of[i] = the slot of keys[i]; counts/first per slot. Returns the mask of the table."""
    mask = 1
    while mask < 2 * len(keys):
        mask <<= 1
    mask -= 1
    counts[:mask + 1] = 0
    for i in range(len(keys)):
        key = keys[i]
        slot = np.int64(key & np.uint64(mask))
        while counts[slot] and table_keys[slot] != key:
            slot = (slot + 1) & mask
        if counts[slot] == 0:
            table_keys[slot] = key
            first[slot] = i
        counts[slot] += 1
        slot_of[i] = slot
    return mask


@numba.njit(cache=True)
def repetition_signals(ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """[top_2, top_3, top_4, dupe_5, …, dupe_10] of one document's words (one hash table pass per n)."""
    out = np.zeros(9, dtype=np.float64)
    total = lengths.sum()
    if total == 0 or len(ids) < 2:
        return out
    size = 1
    while size < 2 * len(ids):
        size <<= 1
    table_keys = np.empty(size, dtype=np.uint64)
    counts = np.zeros(size, dtype=np.int64)
    first = np.empty(size, dtype=np.int64)
    slot_of = np.empty(len(ids), dtype=np.int64)
    for k in range(9):
        n = k + 2
        keys = _gram_keys(ids, n)
        if len(keys) < 2:
            continue
        _slots(keys, table_keys, counts, first, slot_of)
        if k < 3:  # top n-gram: the most frequent, ties to the one seen first
            best_count, best_at = 0, 0
            for i in range(len(keys)):
                c = counts[slot_of[i]]
                if c > best_count:  # positions in order: the first of a tie wins
                    best_count, best_at = c, first[slot_of[i]]
            if best_count > 1:
                out[k] = lengths[best_at:best_at + n].sum() * best_count / total
        else:  # words covered by repeated n-grams, each word once
            covered, until = 0, 0
            for i in range(len(keys)):
                if counts[slot_of[i]] > 1:
                    for j in range(max(i, until), i + n):
                        covered += lengths[j]
                    until = i + n
            out[k] = covered / total
    return out


def word_ids(words: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(ids, lengths) of a word list: equal words get equal ids (their str hashes: a collision of
    two different words is as unlikely as one of the 64-bit n-gram keys)."""
    ids = np.fromiter(map(hash, words), dtype=np.int64, count=len(words))  # equal within a process
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    return ids, lengths
