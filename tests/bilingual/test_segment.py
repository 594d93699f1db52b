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


@pytest.fixture(scope="module")
def ccnet_en(shared_data) -> list[str]:
    with gzip.open(shared_data / "cc-text" / "dolma-ccnet" / "cc_en_head-0174.jsonl.gz", "rt") as lines:
        return [json.loads(line)["text"] for line in lines]


def _reference_split(text: str, whole_words: bool = False) -> list[str]:
    """The definition in plain Python, one character at a time (what the numpy path must give)."""
    joins = (segment.WORD, segment.PUNCT) if whole_words else (segment.WORD,)
    out, run = [], ""
    for char in text + " ":
        cls = segment._char_class(ord(char))
        if cls in joins:
            run += char
            continue
        if any(segment._char_class(ord(c)) == segment.WORD for c in run):
            out.append(run)
        run = ""
        if cls == segment.UNSPACED:
            out.append(char)
    return out


def test_mixed_text_segments():
    text = "用Python3写代码。Hello, world_x! 東京は 2024年 | — a.b()"
    assert segment.split(text) == [
        "用", "Python3", "写", "代", "码", "Hello", "world", "x", "東", "京", "は", "2024", "年", "a", "b"]
    assert segment.split(text, whole_words=True) == [
        "用", "Python3", "写", "代", "码", "。Hello,", "world_x!", "東", "京", "は", "2024", "年", "a.b()"]
    assert segment.split("") == [] and segment.split(" ，。!") == [] and segment.split(" ，。!", True) == []
    assert segment.split("naïve café ภาษาไทย") == ["naïve", "café", *"ภาษาไทย"]
    assert segment.split("emoji😀here 𠀀𠀁") == ["emoji", "here", "𠀀", "𠀁"]  # ext. B: unspaced


def test_english_whole_words_are_str_split_words(ccnet_en):
    """On English text a whole-word segment is a str.split() word (runs of punctuation alone aside)."""
    for text in ccnet_en:
        assert segment.split(text, whole_words=True) == [w for w in text.split() if re.search(r"[^\W_]", w)]


def test_batch_counts_match_plain_python_on_real_text(ccnet_zh, ccnet_en):
    texts = [*ccnet_zh, *ccnet_en[:5], None, "", "a"]
    chunked = pa.chunked_array([pa.array(texts[:7], pa.string()), pa.array(texts[7:], pa.string())])
    for whole in (False, True):
        counts = segment.count(pa.array(texts, pa.string()), whole)
        assert counts.tolist() == [len(_reference_split(t or "", whole)) for t in texts]
        assert segment.count(chunked, whole).tolist() == counts.tolist()
        for text in ccnet_zh[:20]:
            assert segment.split(text, whole) == _reference_split(text, whole)


def test_one_text_counts_equal_the_batch_counts(ccnet_zh, ccnet_en, shared_data):
    """count_one's regular expressions give exactly the definition's counts: on real English pages
    (with their "¶", "—", "’"), real Chinese text, and random strings of every ASCII character
    (controls, \\x1c-\\x1f...) mixed with non-ASCII spaces, marks, numbers and letters."""
    import random

    from crawl.parse import parse_html

    rng = random.Random(7)
    pool = [chr(c) for c in range(128)] + list("¶—’éü\u0301\u00a0\u2003\u3000\x85中ภ٣²½ⅫАб𝐀\U00020000")
    fuzz = ["".join(rng.choice(pool) for _ in range(rng.randint(0, 40))) for _ in range(30000)]
    pages = sorted((shared_data / "trafilatura").rglob("*.html"))[:40]
    page_texts = [parse_html(p.read_bytes()).text for p in pages]
    texts = [*ccnet_en, *ccnet_zh[:30], *page_texts, *fuzz, ""]
    assert sum(not t.isascii() for t in page_texts) > 10
    for whole in (False, True):
        assert [segment.count_one(t, whole) for t in texts] == segment.count(texts, whole).tolist()


def test_a_chinese_document_is_never_one_word(ccnet_zh):
    """Whitespace words undercount Chinese by ~10x and more; segments count its characters."""
    counts = segment.count(ccnet_zh)
    for text, n in zip(ccnet_zh, counts.tolist(), strict=True):
        han = len(re.findall(r"[\u4e00-\u9fff]", text))
        assert n >= han >= 0.3 * len(text)
    assert sum(len(text.split()) for text in ccnet_zh) < counts.sum() / 10


def test_dedup_words_are_segments(ccnet_zh, ccnet_en):
    """Dedup's normalised words (lower-cased, digit runs masked, accents stripped) are the
    segments: one definition of a word, an unspaced-script character alone."""
    for text in ccnet_zh[:30]:
        expected = [re.sub(r"\d+", "0", s.lower()) for s in segment.split(text)]
        assert normalize_texts(pa.array([text]))[0].split() == expected
    for text in ccnet_en[:10]:
        assert len(normalize_texts(pa.array([text]))[0].split()) == len(segment.split(text))


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
