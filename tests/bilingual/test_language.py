"""Language id on real pages: code-heavy English documentation and mixed Chinese/English text.

Stage 2 keeps zh and en by default. fastText lid.176 reads a text's prose (filters/langid.prose):
before, 11 of the 498 python3-doc content pages (argparse, itertools, json, tty…) were dropped as
`extract:language` (score < 0.65 on their first 2,000 characters, mostly code); now none is. The
generated index pages (genindex-*.html: identifier lists, no prose, disallowed by the demo's
robots.txt) may still be: 14 of the 15 long enough to be read were with trafilatura's text, none is
with the native extractor (stage 2's default since).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from filters import langid
from filters.extract.stage import ExtractStage
from pipeline.config import load_config
from pipeline.runner import run_stage
from tests.bilingual.helpers import read_parts

PYTHON_DOC = Path("/usr/share/doc/python3.11/html")


@pytest.mark.slow
def test_python_doc_pages_are_kept_as_english(tmp_path: Path):
    assert (PYTHON_DOC / "index.html").is_file(), "python3-doc is installed by make setup (sysdeps)"
    pages = sorted(PYTHON_DOC.rglob("*.html"))
    config = load_config(None, ["run.progress=false", f"extract.inputs=[{PYTHON_DOC}/**/*.html]"])
    manifest = run_stage(2, str(tmp_path / "run"), config)
    assert manifest["rows_in"] == len(pages) >= 500
    kept = read_parts(tmp_path / "run" / "stage-2")
    dropped = manifest["dropped"]
    index_pages = [p for p in pages if p.name.startswith("genindex")]
    # every content page long enough is kept as English; only index pages fail the language check
    assert len(index_pages) == 30 and dropped.get("extract:language", 0) <= 15
    rejected = read_parts(tmp_path / "run" / "stage-2", "_rejects")  # None: nothing dropped at all
    language = [] if rejected is None else rejected.filter(
        pc.equal(rejected["reason"], "extract:language"))["url"].to_pylist()
    assert len(language) == dropped.get("extract:language", 0)  # all sampled: few per partition
    assert all(Path(u).name.startswith("genindex") for u in language)
    assert kept.num_rows >= len(pages) - len(index_pages) - 20  # the rest: too short (tiny stubs)
    assert set(kept["language"].to_pylist()) == {"en"}
    kept_urls = set(kept["url"].to_pylist())
    for name in ("argparse.html", "itertools.html", "json.html", "tty.html", "token.html", "dialog.html"):
        assert f"file://{PYTHON_DOC}/library/{name}" in kept_urls, name  # dropped as not English before
    scores = kept["language_score"].to_numpy()
    assert scores.min() >= 0.65 and np.median(scores) > 0.9


def _paragraphs(texts: list[str]) -> list[str]:
    return [p for t in texts for p in t.split("\n") if len(p) > 40]


def test_mixed_chinese_english_pages_are_kept(shared_data: Path):
    """Real Chinese (CCNet) and English (CCNet) paragraphs interleaved at 30-70% Chinese: lid.176
    splits its probability between zh and en; stage 2 keeps such a page when both are wanted (their
    sum reaches 0.65), and still drops it when only one of them is."""
    zh_path = shared_data / "zh" / "web_text" / "chinesewebtext" / "cc_2021-43_cleared1.jsonl"
    zh = _paragraphs([json.loads(line)["raw_content"] for line in zh_path.open(encoding="utf-8")])
    with gzip.open(shared_data / "cc-text" / "dolma-ccnet" / "cc_en_head-0091.jsonl.gz", "rt") as lines:
        en = _paragraphs([json.loads(line)["text"] for line in lines])
    mixed = []
    for i in range(60):
        share = 0.3 + 0.4 * (i % 5) / 4
        chinese, english = iter(zh[3 * i:] + zh), iter(en[3 * i:] + en)
        parts, zh_chars, total = [], 0, 0
        while total < 1500:
            is_zh = zh_chars <= share * total
            parts.append(next(chinese) if is_zh else next(english))
            zh_chars += len(parts[-1]) if is_zh else 0
            total += len(parts[-1])
        mixed.append("\n".join(parts))
    ranked, scores = langid.identify_ranked(mixed, k=2)
    table = pa.table({
        "language": [r[0] for r in ranked], "language_score": pa.array(scores[:, 0]),
        "second_language": [r[1] for r in ranked], "second_language_score": pa.array(scores[:, 1]),
        "n_chars": pa.array([len(t) for t in mixed], pa.int64()),
        "extract_failure": pa.nulls(len(mixed), pa.string()), "low_utility": pa.nulls(len(mixed), pa.string()),
    })
    both = _decide(table, ["zh", "en"])
    old_rule = sum(1 for r, s in zip(ranked, scores[:, 0], strict=True) if r[0] in ("zh", "en") and s >= 0.65)
    kept = both.null_count
    assert {r[0] for r in ranked} == {"zh", "en"}
    assert kept == len(mixed), f"kept {kept} of {len(mixed)} mixed pages"
    assert old_rule < len(mixed) - 5  # the top language alone is often under 0.65 on these
    only_zh = _decide(table, ["zh"])
    assert only_zh.null_count < sum(1 for r in ranked if r[0] == "zh")  # weak zh: dropped


def _decide(table: pa.Table, languages: list[str]) -> pa.Array:
    stage = ExtractStage.__new__(ExtractStage)
    stage.settings = ExtractStage.settings_model(languages=languages)
    return stage.decide(table)


def test_prose_leaves_out_code(shared_data: Path):
    text = (
        "The argparse module makes it easy to write user-friendly command-line interfaces.\n"
        "parser = argparse.ArgumentParser(prog='ProgramName')\n"
        ">>> json.dumps(['foo', {'bar': ('baz', None, 1.0, 2)}])\n"
        "The ArgumentParser.parse_args() method runs the parser and places the data in an object."
    )
    assert langid.prose(text) == ("The argparse module makes it easy to write user-friendly command-line "
                                  "interfaces. The method runs the parser and places the data in an object.")
    chinese = "使用 apt-get 安装软件包，然后运行 dpkg -l 查看。"
    assert "安装软件包" in langid.prose(chinese)
