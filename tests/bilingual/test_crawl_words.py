"""Stage 1's low-utility signals on real Chinese pages: words are segments, not space-separated runs.

Counted with spaces, 9 of the 86 real Chinese article pages of ../shared/data/zh were "thin" (fewer
than 80 words) and 1 a "link farm" (too many links per 100 words); stage 2 then dropped them as
extract:low_utility. Counted in segments (filters/segment.py) none is, and English pages keep their
flags (python3-doc, trafilatura's test pages).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from crawl.config import LowUtilityConfig
from crawl.parse import PageInfo, parse_html
from crawl.selection.low_utility import assess
from filters import segment


def _zh_articles(shared_data: Path) -> list[bytes]:
    base = shared_data / "zh"
    rows = [json.loads(line) for line in (base / "html" / "manifest.jsonl").open(encoding="utf-8")]
    return [gzip.open(base / row["path"]).read() for row in rows if row["page_type"] != "list"]


def test_chinese_articles_are_not_thin_or_link_farms(shared_data: Path):
    settings = LowUtilityConfig()
    pages = _zh_articles(shared_data)
    assert len(pages) == 86
    flagged, spaced_thin = [], 0
    for body in pages:
        info = parse_html(body)
        assert info.words == len(segment.split(info.text, whole_words=True))
        spaced_thin += len(info.text.split()) < settings.min_words
        verdict = assess(info, settings)
        if verdict.flag:
            flagged.append(verdict.reasons)
    assert spaced_thin >= 9  # what space-separated counting called thin
    assert flagged == []


def test_english_pages_keep_their_flags(shared_data: Path):
    """Segments count English words as str.split() does, runs of punctuation alone ("|", "»")
    aside: of trafilatura's 110 test pages, 2 short German pages (76 and 79 words; 82 and 88 with
    their separators) become thin, none changes otherwise."""
    settings = LowUtilityConfig()
    pages = sorted((shared_data / "trafilatura" / "tests" / "cache").glob("*.html"))
    changed = []
    for path in pages:
        info = parse_html(path.read_bytes())
        new, words = assess(info, settings).reasons, info.words
        info.words = len(info.text.split())
        if assess(info, settings).reasons != new:
            changed.append(path.name)
            assert new == "thin" and words < settings.min_words <= 1.1 * info.words
    assert len(pages) >= 100 and len(changed) <= 2


def test_chinese_keyword_stuffing_by_character_bigrams(shared_data: Path):
    """Keyword stuffing in Chinese is seen in character bigrams: at a share of 0.1 (the default,
    0.25, is looser) a real CCNet price-table page repeating one keyword (铂金, 15% of its content
    bigrams) is flagged, and none of the 86 real Chinese articles is (their top bigram: at most 5%).
    Whole runs of Han characters between punctuation, the old "words", never repeat enough."""
    settings = LowUtilityConfig(max_top_word_share=0.1)
    path = shared_data / "zh" / "web_text" / "chinesewebtext" / "cc_2021-43_cleared1.jsonl"
    docs = [json.loads(line) for line in path.open(encoding="utf-8")]
    price_table = next(d["raw_content"] for d in docs if d["title"].startswith("过去90天铂金"))
    info = PageInfo(text=price_table, words=int(segment.count([price_table], whole_words=True)[0]))
    assert "keyword_stuffing" in assess(info, settings).reasons
    stuffed = sum("keyword_stuffing" in assess(PageInfo(text=d["raw_content"], words=10_000), settings).reasons
                  for d in docs)
    assert stuffed <= 3  # of 100 CCNet "middle" documents
    for body in _zh_articles(shared_data):
        assert "keyword_stuffing" not in assess(parse_html(body), settings).reasons
