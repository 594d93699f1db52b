"""MinHash signatures over word n-grams, computed on whole batches with numpy (no Python loop per
word or shingle).

    normalised text bytes → word hashes (polynomial hash via prefix sums over the byte buffer)
      → n-gram shingle hashes (polynomial over word hashes) → 32-bit shingle keys
      → per permutation: a·x + b (mod 2^32), min per document (np.minimum.reduceat)

Word and shingle hashes are 64-bit and finished with murmur3's fmix64, so the shingle keys are
uniform; a permutation is then the linear map x ↦ a·x + b mod 2^32 with odd a, whose minimum is
decided by the high bits, which depend on every bit of x. Signatures are uint32.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filters.dedup.hash_kernels import hash_documents, pair_jaccards
from filters.dedup.normalize import SPACE, normalized_codepoints, tables, utf8_buffers

U64 = np.uint64
EMPTY = np.uint32(0xFFFFFFFF)  # signature value of a document with no words
_BYTE_BASE = 0x100000001B3  # odd multipliers (FNV-64 prime, golden ratio) of the polynomial hashes
_WORD_BASE = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1


@dataclass(frozen=True)
class MinhashParams:
    ngram: int = 5
    bands: int = 14
    rows: int = 8
    seed: int = 1
    extra_perm: int = 0  # signature values beyond bands × rows: they only sharpen the verification
    tokens: str = "words"  # "code": punctuation and operators are tokens too (normalize.tables)

    @property
    def num_perm(self) -> int:
        return self.bands * self.rows + self.extra_perm

    @property
    def implied_threshold(self) -> float:
        """Jaccard where the LSH S-curve is steepest: (1/b)^(1/r)."""
        return (1.0 / self.bands) ** (1.0 / self.rows)

    def candidate_probability(self, jaccard: float) -> float:
        """Probability that two documents at this Jaccard share at least one band."""
        return 1.0 - (1.0 - jaccard**self.rows) ** self.bands


def bands_for_threshold(threshold: float, max_perm: int, min_recall: float = 0.95) -> tuple[int, int]:
    """The (bands, rows) with bands·rows ≤ max_perm that make a pair at `threshold` a candidate with
    probability ≥ min_recall while letting through the fewest dissimilar pairs (area under the
    S-curve below threshold − 0.1). Verification removes what slips through; recall cannot be
    recovered later, hence the constraint."""
    grid = np.linspace(0.0, max(threshold - 0.1, 0.0), 200)
    best: tuple[float, int, int, int] | None = None  # (false area, num_perm, bands, rows)
    for rows in range(1, max_perm + 1):
        bands = next((b for b in range(1, max_perm // rows + 1)
                      if 1.0 - (1.0 - threshold**rows) ** b >= min_recall), None)
        if bands is None:  # more bands at the same rows would only add false candidates
            continue
        false_area = round(float(np.mean(1.0 - (1.0 - grid**rows) ** bands)), 6)
        candidate = (false_area, bands * rows, bands, rows)
        best = candidate if best is None or candidate < best else best
    if best is None:
        raise ValueError(f"no bands×rows within {max_perm} permutations reaches threshold {threshold}")
    return best[2], best[3]


def fmix64(h: np.ndarray) -> np.ndarray:
    """murmur3's 64-bit finaliser, in place on a uint64 array (returned for chaining)."""
    h ^= h >> U64(33)
    h *= U64(0xFF51AFD7ED558CCD)
    h ^= h >> U64(33)
    h *= U64(0xC4CEB9FE1A85EC53)
    h ^= h >> U64(33)
    return h


_POWERS: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _powers_for(base: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """base^j and base^-j (mod 2^64) for j < n, from a per-process table that only grows."""
    have = _POWERS.get(base)
    if have is None or len(have[0]) < n:
        size = max(n * 2, 1 << 16)
        inverse = pow(base, -1, 1 << 64)
        with np.errstate(over="ignore"):
            powers = np.cumprod(np.full(size, base, dtype=U64)) * U64(inverse)  # base^0 .. base^(size-1)
            inverses = np.cumprod(np.full(size, inverse, dtype=U64)) * U64(base)
        _POWERS[base] = have = (powers, inverses)
    return have


def _segment_hashes(values: np.ndarray, starts: np.ndarray, ends: np.ndarray, base: int) -> np.ndarray:
    """Polynomial hash Σ values[s+k]·base^k of every segment [s, e), from one prefix sum."""
    with np.errstate(over="ignore"):
        powers, inverses = _powers_for(base, len(values) + 1)
        prefix = np.zeros(len(values) + 1, dtype=U64)
        np.cumsum(np.multiply(values, powers[: len(values)], dtype=U64), out=prefix[1:])
        h = (prefix[ends] - prefix[starts]) * inverses[starts]
        h += (ends - starts).astype(U64) * U64(_WORD_BASE)  # the length, so "a b" ≠ "a b " cases differ
        return fmix64(h)


@dataclass
class Words:
    """Word hashes of a batch of normalised texts, concatenated; `offsets` delimit each document."""

    hashes: np.ndarray  # uint64
    offsets: np.ndarray  # int64, len = documents + 1

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)


@dataclass
class Shingles:
    """Shingle hashes of a batch: `hashes` concatenated in document order, `counts` per document."""

    hashes: np.ndarray  # uint64
    counts: np.ndarray  # int64, one per document

    def per_document(self) -> list[np.ndarray]:
        return np.split(self.hashes, np.cumsum(self.counts)[:-1])


def words_of(texts: pa.Array | pa.ChunkedArray, tokens: str = "words") -> Words:
    """Normalise texts and hash their words (runs of non-space code points; an unspaced-script
    character is a word alone)."""
    offsets, code, unspaced = normalized_codepoints(texts, tokens)
    if len(code) == 0:
        return Words(np.zeros(0, dtype=U64), np.zeros(len(offsets), dtype=np.int64))
    space = code == SPACE
    cut = space | unspaced
    before = np.ones(len(code), dtype=bool)  # a word may start here: boundary on the left
    before[1:] = cut[:-1]
    before |= unspaced
    after = np.ones(len(code), dtype=bool)
    after[:-1] = cut[1:]
    after |= unspaced
    inner = offsets[1:-1]
    before[inner[inner < len(code)]] = True
    after[inner[inner > 0] - 1] = True
    starts = np.flatnonzero(~space & before)
    ends = np.flatnonzero(~space & after) + 1
    hashes = _segment_hashes(code, starts, ends, _BYTE_BASE)
    word_offsets = np.searchsorted(starts, offsets, side="left").astype(np.int64)
    return Words(hashes, word_offsets)


def shingle_hashes(words: Words, ngram: int) -> Shingles:
    """Hashes of the word n-grams of every document. A document with fewer than n words is one
    shingle of all its words; an empty one has none."""
    n_words = words.counts
    total = len(words.hashes)
    if total == 0:
        return Shingles(np.zeros(0, dtype=U64), np.zeros(len(n_words), dtype=np.int64))
    doc_of_word = np.repeat(np.arange(len(n_words)), n_words)
    starts = np.arange(total)
    ends = np.minimum(starts + ngram, words.offsets[doc_of_word + 1])  # clipped at document end
    keep = ends - starts == ngram
    keep[words.offsets[:-1][(n_words > 0) & (n_words < ngram)]] = True
    hashes = _segment_hashes(words.hashes, starts[keep], ends[keep], _WORD_BASE)
    counts = np.bincount(doc_of_word[keep], minlength=len(n_words)).astype(np.int64)
    return Shingles(hashes, counts)


def exact_hashes(words: Words) -> np.ndarray:
    """A 128-bit hash (two uint64 columns) of each document's normalised word sequence."""
    starts, ends = words.offsets[:-1], words.offsets[1:]
    first = _segment_hashes(words.hashes, starts, ends, _WORD_BASE)
    second = _segment_hashes(words.hashes, starts, ends, _BYTE_BASE)
    return np.stack([first, second], axis=1)


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) of each permutation x ↦ a·x + b mod 2^32; a is odd so the map is a bijection."""
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 1 << 32, num_perm, dtype=np.uint64).astype(np.uint32) | np.uint32(1)
    b = rng.integers(0, 1 << 32, num_perm, dtype=np.uint64).astype(np.uint32)
    return a, b


def minhash_signatures(shingles: Shingles, num_perm: int, seed: int) -> np.ndarray:
    """uint32 signature matrix (documents × num_perm); rows of documents without shingles are EMPTY."""
    a, b = permutations(num_perm, seed)
    signatures = np.full((len(shingles.counts), num_perm), EMPTY, dtype=np.uint32)
    has = shingles.counts > 0
    if not has.any():
        return signatures
    keys = (shingles.hashes >> U64(32)).astype(np.uint32)
    starts = np.concatenate([[0], np.cumsum(shingles.counts[has])[:-1]])
    block = np.empty((num_perm, len(starts)), dtype=np.uint32)
    buf = np.empty_like(keys)
    for p in range(num_perm):
        np.multiply(keys, a[p], out=buf)
        buf += b[p]
        block[p] = np.minimum.reduceat(buf, starts)
    signatures[has] = block.T
    return signatures


@dataclass
class BatchHashes:
    signatures: np.ndarray  # uint32 (documents × num_perm)
    shingle_counts: np.ndarray  # int64
    exact: np.ndarray  # uint64 (documents × 2)


def hash_texts(texts: pa.Array | pa.ChunkedArray, params: MinhashParams) -> BatchHashes:
    """Signatures, shingle counts and exact hashes of texts: one compiled pass per document
    (hash_kernels.py), memory = the outputs plus one document's word hashes."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    offsets, data = utf8_buffers(pc.fill_null(texts.cast(pa.string()), ""))
    mapping, unspaced = tables(params.tokens)
    a, b = permutations(params.num_perm, params.seed)
    return BatchHashes(*hash_documents(data, offsets, mapping, unspaced, params.ngram, a, b))


def reference_hashes(texts: pa.Array | pa.ChunkedArray, params: MinhashParams) -> BatchHashes:
    """The same values from the step-by-step numpy definitions above (words → shingles →
    minima): the readable specification of hash_texts, checked against it by a test."""
    words = words_of(texts, params.tokens)
    shingles = shingle_hashes(words, params.ngram)
    return BatchHashes(minhash_signatures(shingles, params.num_perm, params.seed), shingles.counts,
                       exact_hashes(words))


def shingle_sets(texts: pa.Array | pa.ChunkedArray, ngram: int, tokens: str = "words") -> list[np.ndarray]:
    """Each text's set of 64-bit shingle hashes (for exact Jaccard)."""
    return [np.unique(s) for s in shingle_hashes(words_of(texts, tokens), ngram).per_document()]


def exact_jaccards(texts: pa.Array, left: np.ndarray, right: np.ndarray, ngram: int,
                   tokens: str = "words") -> np.ndarray:
    """True shingle-set Jaccard of texts[left[i]] and texts[right[i]], in one compiled pass
    (hash_kernels.pair_jaccards: what shingle_sets + exact_jaccard define; a test checks it against
    plain-Python n-gram sets)."""
    offsets, data = utf8_buffers(pc.fill_null(texts.cast(pa.string()), ""))
    mapping, unspaced = tables(tokens)
    return pair_jaccards(data, offsets, np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64),
                         mapping, unspaced, ngram)


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per (document, band): a hash of the band's `rows` signature values."""
    n = signatures.shape[0]
    grouped = signatures[:, : bands * rows].reshape(n, bands, rows).astype(U64)
    with np.errstate(over="ignore"):
        key = np.zeros((n, bands), dtype=U64)
        for j in range(rows):
            key = key * U64(_WORD_BASE) + grouped[:, :, j]
        return fmix64(key).view(np.int64)


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> np.ndarray:
    """Share of equal signature positions, row by row."""
    return (sig_a == sig_b).mean(axis=-1)


def exact_jaccard(shingles_a: np.ndarray, shingles_b: np.ndarray) -> float:
    """True Jaccard of two shingle-hash sets (64-bit hashes, so collisions are negligible)."""
    a, b = np.unique(shingles_a), np.unique(shingles_b)
    union = len(np.union1d(a, b))
    return len(np.intersect1d(a, b, assume_unique=True)) / union if union else 1.0
