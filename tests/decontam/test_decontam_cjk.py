"""Chinese text is n-grammed by characters: a copied benchmark text with changed digits is caught."""

import json
import re

import pyarrow as pa
import pytest

from filters.decontam import build_index
from filters.decontam.words import split_words

WIDE = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.fixture(scope="module")
def documents(shared_data):
    path = shared_data / "zh/web_text/chinesewebtext/cc_2021-43_cleared1.jsonl"
    return [json.loads(line)["raw_content"] for line in path.read_text(encoding="utf-8").splitlines()]


def _problem_line(documents) -> tuple[int, str]:
    """A real Chinese line with digits, used as a (Chinese) benchmark problem."""
    for i, text in enumerate(documents):
        for line in text.split("\n"):
            if 60 <= len(line) <= 300 and len(re.findall(r"\d+", line)) >= 2 and len(re.findall(r"[\u4e00-\u9fff]", line)) > 40:
                return i, line
    raise AssertionError("no Chinese line with digits")


def test_every_han_character_is_a_word(documents):
    text = next(t for t in documents if len(t) > 200)[:200]
    words = split_words(pa.array([text]))
    han = len(re.findall(r"[\u3400-\u4dbf\u4e00-\u9fff]", text))
    ascii_words = len(re.findall(r"[a-z0-9_]+", text.lower()))
    assert len(words.hashes) >= han and len(words.hashes) <= han + ascii_words + text.count("\ufffd") + 40
    assert len({words.text(i, i) for i in range(len(words.hashes)) if ord(words.text(i, i)[0]) >= 0x4E00}) > 20


def test_chinese_copy_with_changed_digits_is_caught(documents, tmp_path):
    source, line = _problem_line(documents)
    benchmark = tmp_path / "zh_bench.jsonl"
    benchmark.write_text(json.dumps({"task_id": "zh/1", "prompt": line}, ensure_ascii=False) + "\n")
    index = build_index([str(benchmark)])
    other = [t for i, t in enumerate(documents) if i != source]
    changed = re.sub(r"\d", lambda m: str((int(m.group()) + 3) % 10), line)
    assert changed != line
    texts = [other[0][:800] + "\n" + changed + "\n" + other[1][:800],       # digits changed
             other[2][:500] + line.translate(WIDE),                          # full-width digits
             other[3][:500] + line.replace("，", ",").replace("。", ". "),   # punctuation swapped
             *other[4:60]]                                                   # clean real documents
    found = index.evidence(pa.array(texts)).to_pylist()
    assert [f["instance"] for f in found[:3]] == ["zh/1"] * 3
    assert all(f["method"] == "ngram" for f in found[:3])
    assert all(f is None for f in found[3:])


def test_a_short_fragment_of_the_text_is_not_enough(documents, tmp_path):
    """One 13-character window in common is not a copy (min_hits distinct n-grams are needed)."""
    source, line = _problem_line(documents)
    benchmark = tmp_path / "zh_bench.jsonl"
    benchmark.write_text(json.dumps({"task_id": "zh/1", "prompt": line}, ensure_ascii=False) + "\n")
    index = build_index([str(benchmark)])
    han = re.findall(r"[\u4e00-\u9fff]{13,}", line)
    assert han, "the line needs a run of 13 Han characters"
    fragment = han[0][:13]
    assert index.evidence(pa.array([f"其他内容。{fragment}。其他内容"])).to_pylist() == [None]
    assert index.evidence(pa.array([f"其他内容。{line}。其他内容"])).to_pylist()[0]["instance"] == "zh/1"
