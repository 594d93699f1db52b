"""The decontamination index on real benchmark files and real web text: n-grams and digit masking."""

import gzip
import json
import re

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
    digits = next(i for i in range(300, len(mbpp)) if sum(c.isdigit() for c in mbpp[i]["text"]) >= 2)
    changed = mbpp[digits]["text"]
    texts = [
        web[0]["text"] + "\n\n" + solution + "\n" + web[1]["text"],     # a solution pasted in a page
        web[2]["text"] + "\n" + mbpp[100]["code"].upper(),                # case changed
        mbpp[200]["text"],                                                # a short problem statement
        changed.translate(str.maketrans("0123456789", "9876543210")),     # digits changed
    ]
    found = index.evidence(pa.array(texts)).to_pylist()
    assert found[0]["benchmark"] == "HumanEval" and found[0]["instance"] == "HumanEval/42"
    assert found[0]["method"] == "ngram" and found[0]["span"] in " ".join(solution.lower().split())
    assert found[1]["benchmark"] == "mbpp" and found[1]["instance"] == f"mbpp/{mbpp[100]['task_id']}"
    assert found[2]["instance"] == f"mbpp/{mbpp[200]['task_id']}"
    masked = re.sub(r"\d+", "0", changed)  # MBPP has problems that differ only in their numbers
    assert found[3]["instance"] in {f"mbpp/{r['task_id']}" for r in mbpp if re.sub(r"\d+", "0", r["text"]) == masked}
    lines = index.check(pa.array(texts)).to_pylist()
    assert lines[0].startswith("HumanEval:HumanEval/42 ngram: ")


def test_real_pages_without_benchmark_content_pass(index, shared_data):
    texts = [r["text"] for r in web_rows(shared_data) + page_rows(shared_data)]
    assert index.check(pa.array(texts)).null_count == len(texts)


def test_letter_and_number_runs_in_real_docs_are_not_contamination(index):
    """Python's docs hold "a | b | c …" tables and number lists that also occur in MBPP/HumanEval."""
    import lxml.html

    docs = "/usr/share/doc/python3.11/html"
    pages = ["library/heapq.html", "library/decimal.html", "py-modindex.html"]
    texts = [lxml.html.parse(f"{docs}/{page}").getroot().text_content() for page in pages]
    assert any("1, 3, 5, 7, 9, 2, 4, 6, 8, 0" in t for t in texts)  # the run that used to match
    assert index.check(pa.array(texts)).null_count == len(texts)


def test_swe_bench_problem_statement_in_an_issue_is_caught(index, shared_data):
    records = _jsonl(shared_data / "benchmarks/swe-bench/swe_bench_verified.jsonl.gz")
    record = next(r for r in records if r["instance_id"] == "django__django-11099")
    issue = "Title: validators\n\n" + record["problem_statement"].replace("\r\n", "\n")[200:900]
    hit = index.evidence(pa.array([issue])).to_pylist()[0]
    assert hit["instance"] == "django__django-11099" and hit["method"] == "ngram"
    assert "swe_bench_verified" in hit["benchmark"]
