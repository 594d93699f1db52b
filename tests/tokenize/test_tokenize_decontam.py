"""The decontamination gate on real benchmark files and real web text."""

import gzip
import json

import pyarrow as pa
import pytest

from filters.decontam import build_index, resolve_benchmark_files
from pipeline.config import load_config
from tests.tokenize.corpus import page_rows, web_rows


@pytest.fixture(scope="module")
def index(shared_data):
    files = resolve_benchmark_files(load_config(None, [])["github"]["benchmarks"])
    assert any("HumanEval" in f for f in files) and any("mbpp" in f for f in files)
    return build_index(files, ngram=13, min_words=8)


def _jsonl(path):
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def test_benchmark_text_inside_a_real_page_is_caught_with_evidence(index, shared_data):
    web = web_rows(shared_data)
    humaneval = _jsonl(shared_data / "benchmarks/humaneval/HumanEval.jsonl.gz")
    mbpp = _jsonl(shared_data / "benchmarks/mbpp/mbpp.jsonl.gz")
    solution = humaneval[42]["prompt"] + humaneval[42]["canonical_solution"]
    texts = [
        web[0]["text"] + "\n\n" + solution + "\n" + web[1]["text"],     # a solution pasted in a page
        web[2]["text"] + "\n" + mbpp[100]["code"].upper(),                # case changed
        mbpp[200]["text"],                                                # a short problem statement
    ]
    changed = mbpp[300]["text"]
    digits = [c for c in changed if c.isdigit()]
    texts.append(changed.translate(str.maketrans("0123456789", "9876543210")) if digits else changed)
    evidence = index.check(pa.array(texts)).to_pylist()
    assert evidence[0].startswith("HumanEval:HumanEval/42/")
    assert evidence[1].startswith("mbpp:")
    assert evidence[2].startswith(f"mbpp:{mbpp[200]['task_id']}/text")
    assert evidence[3] is not None and "mbpp:" in evidence[3]


def test_real_pages_without_benchmark_content_pass(index, shared_data):
    texts = [r["text"] for r in web_rows(shared_data) + page_rows(shared_data)]
    assert index.check(pa.array(texts)).null_count == len(texts)


def test_swe_bench_instances_match_by_repo_number_and_url(index, shared_data):
    ids = (shared_data / "benchmarks/swe-bench/swe_bench_verified_instance_ids.txt").read_text().split()
    repo, number = ids[0].rsplit("-", 1)
    owner_repo = repo.replace("__", "/")
    evidence = index.check(
        pa.array(["a pr", "another pr", "a page", "unrelated"]),
        repos=pa.array([owner_repo, owner_repo, None, "octo/cat"]),
        numbers=pa.array([int(number), 999999999, None, 1]),
        urls=pa.array([None, None, f"https://github.com/{owner_repo}/pull/{number}", None]),
    ).to_pylist()
    assert evidence[0] == f"swe-bench instance {ids[0]}"
    assert evidence[1] is None and evidence[3] is None
    assert evidence[2] == f"swe-bench instance {ids[0]}"


def test_letter_and_number_runs_in_real_docs_are_not_contamination(index):
    """Python's docs hold "a | b | c …" tables and number lists that also occur in MBPP/HumanEval."""
    import lxml.html

    docs = "/usr/share/doc/python3.11/html"
    pages = ["library/heapq.html", "library/decimal.html", "py-modindex.html"]
    texts = [lxml.html.parse(f"{docs}/{page}").getroot().text_content() for page in pages]
    assert any("1, 3, 5, 7, 9, 2, 4, 6, 8, 0" in t for t in texts)  # the run that used to match
    assert index.check(pa.array(texts)).null_count == len(texts)
