"""The benchmark index and its check: every method, one pass over an Arrow batch, with evidence.

Methods, in the order a row is tested (the first hit is its evidence):
- `id`: the row's (repo, number), or a GitHub pull/issue URL, is a SWE-bench instance
  (`owner__repo-PR`, case-insensitive), or its commit sha belongs to an instance's PR;
- `linked_issue`: the row is an issue an instance's PR closes, or closes one itself;
- `gold_patch`: the row holds the same change as a gold (or test) patch: at least
  `gold_min_share` of the patch's signed changed lines (see patches.changed_lines), in any
  format (a diff, SEARCH/REPLACE edits), any file path, any fork;
- `patch_ngram`: a word n-gram of the gold patch's changed lines among the row's changed lines;
- `ngram`: word n-grams (GPT-3 style, n=13) of the row's lower-cased, digit-masked text equal those
  of a benchmark text (problem statement, prompt, solution, tests): at least min(3, the text's
  n-grams) distinct ones and 10% of them (a lone shared traceback line is not a copy); a benchmark
  text shorter than n words (but at least `min_words`) must appear whole: the digit-masked exact
  match. CJK text is n-grammed by characters (see words.py). Boilerplate is left out of the index:
  n-grams that long benchmark texts of 3+ instances share, and the code blocks and traceback lines
  of issue texts (a pasted Sphinx conf.py matched every project's docs).

A gold patch needs 2+ distinct changed lines that no other instance's patch has ("+import os" and
one-line fixes such as "+raise NotImplementedError" are no evidence; id and text methods remain).

N-grams are hashed with numpy (words.py), so no Python runs per word or byte of the corpus.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filters.decontam import patches
from filters.decontam.benchmarks import SWE_ID, BenchmarkData, load
from filters.decontam.words import (
    WindowHasher,
    contiguous,
    informative_windows,
    rolling_hashes,
    split_words,
)

GITHUB_REF = (r"github\.com/(?P<owner>[A-Za-z0-9_.-]+)/(?P<repo>[A-Za-z0-9_.-]+)"
              r"/(?:pull|issues)/(?P<number>\d+)")
CHUNK_BYTES = 1 << 20  # texts are checked in ~1 MB slices: numpy temporaries stay cache/heap sized
SPAN_CHARS = 200
EVIDENCE = pa.struct([("benchmark", pa.string()), ("instance", pa.string()),
                      ("method", pa.string()), ("span", pa.string())])
SIGN_WORDS = {"+": "plus ", "-": "minus "}
PROSE_FIELDS = ("problem_statement", "hints_text")  # issue texts: their code blocks are often boilerplate
COMMON_INSTANCES = 3  # an n-gram in this many benchmark instances is boilerplate (traceback frames)
SINGLE_LINE_CHARS = 24  # a one-line gold patch identifies its change only if the line says enough  # signs become words, so a patch n-gram keeps its side


@dataclass(frozen=True)
class Hit:
    benchmark: str
    instance: str
    method: str
    span: str

    def line(self) -> str:
        """One readable line: `HumanEval:HumanEval/42 ngram: <matched words>`."""
        return f"{self.benchmark}:{self.instance} {self.method}: {self.span}"


@dataclass
class NgramTable:
    """Hashed n-grams (and whole short items) of a list of labelled texts."""

    ngram: int
    min_words: int
    labels: list[tuple[str, str]] = field(default_factory=list)       # item → (set, instance)
    vocab: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    hashes: dict[int, np.ndarray] = field(default_factory=dict)      # window length → sorted hashes
    items: dict[int, np.ndarray] = field(default_factory=dict)       # same order: item index
    windows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # item → its n-grams held
    length: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))   # item → its window length
    min_hits: int = 3
    min_coverage: float = 0.1

    @classmethod
    def build(cls, items: list[tuple[str, str, str]], ngram: int, min_words: int, min_hits: int = 3,
              min_coverage: float = 0.1) -> NgramTable:
        """items: (set, instance, text). An n-gram of several instances is boilerplate (a traceback's
        frames, a project template) and left out, unless it is a short item's whole text."""
        table = cls(ngram, min_words, [(s, i) for s, i, _ in items], min_hits=min_hits, min_coverage=min_coverage)
        table.length = np.zeros(len(items), np.int64)
        if not items:
            return table
        words = split_words(pa.array([text for _, _, text in items], pa.string()))
        table.vocab = np.unique(words.hashes)
        bounds = np.searchsorted(words.doc, np.arange(len(items) + 1))
        letters = words.letters()
        by_length: dict[int, dict[int, int]] = {}
        owners: dict[int, set[str]] = defaultdict(set)  # n-gram → instances (only when seen twice)
        for item in range(len(items)):
            lo, hi = bounds[item], bounds[item + 1]
            if hi - lo < min_words:
                continue
            n = min(hi - lo, ngram)
            table.length[item] = n
            seen = by_length.setdefault(n, {})
            informative = informative_windows(letters[lo:hi], n)
            for h in rolling_hashes(words.hashes[lo:hi], n)[informative].tolist():
                other = seen.setdefault(h, item)
                if other != item and n == ngram and hi - lo >= 4 * ngram:  # long texts only
                    owners[h].update((items[other][1], items[item][1]))
        common = [h for h, instances in owners.items() if len(instances) >= COMMON_INSTANCES]
        for h in common:
            by_length.get(ngram, {}).pop(h, None)
        for n, seen in sorted(by_length.items()):
            keys = np.fromiter(seen, np.uint64, len(seen))
            order = np.argsort(keys)
            table.hashes[n] = keys[order]
            table.items[n] = np.fromiter(seen.values(), np.int64, len(seen))[order]
        table.windows = np.bincount(np.concatenate([np.zeros(0, np.int64), *table.items.values()]),
                                    minlength=len(items))
        return table

    @property
    def size(self) -> int:
        return int(sum(len(h) for h in self.hashes.values()))

    def scan(self, texts: pa.Array, rows: np.ndarray, hits: list[Hit | None], method: str) -> None:
        """Mark hits[rows[i]] for texts[i] (rows without a hit yet), ~1 MB of text at a time."""
        if not self.hashes or not len(texts):
            return
        sizes = np.cumsum(pc.binary_length(texts.fill_null("").cast(pa.binary())).to_numpy(zero_copy_only=False))
        if not len(sizes) or sizes[-1] == 0:
            return
        cuts = np.unique(np.searchsorted(sizes, np.arange(0, sizes[-1], CHUNK_BYTES), side="right"))
        bounds = [0, *[int(c) for c in cuts if 0 < c < len(texts)], len(texts)]
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            self._scan_chunk(texts.slice(lo, hi - lo), rows[lo:hi], hits, method)

    def _scan_chunk(self, texts: pa.Array, rows: np.ndarray, hits: list[Hit | None], method: str) -> None:
        words = split_words(texts)
        ids, doc = words.hashes, words.doc
        if not len(ids) or not len(self.vocab):
            return
        found = np.minimum(np.searchsorted(self.vocab, ids), len(self.vocab) - 1)
        unknown = np.concatenate([[0], np.cumsum(self.vocab[found] != ids)])
        hasher = WindowHasher(ids)
        starts_, items_, hashes_ = [], [], []
        for n, table in self.hashes.items():
            if len(ids) < n:
                continue
            starts = np.arange(len(ids) - n + 1)
            valid = (unknown[starts + n] == unknown[starts]) & (doc[starts] == doc[starts + n - 1])
            if not valid.any():
                continue
            candidates = starts[valid]
            h = hasher.hashes(candidates, n)
            where = np.minimum(np.searchsorted(table, h), len(table) - 1)
            matched = table[where] == h
            starts_.append(candidates[matched])
            items_.append(self.items[n][where[matched]])
            hashes_.append(h[matched])
        if not starts_ or not sum(map(len, starts_)):
            return
        start, item, value = np.concatenate(starts_), np.concatenate(items_), np.concatenate(hashes_)
        self._mark(words, doc[start], start, item, value, rows, hits, method)

    def _mark(self, words, docs, start, item, value, rows, hits, method) -> None:
        """A text hits an item when it holds min(min_hits, the item's n-grams) of its distinct n-grams."""
        order = np.lexsort((start, value, item, docs))
        docs, start, item, value = docs[order], start[order], item[order], value[order]
        first = np.concatenate([[True], (docs[1:] != docs[:-1]) | (item[1:] != item[:-1]) | (value[1:] != value[:-1])])
        distinct = np.flatnonzero(first)                       # one entry per (text, item, n-gram)
        pair = np.concatenate([[True], (docs[distinct][1:] != docs[distinct][:-1]) | (item[distinct][1:] != item[distinct][:-1])])
        pair_start = distinct[np.flatnonzero(pair)]
        counts = np.diff(np.concatenate([np.flatnonzero(pair), [len(distinct)]]))
        for at, count in zip(pair_start.tolist(), counts.tolist(), strict=True):
            row, label = int(rows[docs[at]]), int(item[at])
            windows = int(self.windows[label])
            if hits[row] is None and count >= min(self.min_hits, windows) and count >= self.min_coverage * windows:
                name, instance = self.labels[label]
                n = self.length[label]
                span = " ".join(words.text(int(start[at]), int(start[at]) + n - 1).split())
                hits[row] = Hit(name, instance, method, span[:SPAN_CHARS])


def _changed_text(lines: list[str]) -> str:
    return "\n".join(SIGN_WORDS[line[0]] + line[1:] for line in lines)


class BenchmarkIndex:
    """What the benchmark files say, ready to check batches of rows against."""

    def __init__(self, data: BenchmarkData, files: tuple[str, ...], ngram: int = 13,
                 min_words: int = 8, gold_min_share: float = 0.5):
        self.files, self.ngram, self.min_words, self.gold_min_share = files, ngram, min_words, gold_min_share
        self.sets = data.sets
        self.instances = {k: ",".join(sorted(v)) for k, v in data.instances.items()}
        self.text = NgramTable.build([(s, i, patches.prose(t) if f in PROSE_FIELDS else t)
                                      for s, i, f, t in data.texts], ngram, min_words)
        gold: list[tuple[str, str, set[str]]] = []
        fixes: list[tuple[str, str, str]] = []
        for name, instance, key, patch in data.patches:
            lines = patches.changed_lines(patch)
            if lines:
                gold.append((name, instance, set(lines)))
            if lines and key == "patch":  # test patches add whole test files: boilerplate n-grams
                fixes.append((name, instance, _changed_text(lines)))
        owners: dict[str, set[str]] = defaultdict(set)
        for _, instance, lines in gold:
            for line in lines:
                owners[line].add(instance)
        common = {line for line, instances in owners.items() if len(instances) > 1}  # "+import os"
        gold = [(name, instance, lines - common) for name, instance, lines in gold]
        gold = [g for g in gold if len(g[2]) >= 2]  # one line ("+raise NotImplementedError") is no evidence
        self.gold = [(name, instance, len(lines)) for name, instance, lines in gold]
        self.gold_by_line: dict[str, list[int]] = defaultdict(list)
        for item, (_, _, lines) in enumerate(gold):
            for line in lines:
                self.gold_by_line[line].append(item)
        self.patch = NgramTable.build(fixes, ngram, min_words)
        self.linked: dict[tuple[str, int], str] = {}
        self.shas: dict[str, str] = {}
        self.add_links(data.linked)

    # ---- what stage 7 learns from the data (PR → closed issues, PR → commits) -------------------
    def extended(self, linked=(), shas=()) -> BenchmarkIndex:
        """A copy that also knows these links and commits (the cached index stays as built)."""
        copy = object.__new__(BenchmarkIndex)
        copy.__dict__.update(self.__dict__)
        copy.linked, copy.shas = dict(self.linked), dict(self.shas)
        copy.add_links(linked)
        copy.add_commits(shas)
        return copy

    def add_links(self, linked) -> None:
        """(repo, issue number, instance) triples: the issues a benchmark instance's PR closes."""
        for repo, issue, instance in linked:
            self.linked.setdefault((repo.lower(), int(issue)), instance)

    def add_commits(self, shas) -> None:
        """(sha, instance) pairs: commits that belong to a benchmark instance's PR."""
        for sha, instance in shas:
            self.shas.setdefault(sha, instance)

    def instance_of(self, repo: str, number: int) -> str | None:
        key = f"{repo.replace('/', '__')}-{number}".lower()
        return key if key in self.instances else None

    # ---- the check -------------------------------------------------------------------------------
    def evidence(self, texts: pa.Array, repos: pa.Array | None = None, numbers: pa.Array | None = None,
                 urls: pa.Array | None = None, closes: pa.Array | None = None,
                 shas: pa.Array | None = None) -> pa.StructArray:
        """Per row: null if clean, else (benchmark, instance, method, span) of its first hit."""
        texts = contiguous(texts)
        hits: list[Hit | None] = [None] * len(texts)
        self._check_ids(hits, *(contiguous(a) for a in (repos, numbers, urls, closes, shas)))
        if len(texts):
            self._check_patches(texts, hits)
            self.text.scan(texts, np.arange(len(texts)), hits, "ngram")
        return pa.array([None if h is None else h.__dict__ for h in hits], EVIDENCE)

    def check(self, texts: pa.Array, repos: pa.Array | None = None, numbers: pa.Array | None = None,
              urls: pa.Array | None = None, closes: pa.Array | None = None,
              shas: pa.Array | None = None) -> pa.Array:
        """Per row: null if clean, else one readable evidence line (see Hit.line)."""
        found = self.evidence(texts, repos, numbers, urls, closes, shas).to_pylist()
        return pa.array([None if h is None else Hit(**h).line() for h in found], pa.string())

    def _check_ids(self, hits, repos, numbers, urls, closes, shas) -> None:
        n = len(hits)
        keys: list[pa.Array] = []
        if repos is not None and numbers is not None:
            keys.append(pc.binary_join_element_wise(
                pc.replace_substring(repos.cast(pa.string()), "/", "__"), numbers.cast(pa.string()), "-"))
        if urls is not None:
            parts = pc.extract_regex(urls.cast(pa.string()), GITHUB_REF)
            keys.append(pc.binary_join_element_wise(
                parts.field("owner"), "__", parts.field("repo"), "-", parts.field("number"), ""))
        if self.instances:
            known = pa.array(sorted(self.instances), pa.string())
            for column in keys:
                lowered = pc.utf8_lower(column)
                for row in np.flatnonzero(pc.is_in(lowered, value_set=known).fill_null(False).to_numpy(zero_copy_only=False)):
                    if hits[row] is None:
                        key = lowered[int(row)].as_py()
                        hits[row] = Hit(self.instances[key], key, "id", column[int(row)].as_py())
        if shas is not None and self.shas:
            for row, sha in enumerate(shas.to_pylist()):
                if sha in self.shas and hits[row] is None:
                    instance = self.shas[sha]
                    hits[row] = Hit(self.instances.get(instance, "swe-bench"), instance, "id",
                                    f"commit {sha} of the instance's PR")
        if self.linked and repos is not None:
            repo_list = [r.lower() if r else None for r in repos.to_pylist()]
            number_list = numbers.to_pylist() if numbers is not None else [None] * n
            close_list = closes.to_pylist() if closes is not None else [None] * n
            for row in range(n):
                if hits[row] is not None or repo_list[row] is None:
                    continue
                for issue in [number_list[row], *(close_list[row] or [])]:
                    instance = self.linked.get((repo_list[row], issue)) if issue is not None else None
                    if instance:
                        hits[row] = Hit(self.instances.get(instance, "swe-bench"), instance, "linked_issue",
                                        f"{repo_list[row]}#{issue}")
                        break

    def _check_patches(self, texts: pa.Array, hits: list[Hit | None]) -> None:
        """Gold-patch line share, then patch n-grams, on rows holding diff hunks or SEARCH/REPLACE edits."""
        if not self.gold:
            return
        filled = texts.fill_null("")
        maybe = pc.or_(pc.match_substring(filled, "@@ -"), pc.match_substring(filled, patches.SEARCH))
        rows = np.flatnonzero(maybe.to_numpy(zero_copy_only=False))
        changed_rows, changed_texts = [], []
        for row in rows.tolist():
            if hits[row] is not None:
                continue
            lines = patches.changed_lines(texts[row].as_py())
            if not lines:
                continue
            hit = self._gold_hit(set(lines))
            if hit:
                hits[row] = hit
            else:
                changed_rows.append(row)
                changed_texts.append(_changed_text(lines))
        if changed_rows:
            self.patch.scan(pa.array(changed_texts, pa.string()), np.array(changed_rows), hits, "patch_ngram")

    def _gold_hit(self, lines: set[str]) -> Hit | None:
        found = sorted(line for line in lines if line in self.gold_by_line)
        if not found:
            return None
        counts: Counter[int] = Counter(item for line in found for item in self.gold_by_line[line])
        best = max(counts, key=lambda item: (counts[item] / self.gold[item][2], counts[item], -item))
        name, instance, total = self.gold[best]
        if counts[best] / total < self.gold_min_share or counts[best] < 2:
            return None
        first = next(line for line in found if best in self.gold_by_line[line])
        return Hit(name, instance, "gold_patch", f"{counts[best]}/{total} changed lines, e.g. {first}"[:SPAN_CHARS])

    # ---- for the manifest ------------------------------------------------------------------------
    def summary(self) -> dict:
        """The sets checked and their sizes (for the manifest: the gate is on, and against what)."""
        return {"files": list(self.files), "sets": self.sets, "ngram": self.ngram,
                "text_ngrams": self.text.size, "patch_ngrams": self.patch.size,
                "gold_patches": len(self.gold), "instances": len(self.instances),
                "linked_issues": len(self.linked), "instance_commits": len(self.shas)}


def build_index(files: list[str], ngram: int = 13, min_words: int = 8, gold_min_share: float = 0.5) -> BenchmarkIndex:
    return BenchmarkIndex(load(files), tuple(files), ngram, min_words, gold_min_share)


@lru_cache(maxsize=4)  # one build per worker process
def cached_index(files: tuple[str, ...], ngram: int, min_words: int, gold_min_share: float = 0.5) -> BenchmarkIndex:
    return build_index(list(files), ngram, min_words, gold_min_share)


def swe_instance(repo: str, number: int) -> str:
    """The SWE-bench instance id of a repository's PR: `owner__repo-N`."""
    instance = f"{repo.replace('/', '__')}-{number}"
    assert SWE_ID.match(instance), instance
    return instance
