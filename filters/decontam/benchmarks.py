"""Benchmark files → what the decontamination index matches: texts, instance ids, gold patches.

`github.benchmarks` lists files (relative names resolve against ../shared/data/benchmarks); every
listed file must exist: a decontamination gate that silently checks nothing is worse than none.
Formats, recognised by content:
- JSONL(.gz) records: HumanEval / MBPP problems (prompt, canonical_solution, test, text, code,
  test_list …), SWE-bench records (instance_id, problem_statement, patch, test_patch, hints_text,
  optional issue_numbers);
- text files of SWE-bench instance ids (`owner__repo-PR`), one a line;
- JSON holding instance ids anywhere (as keys, values or list items).
A set's name is its file name without suffixes (`HumanEval`, `swe_bench_verified`).
"""

from __future__ import annotations

import gzip
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import io
from pipeline.errors import ConfigError, InputError

ROOT = Path(__file__).resolve().parents[2]
TEXT_FIELDS = ("prompt", "canonical_solution", "test", "text", "code", "test_list",
               "challenge_test_list", "problem_statement", "hints_text", "question", "solution")
PATCH_FIELDS = ("patch", "test_patch")
SWE_ID = re.compile(r"^(?P<repo>[A-Za-z0-9_.-]+__[A-Za-z0-9_.-]+)-(?P<number>\d+)$")
NAME_SUFFIXES = ("_instance_ids", "_ids_by_repo", "_ids")


def default_dir() -> Path:
    """../shared/data/benchmarks beside the checkout (PIPELINE_SHARED overrides ../shared)."""
    shared = Path(os.environ.get("PIPELINE_SHARED", ROOT.parent / "shared"))
    return shared / "data" / "benchmarks"


def resolve_benchmark_files(setting, key: str = "github.benchmarks") -> list[str]:
    """The listed files as absolute paths/URIs; a listed file that does not exist is an error."""
    entries = [setting] if isinstance(setting, str) else list(setting or [])
    files: list[str] = []
    for entry in map(str, entries):
        if "://" in entry or entry.startswith("/"):
            where = entry
        else:
            where = str(default_dir() / entry)
        try:
            files.extend(io.expand_inputs([where], key))
        except InputError:
            raise ConfigError(f"{key}: benchmark file '{entry}' not found (looked at {where}); list files "
                              "that exist, or switch the gate off explicitly") from None
    return sorted(set(files))


def set_name(path: str) -> str:
    name = Path(path).name
    for suffix in (".gz", ".jsonl", ".json", ".txt", ".csv"):
        name = name.removesuffix(suffix)
    for suffix in NAME_SUFFIXES:
        name = name.removesuffix(suffix)
    return name


@dataclass
class BenchmarkData:
    """Everything read from the benchmark files."""

    texts: list[tuple[str, str, str, str]] = field(default_factory=list)    # (set, instance, field, text)
    patches: list[tuple[str, str, str, str]] = field(default_factory=list)   # (set, instance, field, patch)
    instances: dict[str, set[str]] = field(default_factory=dict)             # lower-case id → sets
    linked: list[tuple[str, int, str]] = field(default_factory=list)         # (repo, issue, instance)
    sets: dict[str, dict[str, int]] = field(default_factory=dict)            # set → counts
    added: int = 0                                                           # ids read, all files

    def add_instance(self, name: str, instance: str) -> None:
        self.instances.setdefault(instance.lower(), set()).add(name)
        self.added += 1


def _read_text(path: str) -> str:
    with io.open_input(path) as fh:
        data = fh.read()
    if path.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise InputError(f"github.benchmarks: {path} is not readable gzip ({exc})") from None
    return data.decode("utf-8", errors="replace")


def load(files: list[str]) -> BenchmarkData:
    data = BenchmarkData()
    for path in files:
        name = set_name(path)
        before = (len(data.texts), len(data.patches), data.added)
        text = _read_text(path)
        base = Path(path).name.removesuffix(".gz")
        if base.endswith(".jsonl"):
            _load_records(path, name, text, data)
        elif base.endswith(".json"):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError:
                raise InputError(f"github.benchmarks: {path} is not JSON") from None
            for instance in _swe_ids_in(parsed):
                data.add_instance(name, instance)
        else:
            for line in text.splitlines():
                if SWE_ID.match(line.strip()):
                    data.add_instance(name, line.strip())
        counts = {"texts": len(data.texts) - before[0], "patches": len(data.patches) - before[1],
                  "ids": data.added - before[2]}
        if not any(counts.values()):
            raise InputError(f"github.benchmarks: {path} holds no benchmark item or instance id")
        total = data.sets.setdefault(name, {"texts": 0, "patches": 0, "ids": 0})
        for key, value in counts.items():
            total[key] += value
    for name, total in data.sets.items():
        total["instances"] = sum(name in sets for sets in data.instances.values())
    return data


def _load_records(path: str, name: str, text: str, data: BenchmarkData) -> None:
    for number, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise InputError(f"github.benchmarks: {path} line {number + 1} is not JSON") from None
        instance = str(record.get("instance_id") or record.get("task_id") or f"{name}/{number}")
        if isinstance(record.get("task_id"), int):
            instance = f"{name}/{record['task_id']}"
        if SWE_ID.match(instance):
            data.add_instance(name, instance)
            repo = SWE_ID.match(instance).group("repo").replace("__", "/").lower()
            for issue in record.get("issue_numbers") or []:
                data.linked.append((repo, int(issue), instance))
        for key in TEXT_FIELDS:
            value = record.get(key)
            if isinstance(value, list):
                value = "\n".join(map(str, value))
            if isinstance(value, str) and value.strip():
                data.texts.append((name, instance, key, value))
        for key in PATCH_FIELDS:
            value = record.get(key)
            if isinstance(value, str) and value.strip():
                data.patches.append((name, instance, key, value))


def _swe_ids_in(value) -> set[str]:
    found: set[str] = set()
    stack = [value]
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
