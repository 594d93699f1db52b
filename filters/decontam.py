"""Benchmark decontamination gate, shared by stage 7 (github) and stage 8 (tokenize).

Two checks, both vectorised over an Arrow batch and both keeping evidence:
- text: word n-grams (GPT-3 style, n=13) of the digit-masked, lower-cased text against every
  n-gram of the benchmark problems and solutions (HumanEval, MBPP, SWE-bench-style JSONL); a
  benchmark field shorter than n words (but at least `min_words`) must match whole, which is the
  digit-masked exact match (numbers are masked so a copy with changed constants still matches);
- identity: SWE-bench instance ids (`owner__repo-PR`) against a row's (`repo`, `number`) columns
  and GitHub pull/issue URLs in its `url`.

Words are mapped to ids of the benchmark vocabulary with `pc.index_in` and n-grams hashed with a
numpy polynomial over those ids, so no Python runs per word of the corpus.
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
WORD_SPLIT = r"[^\p{L}\p{N}_]+"
_PRIME = np.uint64(1099511628211)
_PRIME_INV = np.uint64(pow(1099511628211, -1, 2**64))


def normalize(texts: pa.Array) -> pa.Array:
    """Lower-case and mask digits: "Return 42" and "return 7" normalise alike."""
    return pc.replace_substring_regex(pc.utf8_lower(texts), r"\p{N}+", "0")


def words_of(texts: pa.Array) -> pa.ListArray:
    """Normalised words per text (empty strings from leading/trailing separators removed)."""
    split = pc.split_pattern_regex(normalize(texts.fill_null("")), WORD_SPLIT)
    flat = pc.list_flatten(split)
    parents = pc.list_parent_indices(split)
    keep = pc.not_equal(flat, "")
    flat, parents = flat.filter(keep), parents.filter(keep)
    counts = np.bincount(parents.to_numpy(), minlength=len(texts))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), flat)


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
    vocab: pa.Array = field(default_factory=lambda: pa.array([], pa.string()))
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
            self._check_text(texts, evidence)
        if self.instance_ids:
            self._check_ids(len(texts), repos, numbers, urls, evidence)
        return pa.array(evidence, pa.string())

    def _check_text(self, texts: pa.Array, evidence: list[str | None]) -> None:
        words = words_of(texts)
        flat = pc.list_flatten(words)
        ids = pc.index_in(flat, value_set=self.vocab).fill_null(-1).to_numpy().astype(np.int64)
        if not len(ids):
            return
        doc = np.repeat(np.arange(len(texts)), np.diff(words.offsets.to_numpy()))
        unknown = np.concatenate([[0], np.cumsum(ids < 0)])
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
                row = int(doc[start])
                if evidence[row] is None:
                    item = self.labels[n][int(value)]
                    span = " ".join(self.vocab.take(pa.array(ids[start:start + n])).to_pylist())
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
    words = words_of(pa.array([text for _, text in items], pa.string()))
    index.vocab = pc.unique(pc.list_flatten(words))
    by_length: dict[int, dict[int, str]] = {}
    for (label, _), item_words in zip(items, words.to_pylist(), strict=True):
        length = len(item_words)
        if length < min_words:
            continue
        n = min(length, ngram)
        ids_ = pc.index_in(pa.array(item_words, pa.string()), value_set=index.vocab).to_numpy()
        table = by_length.setdefault(n, {})
        for h in _rolling_hashes(ids_.astype(np.int64), n).tolist():
            table.setdefault(h, label)
    index.labels = by_length
    index.hashes = {n: np.array(sorted(t), dtype=np.uint64) for n, t in sorted(by_length.items())}
    return index


@lru_cache(maxsize=4)  # one build per worker process
def cached_index(files: tuple[str, ...], ngram: int, min_words: int) -> BenchmarkIndex:
    return build_index(list(files), ngram, min_words)
