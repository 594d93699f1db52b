"""Benchmark decontamination gate, shared by stage 7 (github) and stage 8 (tokenize).

Two checks, both vectorised over an Arrow batch and both keeping evidence:
- text: word n-grams (GPT-3 style, n=13) of the digit-masked, lower-cased text against every
  n-gram of the benchmark problems and solutions (HumanEval, MBPP, SWE-bench-style JSONL); a
  benchmark field shorter than n words (but at least `min_words`) must match whole, which is the
  digit-masked exact match (numbers are masked so a copy with changed constants still matches);
- identity: SWE-bench instance ids (`owner__repo-PR`) against a row's (`repo`, `number`) columns
  and GitHub pull/issue URLs in its `url`.

Words are cut and hashed on the UTF-8 bytes with numpy, and n-grams hashed with a polynomial
over the word hashes (prefix sums), so no Python runs per word or byte of the corpus.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline import io
from pipeline.errors import InputError

DEFAULT_BENCHMARKS_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "benchmarks"
TEXT_FIELDS = ("prompt", "canonical_solution", "test", "text", "code", "test_list",
               "challenge_test_list", "problem_statement", "patch", "test_patch", "question",
               "solution")
SWE_ID = re.compile(r"^[A-Za-z0-9_.-]+__[A-Za-z0-9_.-]+-\d+$")
GITHUB_REF = (r"github\.com/(?P<owner>[A-Za-z0-9_.-]+)/(?P<repo>[A-Za-z0-9_.-]+)"
              r"/(?:pull|issues)/(?P<number>\d+)")
MIN_WORD_LETTERS = 2  # a word with fewer letters carries little evidence of copying
CHUNK_BYTES = 1 << 20  # texts are checked in ~1 MB slices: numpy temporaries stay cache/heap sized
_PRIME = np.uint64(1099511628211)
_PRIME_INV = np.uint64(pow(1099511628211, -1, 2**64))


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


def _byte_values() -> np.ndarray:
    """Byte → hash value: 0 for separators, "0"+1 for every digit, byte+1 for other word bytes.

    Word bytes are ASCII letters, digits, "_" and every byte of a non-ASCII character (so accented
    and CJK text stays inside words).
    """
    values = np.zeros(256, np.uint64)
    for lo, hi in ((ord("a"), ord("z")), (ord("A"), ord("Z")), (0x80, 0xFF)):
        values[lo:hi + 1] = np.arange(lo, hi + 1, dtype=np.uint64) + np.uint64(1)
    values[ord("_")] = ord("_") + 1
    values[ord("0"):ord("9") + 1] = ord("0") + 1
    return values


BYTE_VALUE = _byte_values()
IS_DIGIT = np.zeros(256, bool)
IS_DIGIT[ord("0"):ord("9") + 1] = True


def split_words(texts: pa.Array) -> Words:
    """Lower-case, cut at ASCII punctuation/space, mask digit runs to "0", hash each word.

    All on the UTF-8 bytes with numpy; a run of digits hashes like a single "0".
    """
    lowered = pc.utf8_lower(_contiguous(texts).fill_null("")).cast(pa.large_string())
    offsets = np.frombuffer(lowered.buffers()[1], np.int64)[lowered.offset:lowered.offset + len(lowered) + 1]
    data = np.frombuffer(lowered.buffers()[2], np.uint8)[offsets[0]:offsets[-1]] if offsets[-1] else np.zeros(0, np.uint8)
    offsets = offsets - offsets[0]
    values = BYTE_VALUE[data]
    is_word = values != 0
    boundary = np.zeros(len(data) + 1, bool)
    boundary[offsets] = True                                          # texts never share a word
    after_word = np.concatenate([[False], is_word]) & ~boundary       # byte i-1 is in i's word
    starts = np.flatnonzero(is_word & ~after_word[:-1])
    next_in_word = np.concatenate([is_word[1:], [False]]) & ~boundary[1:]
    ends = np.flatnonzero(is_word & ~next_in_word) + 1
    digit = IS_DIGIT[data]
    keep = is_word & ~(digit & np.concatenate([[False], digit[:-1]]) & after_word[:-1])
    kept = values[keep]
    rank = np.concatenate([[0], np.cumsum(keep)])                     # kept bytes before i
    with np.errstate(over="ignore"):
        inverse = np.cumprod(np.full(len(kept) + 1, _PRIME_INV, np.uint64))
        powers = np.cumprod(np.full(len(kept) + 1, _PRIME, np.uint64))
        prefix = np.concatenate([[np.uint64(0)], np.cumsum(kept * inverse[:len(kept)], dtype=np.uint64)])
        first, last = rank[starts], rank[ends]
        hashes = (prefix[last] - prefix[first]) * powers[last - 1]
    doc = np.searchsorted(offsets, starts, side="right") - 1
    return Words(hashes, doc.astype(np.int64), starts, ends, data)


def _rolling_hashes(ids: np.ndarray, n: int) -> np.ndarray:
    """Hash of every window of n consecutive ids (len(ids) - n + 1 values), for small inputs."""
    h = np.zeros(len(ids) - n + 1, dtype=np.uint64)
    for k in range(n):
        h = h * _PRIME + ids[k:len(ids) - n + 1 + k].astype(np.uint64) + np.uint64(1)
    return h


class _WindowHasher:
    """All window hashes of one id sequence in O(1) numpy passes per window length.

    prefix[j] = sum_{i<j} (id_i + 1) * P^-(i+1) (mod 2^64): P is odd, hence invertible modulo
    2^64, so a window's position is removed by one multiplication.
    Equal to `_rolling_hashes` (same polynomial, highest power first).
    """

    def __init__(self, ids: np.ndarray):
        length = len(ids)
        with np.errstate(over="ignore"):
            powers = np.cumprod(np.full(length + 1, _PRIME, dtype=np.uint64))  # P^1 .. P^(L+1)
            self.inverse = np.cumprod(np.full(length + 1, _PRIME_INV, dtype=np.uint64))
            values = (ids.astype(np.uint64) + np.uint64(1)) * self.inverse[:length]  # v_i * P^-(i+1)
            self.prefix = np.concatenate([[np.uint64(0)], np.cumsum(values, dtype=np.uint64)])
            self.powers = np.concatenate([[np.uint64(1)], powers])

    def hashes(self, starts: np.ndarray, n: int) -> np.ndarray:
        """sum_k v_(s+k) P^(n-1-k) = (prefix[s+n] - prefix[s]) * P^(s+n)."""
        with np.errstate(over="ignore"):
            return (self.prefix[starts + n] - self.prefix[starts]) * self.powers[starts + n]


@dataclass
class BenchmarkIndex:
    """Hashed n-grams (and whole short fields) of benchmark items, plus SWE-bench instance ids."""

    ngram: int
    min_words: int
    vocab: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))  # sorted word hashes
    hashes: dict[int, np.ndarray] = field(default_factory=dict)      # window length → sorted hashes
    labels: dict[int, dict[int, str]] = field(default_factory=dict)  # window length → hash → item
    instance_ids: frozenset[str] = frozenset()
    files: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.hashes and not self.instance_ids

    def check(self, texts: pa.Array, repos: pa.Array | None = None, numbers: pa.Array | None = None,
              urls: pa.Array | None = None) -> pa.Array:
        """Per row: null if clean, else the evidence (which benchmark item, what matched)."""
        texts, repos, numbers, urls = (_contiguous(a) for a in (texts, repos, numbers, urls))
        evidence: list[str | None] = [None] * len(texts)
        if self.hashes and len(texts):
            sizes = np.cumsum(pc.binary_length(texts.fill_null("").cast(pa.binary())).to_numpy())
            cuts = np.unique(np.searchsorted(sizes, np.arange(0, sizes[-1], CHUNK_BYTES), side="right"))
            bounds = [0, *[int(c) for c in cuts if 0 < c < len(texts)], len(texts)]
            for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
                self._check_text(texts.slice(lo, hi - lo), evidence, lo)
        if self.instance_ids:
            self._check_ids(len(texts), repos, numbers, urls, evidence)
        return pa.array(evidence, pa.string())

    def _check_text(self, texts: pa.Array, evidence: list[str | None], first_row: int) -> None:
        words = split_words(texts)
        ids, doc = words.hashes, words.doc
        if not len(ids) or not len(self.vocab):
            return
        found = np.minimum(np.searchsorted(self.vocab, ids), len(self.vocab) - 1)
        unknown = np.concatenate([[0], np.cumsum(self.vocab[found] != ids)])
        hasher = _WindowHasher(ids)
        for n, table in self.hashes.items():
            if len(ids) < n:
                continue
            starts = np.arange(len(ids) - n + 1)
            valid = (unknown[starts + n] == unknown[starts]) & (doc[starts] == doc[starts + n - 1])
            if not valid.any():
                continue
            candidates = starts[valid]
            h = hasher.hashes(candidates, n)
            found = np.minimum(np.searchsorted(table, h), len(table) - 1)
            matched = table[found] == h
            for start, value in zip(candidates[matched], h[matched], strict=True):
                row = first_row + int(doc[start])
                if evidence[row] is None:
                    item = self.labels[n][int(value)]
                    span = " ".join(words.text(int(start), int(start) + n - 1).split())
                    evidence[row] = f"{item} {n}-gram: {span[:200]}"

    def _check_ids(self, n_rows, repos, numbers, urls, evidence: list[str | None]) -> None:
        candidates: list[pa.Array] = []
        if repos is not None and numbers is not None:
            joined = pc.binary_join_element_wise(
                pc.replace_substring(repos.cast(pa.string()), "/", "__"),
                numbers.cast(pa.string()), "-")
            candidates.append(joined)
        if urls is not None:
            parts = pc.extract_regex(urls.cast(pa.string()), GITHUB_REF)
            candidates.append(pc.binary_join_element_wise(
                parts.field("owner"), "__", parts.field("repo"), "-", parts.field("number"), ""))
        value_set = pa.array(sorted(self.instance_ids), pa.string())
        for column in candidates:
            hit = pc.is_in(column, value_set=value_set).fill_null(False).to_numpy(zero_copy_only=False)
            for row in np.flatnonzero(hit):
                if evidence[row] is None:
                    evidence[row] = f"swe-bench instance {column[int(row)].as_py()}"


def _contiguous(values):
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def resolve_benchmark_files(setting) -> list[str]:
    """`github.benchmarks`: list of files; relative ones resolve against ../shared/data/benchmarks.

    Relative defaults whose folder is absent resolve to nothing (no gate), an explicit missing
    absolute path is an error.
    """
    if not setting:
        return []
    entries = [setting] if isinstance(setting, str) else list(setting)
    files: list[str] = []
    for entry in entries:
        entry = str(entry)
        if "://" in entry or entry.startswith("/"):
            files.extend(io.expand_inputs([entry], "github.benchmarks"))
        elif DEFAULT_BENCHMARKS_DIR.is_dir():
            files.extend(io.expand_inputs([str(DEFAULT_BENCHMARKS_DIR / entry)], "github.benchmarks"))
    return sorted(set(files))


def _read_lines(path: str) -> list[str]:
    with io.open_input(path) as fh:
        data = fh.read()
    if path.endswith(".gz"):
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace").splitlines()


def _items_from_file(path: str) -> tuple[list[tuple[str, str]], set[str]]:
    """(label, text) items and SWE-bench ids in one benchmark file (JSONL(.gz), JSON, or id list)."""
    items: list[tuple[str, str]] = []
    ids: set[str] = set()
    name = Path(path).name
    lines = _read_lines(path)
    stem = name.split(".")[0]
    if name.endswith((".jsonl", ".jsonl.gz")):
        for number, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                raise InputError(f"github.benchmarks: {path} line {number + 1} is not JSON") from None
            label = f"{stem}:{record.get('task_id', record.get('instance_id', number))}"
            if isinstance(record.get("instance_id"), str):
                ids.add(record["instance_id"])
            for key in TEXT_FIELDS:
                value = record.get(key)
                if isinstance(value, list):
                    value = "\n".join(map(str, value))
                if isinstance(value, str) and value.strip():
                    items.append((f"{label}/{key}", value))
    elif name.endswith((".json", ".json.gz")):
        try:
            data = json.loads("\n".join(lines))
        except json.JSONDecodeError:
            raise InputError(f"github.benchmarks: {path} is not JSON") from None
        ids.update(_swe_ids_in(data))
    else:
        ids.update(line.strip() for line in lines if SWE_ID.match(line.strip()))
    return items, ids


def _swe_ids_in(data) -> set[str]:
    found: set[str] = set()
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            found.update(k for k in value if SWE_ID.match(k))
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str) and SWE_ID.match(value):
            found.add(value)
    return found


def _letters_per_word(words: Words) -> np.ndarray:
    """How many letters (ASCII letters or non-ASCII bytes) each word has."""
    data = words.data
    is_letter = ((data >= ord("a")) & (data <= ord("z"))) | (data >= 0x80)
    cumulative = np.concatenate([[0], np.cumsum(is_letter, dtype=np.int64)])
    return cumulative[words.end] - cumulative[words.start]


def _informative_windows(letters: np.ndarray, n: int) -> np.ndarray:
    """Windows of n words of which at least a quarter have 2+ letters.

    Benchmark n-grams made of single letters, numbers or operators ("a | b | c …", "1, 3, 5, 7 …",
    "1.34 1.87 …") also occur in ordinary documentation and tables; matching them flags clean pages.
    """
    long_words = (letters >= MIN_WORD_LETTERS).astype(np.int64)
    return np.convolve(long_words, np.ones(n, np.int64), "valid") * 4 >= n


def build_index(files: list[str], ngram: int = 13, min_words: int = 8) -> BenchmarkIndex:
    items: list[tuple[str, str]] = []
    ids: set[str] = set()
    for path in files:
        file_items, file_ids = _items_from_file(path)
        items.extend(file_items)
        ids.update(file_ids)
    index = BenchmarkIndex(ngram=ngram, min_words=min_words, instance_ids=frozenset(ids),
                           files=tuple(files))
    if not items:
        return index
    words = split_words(pa.array([text for _, text in items], pa.string()))
    index.vocab = np.unique(words.hashes)
    bounds = np.searchsorted(words.doc, np.arange(len(items) + 1))
    letters = _letters_per_word(words)
    by_length: dict[int, dict[int, str]] = {}
    for item, (label, _) in enumerate(items):
        item_words = words.hashes[bounds[item]:bounds[item + 1]]
        if len(item_words) < min_words:
            continue
        n = min(len(item_words), ngram)
        table = by_length.setdefault(n, {})
        informative = _informative_windows(letters[bounds[item]:bounds[item + 1]], n)
        for h in _rolling_hashes(item_words, n)[informative].tolist():
            table.setdefault(h, label)
    index.labels = by_length
    index.hashes = {n: np.array(sorted(t), dtype=np.uint64) for n, t in sorted(by_length.items())}
    return index


@lru_cache(maxsize=4)  # one build per worker process
def cached_index(files: tuple[str, ...], ngram: int, min_words: int) -> BenchmarkIndex:
    return build_index(list(files), ngram, min_words)
