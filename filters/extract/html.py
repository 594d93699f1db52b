"""HTML → main text: a lexbor pre-pass, then trafilatura tuned for precision (as FineWeb).

Why the pre-pass: trafilatura spends most of its time in XPath pruning and in its fallback
extractors, and both scale with the size of the tree. Lexbor (C, via selectolax) parses a page in
a millisecond or two; it reads the title and date and removes the elements trafilatura's own
cleaning discards anyway (scripts, styles, forms controls, embedded media, nav/aside/footer,
hidden blocks), so trafilatura parses and walks a much smaller tree. trafilatura then runs in
precision mode without its fallback cascade; the full cascade runs again only when that fast
result is short, which is where the fallback changes the output (measured on the trafilatura
evaluation pages, see bench/bench_extract.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import trafilatura
from selectolax.lexbor import LexborHTMLParser

# Recorded in the stage manifest: the exact settings of every extraction.
TRAFILATURA_SETTINGS = {
    "favor_precision": True,
    "include_comments": False,
    "include_tables": True,
    "include_images": False,
    "deduplicate": False,
    "fast": True,
    "full_cascade_below_chars": 1000,
}

# Elements removed before trafilatura: all are discarded by trafilatura's tree cleaning too
# (settings.MANUALLY_CLEANED / precision xpaths); ld+json scripts stay (forum detection).
PREPASS_REMOVE = ",".join([
    "script:not([type='application/ld+json'])", "style", "noscript", "template", "svg", "iframe",
    "object", "embed", "canvas", "video", "audio", "map", "link", "meta", "select", "textarea",
    "input", "button", "source", "track", "param", "aside", "footer", "nav", "menu",
    "[hidden]", "[aria-hidden='true']", "[style*='display:none']", "[style*='display: none']",
])

_DATE_META = (
    "meta[property='article:published_time']", "meta[name='date']", "meta[itemprop='datePublished']",
    "meta[name='dc.date']", "meta[name='DC.date.issued']", "meta[property='og:updated_time']",
    "time[datetime]",
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# Lexbor's tree building is quadratic in nesting depth (200k nested divs: minutes in C code, which
# no timer can interrupt); libxml2, used by trafilatura, caps depth. Pages with a run of more
# opening tags than this without any closing tag skip the pre-pass.
MAX_OPEN_TAG_RUN = 3000


@dataclass
class HtmlResult:
    text: str
    title: str | None
    date: str | None


def prepass(html: str) -> tuple[str, str | None, str | None]:
    """Return (reduced html, title, date) from one lexbor parse."""
    tree = LexborHTMLParser(html)
    title = _title(tree)
    date = _date(tree)
    for node in tree.css(PREPASS_REMOVE):
        node.decompose()
    return tree.html or "", title, date


def _title(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first("meta[property='og:title']")
    value = node.attributes.get("content") if node is not None else None
    if not value:
        node = tree.css_first("title")
        value = node.text(strip=True) if node is not None else None
    return " ".join(value.split())[:1000] or None if value else None


def _date(tree: LexborHTMLParser) -> str | None:
    for selector in _DATE_META:
        node = tree.css_first(selector)
        if node is None:
            continue
        value = node.attributes.get("content") or node.attributes.get("datetime") or ""
        match = _ISO_DATE.search(value)
        if match:
            return match.group(0)
    return None


def _trafilatura(html: str, url: str | None, fast: bool) -> str:
    settings = TRAFILATURA_SETTINGS
    return trafilatura.extract(
        html,
        url=url,
        favor_precision=settings["favor_precision"],
        include_comments=settings["include_comments"],
        include_tables=settings["include_tables"],
        include_images=settings["include_images"],
        deduplicate=settings["deduplicate"],
        fast=fast,
    ) or ""


def max_open_tag_run(html: str) -> int:
    """Longest run of opening tags with no closing tag in between (a cheap bound on depth)."""
    data = np.frombuffer(html.encode("utf-8", "replace"), dtype=np.uint8)
    starts = np.flatnonzero(data[:-1] == 60)  # "<"
    if starts.size == 0:
        return 0
    following = data[starts + 1]
    closing = following == 47  # "/"
    opening = ((following | 32) >= 97) & ((following | 32) <= 122)  # a letter
    events = closing[closing | opening]
    close_at = np.flatnonzero(events)
    bounds = np.concatenate(([-1], close_at, [events.size]))
    return int(np.diff(bounds).max() - 1)


def extract_html(html: str, url: str | None = None) -> HtmlResult:
    """Main text, title and date of one page ('' text when nothing is extractable)."""
    if max_open_tag_run(html) > MAX_OPEN_TAG_RUN:
        return HtmlResult(text=_trafilatura(html, url, fast=True), title=None, date=None)
    reduced, title, date = prepass(html)
    text = _trafilatura(reduced, url, fast=True)
    if len(text) < TRAFILATURA_SETTINGS["full_cascade_below_chars"]:
        full = _trafilatura(reduced, url, fast=False)
        if len(full) > len(text):
            text = full
    return HtmlResult(text=text, title=title, date=date)
