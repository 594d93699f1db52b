"""filters/segment.py: the one word/segment splitter, on real Chinese and English text."""

from __future__ import annotations

import gzip
import json
import re

import numpy as np
import pyarrow as pa
import pytest

from filters import segment
from filters.dedup.normalize import normalize_texts


@pytest.fixture(scope="module")
def ccnet_zh(shared_data) -> list[str]:
    path = shared_data / "zh" / "web_text" / "chinesewebtext" / "cc_2021-43_cleared1.jsonl"
    return [json.loads(line)["raw_content"] for line in path.open(encoding="utf-8")]


def _reference_split(text: str) -> list[str]:
    """The definition in plain Python, one character at a time (what the numpy path must give)."""
    out, word = [], ""
    for char in text:
        cls = segment._char_class(ord(char))
        if cls == segment.WORD:
            word += char
            continue
        if word:
            out.append(word)
            word = ""
        if cls == segment.UNSPACED:
            out.append(char)
    return [*out, word] if word else out


def test_mixed_text_segments():
    assert segment.split("用Python3写代码。Hello, world_x! 東京は 2024年") == [
        "用", "Python3", "写", "代", "码", "Hello", "world", "x", "東", "京", "は", "2024", "年"]
    assert segment.split("") == [] and segment.split(" ，。!") == []
    assert segment.split("naïve café ภาษาไทย") == ["naïve", "café", *"ภาษาไทย"]
    assert segment.split("emoji😀here 𠀀𠀁") == ["emoji", "here", "𠀀", "𠀁"]  # ext. B: unspaced


def test_batch_counts_match_plain_python_on_real_text(ccnet_zh, shared_data):
    with gzip.open(shared_data / "cc-text" / "dolma-ccnet" / "cc_en_head-0091.jsonl.gz", "rt") as lines:
        english = [json.loads(line)["text"] for line, _ in zip(lines, range(20), strict=False)]
    texts = [*ccnet_zh, *english, None, "", "a"]
    counts = segment.count(pa.array(texts, pa.string()))
    assert counts.tolist() == [len(_reference_split(t or "")) for t in texts]
    # a sliced, chunked array gives the same as the plain list
    chunked = pa.chunked_array([pa.array(texts[:7], pa.string()), pa.array(texts[7:], pa.string())])
    assert segment.count(chunked).tolist() == counts.tolist()
    for text in ccnet_zh[:20]:
        assert segment.split(text) == _reference_split(text)


def test_a_chinese_document_is_never_one_word(ccnet_zh):
    """Whitespace words undercount Chinese by ~100x; segments are close to its characters."""
    counts = segment.count(ccnet_zh)
    for text, n in zip(ccnet_zh, counts.tolist(), strict=True):
        han = len(re.findall(r"[\u4e00-\u9fff]", text))
        assert n >= han >= 0.3 * len(text)
    assert sum(len(text.split()) for text in ccnet_zh) < counts.sum() / 10


def test_dedup_words_are_segments(ccnet_zh):
    """Dedup's normalised words are the segments (lower-cased, digits masked): one definition."""
    for text in ccnet_zh[:30]:
        normalised = normalize_texts(pa.array([text]))[0].split()
        expected = [re.sub(r"\d+", "0", s.lower()) for s in segment.split(text)]
        assert normalised == expected


def test_words_use_jieba_for_chinese_only(ccnet_zh):
    text = ccnet_zh[0]
    words = segment.words(text, "zh")
    assert "".join(words) == "".join(text.split())  # a cut: nothing lost, nothing added
    lengths = np.array([len(w) for w in words if re.fullmatch(r"[\u4e00-\u9fff]+", w)])
    assert 1.3 < lengths.mean() < 2.5 and lengths.max() > 1
    assert segment.words("Hello, big world", "en") == ["Hello", "big", "world"]
    spaced = segment.spaced("今天天气很好。\n我们去公园散步吧", "zh")
    assert spaced.count("\n") == 1 and " " in spaced and spaced.replace(" ", "") == "今天天气很好。\n我们去公园散步吧"
    assert segment.spaced("a  b", "en") == "a  b"
    assert segment.family("zh") == segment.family("ja") == "unspaced" and segment.family("en") == "spaced"
