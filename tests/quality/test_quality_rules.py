"""Rule scorers on real text from ../shared/data (model scorers: test_quality_models.py)."""

from __future__ import annotations

import numpy as np
import pytest

from filters.quality import corpus, rules
from filters.quality.textbatch import WORD_RE, TextBatch, split_words


@pytest.fixture(scope="module")
def ccnet(shared_data):
    return corpus.ccnet_docs(shared_data / "cc-text" / "dolma-ccnet")


def test_real_ccnet_head_prose_passes_more_rules_than_its_repetition(ccnet):
    texts = [d["text"] for d in ccnet]
    base = rules.gopher_repetition(TextBatch(texts))
    # the same real documents with their first paragraph pasted five times over
    spammed = [t + ("\n\n" + t.split("\n")[0]) * 5 for t in texts]
    spam = rules.gopher_repetition(TextBatch(spammed))
    assert spam.passed.sum() < base.passed.sum()
    assert (spam.score < base.score).mean() > 0.9


def test_c4_document_killers_on_real_text(ccnet):
    text = max((d["text"] for d in ccnet), key=len)
    batch = TextBatch([text, text + "\nLorem ipsum dolor sit amet, it says here.",
                       text + "\nThe function body is { return x; } as shown."])
    result = rules.c4(batch)
    assert result.reasons[1] == "lorem_ipsum"
    assert result.reasons[2] == "curly_bracket"
    assert result.score[0] > result.score[1]


def test_c4_long_word_lines_match_str_split(ccnet):
    """C4 drops a line holding a str.split() word longer than max_word_length (default 1,000)."""
    import pyarrow as pa

    lines = [line for d in ccnet for line in d["text"].splitlines()]
    word = "x" * 1001
    lines += [f"{line} {word}." for line in lines[:5]] + [f"a{chr(0x3000)}{word[:-1]}", f"{word}\x1cb",
                                                       word[:-1] + "\u00a0" + word[:-1]]
    expected = [any(len(w) > 1000 for w in line.split()) for line in lines]
    assert sum(expected) == 6
    assert rules._has_long_word(pa.array(lines, pa.large_string()), 1000).tolist() == expected


def test_gopher_quality_measures_follow_the_text(ccnet):
    prose = [d["text"] for d in ccnet if len(d["text"]) > 2000][:5]
    symbols = ["# " * len(p.split()) + p for p in prose]
    a, b = rules.gopher_quality(TextBatch(prose)), rules.gopher_quality(TextBatch(symbols))
    assert all(r is not None for r in b.reasons)
    assert "gopher_too_many_hashes" in b.reasons
    assert (a.score > b.score).all()
    assert (a.stats["stop_words"] >= 2).all()


def test_batch_word_split_equals_the_word_regex_per_text(ccnet, heldout_items):
    """The chunk-deduplicated splitter must give exactly WORD_RE.findall, text by text."""
    texts = [d["text"] for d in ccnet] + [p.text for p in heldout_items]
    texts += ["", "  \x1c lead\u2028trail\x85 ", "don't U.S. e.g. (see: x-y) ...end… «Ça» 3.14 _a_",
              "naïve Straße — 東京は晴れ。 https://example.org/a?b=c). def f(x): return x**2"]
    import pyarrow as pa

    tokens, doc = split_words(pa.array(texts, pa.large_string()))
    expected = [WORD_RE.findall(t) for t in texts]
    assert tokens.to_pylist() == [w for words in expected for w in words]
    assert doc.tolist() == [i for i, words in enumerate(expected) for _ in words]


def test_compiled_word_split_equals_the_word_regex_on_adversarial_text():
    """Every WORD_RE alternative and its look-arounds, on random chunks of the marks they test,
    between every kind of whitespace str.isspace() knows."""
    import random

    import pyarrow as pa

    pieces = list("aAzZsSnNtTdDmMrelvh09.-:/<>=,_'’\"()[]{}…%§$#*&!?;«»“”`´‚„") + [
        "é", "ß", "東", "٣", "²", "ǅ", "\u0301", "Ⅻ", "http://", "https://", "n't", "'s", "...", "e.g."]
    spaces = [" ", "\n", "\t", "\r\n", "\x0b", "\x1c", "\x85", "\xa0", "\u2028", "\u3000"]
    rng = random.Random(5)
    texts = [rng.choice(spaces).join("".join(rng.choice(pieces) for _ in range(rng.randint(1, 16)))
                                     for _ in range(rng.randint(0, 30))) for _ in range(5_000)]
    tokens, doc = split_words(pa.array(texts, pa.large_string()))
    expected = [WORD_RE.findall(t) for t in texts]
    assert tokens.to_pylist() == [w for words in expected for w in words]
    assert doc.tolist() == [i for i, words in enumerate(expected) for _ in words]


def _find_all_duplicate(words: list[str], n: int) -> int:
    """datatrove's Gopher repetition scan (gopher_repetition_filter.find_all_duplicate)."""
    unique, repeated_chars, idx = set(), 0, 0
    while idx < len(words) - n + 1:
        n_gram = "".join(words[idx:idx + n])
        if n_gram in unique:
            repeated_chars += len(n_gram)
            idx += n
        else:
            unique.add(n_gram)
            idx += 1
    return repeated_chars


def test_duplicate_ngram_chars_replay_datatrove_scan(ccnet, heldout_items):
    texts = [d["text"] for d in ccnet] + [p.text for p in heldout_items]
    texts.append(" ".join(["a b c d e f"] * 7 + ["a b c x"] * 5 + ["g h"] * 9))  # overlapping repeats
    batch = TextBatch(texts)
    stats = rules.gopher_repetition(batch).stats
    chars = np.array([len(t) for t in texts], dtype=np.float64)
    for n in range(5, 11):
        expected = [_find_all_duplicate(WORD_RE.findall(t), n) for t in texts]
        assert any(expected)
        np.testing.assert_allclose(stats[f"dup_{n}_gram"] * chars, expected)


def test_batch_result_equals_one_doc_at_a_time(ccnet):
    texts = [d["text"] for d in ccnet]
    together = rules.gopher_repetition(TextBatch(texts))
    alone = [rules.gopher_repetition(TextBatch([t])) for t in texts]
    np.testing.assert_allclose(together.score, [r.score[0] for r in alone])
    assert together.reasons == [r.reasons[0] for r in alone]


def test_line_splits_equal_python_with_and_without_other_line_breaks(heldout_items):
    """splitlines() and re.split("\\n+") as the rules see them, on real pages (only "\\n" breaks:
    the plain-split path) and on random texts of every break str.splitlines() knows (regex path)."""
    import random
    import re

    rng = random.Random(3)
    marks = ["a", "b ", "\n", "\n\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", " "]
    mixed = ["".join(rng.choice(marks) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    for texts in ([p.text for p in heldout_items] + ["", "\n", "a\n\n"], mixed):
        batch = TextBatch(texts)
        for segments, split in ((batch.splitlines, str.splitlines), (batch.runs_of_lines, lambda t: re.split("\n+", t))):
            expected = [(i, line) for i, t in enumerate(texts) for line in split(t)]
            assert segments.values.to_pylist() == [line for _, line in expected]
            assert segments.doc.tolist() == [i for i, _ in expected]
