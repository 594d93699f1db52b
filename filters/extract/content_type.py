"""content_type ∈ {Web, Book, Paper, Document} from the format and a few cheap signals."""

from __future__ import annotations

import re

_PAPER_MARKERS = (
    re.compile(r"^\s*abstract\b", re.IGNORECASE | re.MULTILINE),
    re.compile(r"^\s*(references|bibliography)\s*$", re.IGNORECASE | re.MULTILINE),
    re.compile(r"\barXiv:\d{4}\.\d{4,5}", re.IGNORECASE),
    re.compile(r"\bdoi:\s*10\.\d{4,9}/|\bdoi\.org/10\.\d{4,9}/", re.IGNORECASE),
    re.compile(r"^\s*(\d+\.?\s+)?(introduction|conclusions?|related work)\s*$", re.IGNORECASE | re.MULTILINE),
)
PAPER_MIN_MARKERS = 3


def paper_markers(text: str) -> int:
    """How many scholarly-structure signals (abstract, references, arXiv id, DOI, sections) occur."""
    return sum(1 for marker in _PAPER_MARKERS if marker.search(text))


def content_type_for(kind: str, text: str, url: str | None = None) -> str:
    """kind is the input format: html, wet, text, pdf, epub."""
    if kind == "epub":
        return "Book"
    if kind == "pdf":
        return "Paper" if paper_markers(text) >= PAPER_MIN_MARKERS else "Document"
    if url and re.search(r"//(www\.)?arxiv\.org/(abs|pdf)/", url) and paper_markers(text) >= 2:
        return "Paper"
    return "Web" if kind in ("html", "wet") else "Document"
