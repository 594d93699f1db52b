"""HTML → main text, title and date: one libxml2 parse, then our extractor or trafilatura's.

`extract.extractor` picks the main-text extractor:
- `native` (default): ours (native.py: blocks, boilerplate evidence, best container; the walk in
  C). With `extract.fallback_below_confidence` > 0, pages where ours reports a lower confidence
  (short text, or a container holding little of the page's text) are handed to trafilatura: a
  measured cascade, its share in the manifest.
- `trafilatura`: trafilatura's public `extract()` with FineWeb's settings (TRAFILATURA_SETTINGS),
  unmodified.
The page is parsed once (libxml2 through lxml, from UTF-8 bytes: decode.utf8_source), title and
date are read from its metadata, and the tree goes to the extractor.
"""

from __future__ import annotations

import gc
import re
from dataclasses import dataclass

from lxml import etree
from lxml import html as lxml_html

from filters.extract import native

EXTRACTORS = ("native", "trafilatura")

# trafilatura.extract's keyword arguments when it is used (FineWeb's: favour precision, no
# comments), recorded in the manifest.
TRAFILATURA_SETTINGS = {
    "favor_precision": True,
    "include_comments": False,
    "include_tables": True,
    "include_images": False,
    "deduplicate": False,
}

# <meta> keys holding the publication date, in order of preference; then <time datetime>.
_DATE_KEYS = ["article:published_time", "date", "datePublished", "dc.date", "DC.date.issued", "og:updated_time"]
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _parser() -> etree.HTMLParser:
    """libxml2 reading UTF-8 bytes (a fifth faster than a Python str, which libxml2 gets in a
    wider encoding and converts); elements are lxml.html's HtmlElement (trafilatura calls
    text_content()), assigned in C instead of lxml.html's per-element Python lookup."""
    parser = etree.HTMLParser(collect_ids=False, default_doctype=False, remove_comments=True,
                              remove_pis=True, encoding="utf-8")
    parser.set_element_class_lookup(etree.ElementDefaultClassLookup(
        element=lxml_html.HtmlElement, comment=lxml_html.HtmlComment,
        pi=lxml_html.HtmlProcessingInstruction, entity=lxml_html.HtmlEntity))
    return parser


_PARSER = _parser()
# The parser is fed this many bytes at a time: between two feeds Python runs its signal handlers,
# so the per-document time limit (timeout.py, SIGALRM) holds during the parse of a large page too
# (one feed takes a few milliseconds; a whole page in one call could not be interrupted).
FEED_BYTES = 256 * 1024


@dataclass
class HtmlResult:
    text: str
    title: str | None
    date: str | None
    extractor: str = "native"  # what produced the text: native, or trafilatura (chosen or fallback)
    confidence: float | None = None  # native's, when it ran


def parse(html: str | bytes) -> lxml_html.HtmlElement | None:
    """The page (text, or its UTF-8 bytes: decode.utf8_source) as an lxml tree (None when there
    is no document)."""
    global _PARSER
    data = html if isinstance(html, bytes) else html.encode("utf-8", "replace")
    try:
        for start in range(0, len(data), FEED_BYTES):
            _PARSER.feed(data[start:start + FEED_BYTES])
        return _PARSER.close()
    except etree.XMLSyntaxError:  # no document ("Document is empty"); the parser is reset
        return None
    except BaseException:  # a timeout between two feeds: the next page gets a fresh parser
        _PARSER = _parser()
        raise


def title_and_date(page) -> tuple[str | None, str | None]:
    """og:title, else <title>; the first ISO date of the known <meta> keys (in _DATE_KEYS
    order), else of the first <time datetime>; from what the walk met (native.walk)."""
    meta: dict[str, str] = {}
    for key, content in page.meta:
        meta.setdefault(key, content)
    value = meta.get("og:title") or page.title
    title = " ".join(value.split())[:1000] or None if value else None
    for candidate in [meta.get(key, "") for key in _DATE_KEYS] + [page.datetime or ""]:
        match = _ISO_DATE.search(candidate)
        if match:
            return title, match.group(0)
    return title, None


def trafilatura_text(tree: lxml_html.HtmlElement, url: str | None) -> str:
    """trafilatura.extract (public API) with TRAFILATURA_SETTINGS; it may change `tree`."""
    import trafilatura

    return trafilatura.extract(tree, url=url, **TRAFILATURA_SETTINGS) or ""


def extract_html(html: str | bytes, url: str | None = None, extractor: str = "native",
                 fallback_below_confidence: float = 0.0) -> HtmlResult:
    """Main text, title and date of one page ('' text when nothing is extractable); `html` is the
    decoded page or its UTF-8 bytes (decode.utf8_source: no re-encoding for the parser)."""
    tree = parse(html)
    if tree is None:
        return HtmlResult(text="", title=None, date=None, extractor=extractor)
    page = native.walk(tree)
    title, date = title_and_date(page)
    if extractor == "trafilatura":
        return HtmlResult(trafilatura_text(tree, url), title, date, "trafilatura")
    result = native.select(page)
    if result.confidence < fallback_below_confidence:
        return HtmlResult(trafilatura_text(tree, url), title, date, "trafilatura", result.confidence)
    return HtmlResult(result.text, title, date, "native", result.confidence)


_PREPARED = False
_WARM_UP = "<html><head><title>t</title></head><body><p>warm up</p></body></html>"


def prepare_process() -> None:
    """Once per worker process: extract one small page (first-call set-up), then move every
    object alive then (modules, compiled patterns) to the collector's permanent generation
    (gc.freeze): they live as long as the process, and each full collection would scan them."""
    global _PREPARED
    if not _PREPARED:
        extract_html(_WARM_UP)
        gc.collect()
        gc.freeze()
        _PREPARED = True
