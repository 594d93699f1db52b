"""Extraction quality on trafilatura's staged evaluation pages vs plain trafilatura defaults."""

from __future__ import annotations

from pathlib import Path

import trafilatura
from evaldata import load_pages, snippet_scores

from filters.extract.html import extract_html


def test_snippets_at_least_plain_trafilatura(shared_data: Path):
    pages = load_pages(shared_data)
    assert len(pages) >= 200
    ours = snippet_scores(pages, lambda html, url: extract_html(html, url).text)
    plain = snippet_scores(pages, lambda html, url: trafilatura.extract(html, url=url))
    print(f"\nours  {ours}\nplain {plain}")
    assert ours["satisfied_share"] >= plain["satisfied_share"]
    assert ours["without_share"] >= plain["without_share"]  # precision-tuned: fewer boilerplate leaks
    assert ours["with_share"] >= 0.85
