"""SWE-bench identity, linked issues and gold patches, on the real Verified / Multilingual files."""

import gzip
import json

import pyarrow as pa
import pytest

from filters.decontam import build_index, resolve_benchmark_files
from filters.decontam.patches import changed_lines, closing_refs, pull_ref
from pipeline.config import load_config


@pytest.fixture(scope="module")
def index(shared_data):
    return build_index(resolve_benchmark_files(load_config(None, [])["github"]["benchmarks"]))


@pytest.fixture(scope="module")
def verified(shared_data):
    with gzip.open(shared_data / "benchmarks/swe-bench/swe_bench_verified.jsonl.gz", "rt") as fh:
        return {r["instance_id"]: r for r in map(json.loads, fh)}


def test_instances_match_by_repo_number_url_any_case(index, shared_data):
    multilingual = (shared_data / "benchmarks/swe-bench/swe_bench_multilingual_instance_ids.txt").read_text().split()
    ripgrep = next(i for i in multilingual if i.startswith("burntsushi__ripgrep-"))
    number = int(ripgrep.rsplit("-", 1)[1])
    found = index.evidence(
        pa.array(["a pr", "same repo, other pr", "a page", "unrelated"]),
        repos=pa.array(["BurntSushi/ripgrep", "BurntSushi/ripgrep", None, "octo/cat"]),
        numbers=pa.array([number, 999999999, None, 1]),
        urls=pa.array([None, None, "https://github.com/django/django/pull/11099", None]),
    ).to_pylist()
    assert found[0]["method"] == "id" and found[0]["instance"] == ripgrep
    assert "swe_bench_multilingual" in found[0]["benchmark"]
    assert found[1] is None and found[3] is None
    assert found[2]["instance"] == "django__django-11099"
    assert {"swe_bench_verified", "swe_bench_full_test"} <= set(found[2]["benchmark"].split(","))


def _as_search_replace(patch: str) -> str:
    """The gold patch written as SEARCH/REPLACE edits with a renamed file (a fork, another format)."""
    blocks, old, new, path = [], [], [], None
    for line in patch.split("\n"):
        if line.startswith("+++ b/"):
            path = "vendored/" + line[6:]
        elif line.startswith("@@"):
            if old or new:
                blocks.append((path, old, new))
            old, new = [], []
        elif line[:1] in (" ", "-") and not line.startswith("---"):
            old.append(line[1:])
            if line[:1] == " ":
                new.append(line[1:])
        elif line[:1] == "+" and not line.startswith("+++"):
            new.append(line[1:])
    blocks.append((path, old, new))
    return "\n".join(f"### {p}\n<<<<<<< SEARCH\n" + "\n".join(o) + "\n=======\n" + "\n".join(n)
                     + "\n>>>>>>> REPLACE" for p, o, n in blocks)


def test_gold_patch_caught_in_any_format_and_not_its_revert(index, verified):
    record = verified["psf__requests-2317"]
    patch = record["patch"]
    moved = patch.replace("requests/", "lib/requests/").replace("@@ -", "@@ -1").replace(",", " ,")
    revert = "\n".join(("-" + line[1:]) if line.startswith("+") and not line.startswith("+++") else
                       ("+" + line[1:]) if line.startswith("-") and not line.startswith("---") else line
                       for line in patch.split("\n"))
    before = "\n".join(line[1:] for line in patch.split("\n") if line[:1] in (" ", "-") and not line.startswith("---"))
    texts = ["Fix the thing\n\n" + patch, _as_search_replace(patch), revert, before]
    found = index.evidence(pa.array(texts)).to_pylist()
    assert found[0]["method"] == "gold_patch" and found[0]["instance"] == "psf__requests-2317"
    assert found[1]["method"] == "gold_patch" and found[1]["instance"] == "psf__requests-2317"
    assert found[2] is None
    assert found[3] is None  # the code before the fix is not the fix
    assert changed_lines(moved) == []  # malformed hunk headers are not read as hunks


def test_changed_lines_read_hunks_exactly(verified):
    patch = verified["psf__requests-1142"]["patch"]
    lines = changed_lines(patch)
    assert lines and all(line[0] in "+-" for line in lines)
    added = [line for line in patch.split("\n") if line.startswith("+") and not line.startswith("+++")]
    assert len([line for line in lines if line[0] == "+"]) <= len(added)


def test_linked_issues_catch_the_issue_and_prs_closing_it(index):
    linked = index.extended(linked=[("psf/requests", 1723, "psf__requests-1724")])
    found = linked.evidence(
        pa.array(["the issue", "another pr", "a clean pr", "other repo"]),
        repos=pa.array(["psf/requests"] * 3 + ["octo/cat"]),
        numbers=pa.array([1723, 99999, 99998, 1723]),
        closes=pa.array([[], [1723], [12], [1723]], pa.list_(pa.int64())),
    ).to_pylist()
    assert found[0]["method"] == "linked_issue" and found[0]["instance"] == "psf__requests-1724"
    assert found[1]["method"] == "linked_issue"
    assert found[2] is None and found[3] is None
    assert not index.linked  # the cached index is not changed by an extended copy


def test_issue_references():
    assert closing_refs("Fixes #1920 and resolves psf/requests#7, see #3", "psf/requests") == [7, 1920]
    assert closing_refs("closes other/repo#5", "psf/requests") == []
    assert closing_refs("fixed #1723") == [1723]
    assert pull_ref("Merge pull request #1142 from a/b\n\nx") == 1142
    assert pull_ref("Add a thing (#512)\n\nbody") == 512
    assert pull_ref("Fix #12") is None
