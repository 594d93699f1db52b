"""HTML → main text: one lxml parse, a pre-pass, then trafilatura tuned for precision (as FineWeb).

Where the time goes (profiles on the bench pages): trafilatura's XPath walks (a dozen attribute
conditions per element per expression, `re:test` ones calling back into Python), its tree copies,
the parse and, on short pages, its fallback extractors. So:
- parse once with libxml2 (the parser trafilatura uses), from UTF-8 bytes (the payload itself
  when it is valid UTF-8: decode.utf8_source), and hand trafilatura the tree, not the text: no
  second parse, and a C-level element class lookup (lxml.html's default lookup is a Python call
  for every element proxy trafilatura creates);
- the pre-pass reads title and date, then removes what trafilatura discards anyway (scripts,
  styles, form controls, embedded media, nav/aside/footer; hidden blocks in fast_xpaths.mark), so
  every XPath walk and copy sees a smaller tree;
- fast_xpaths answers the attribute conditions of trafilatura's XPaths once per page (its
  marking walk in C: _markwalk.pyx), and expressions that can match nothing on the page are not
  evaluated;
- trafilatura's main extractor runs in precision mode, and its readability/jusText comparison only
  when the main text is shorter than `fallback_below_chars` (cascade.py): where the full cascade
  changes the output, without running the main extractor twice; trafilatura gets our tree to
  consume (no copy of it) and a prebuilt Extractor; its link-density test walks descendants
  without ElementPath (cascade._link_density_test); on pages with much text, its two backup
  trees are rebuilt only if the text comes out short (cascade: lazy backups);
- a worker calls prepare_process() once: warm-up, then gc.freeze() of the import-time objects,
  which full collections would otherwise keep re-reading.
Measured on both axes by bench/bench_extract.py (settings in filters/extract/README.md).
"""

from __future__ import annotations

import gc
import re
from copy import copy
from dataclasses import dataclass

import trafilatura
from lxml import etree
from lxml import html as lxml_html
from trafilatura.settings import Extractor

from filters.extract import cascade, fast_xpaths

# Recorded in the stage manifest: the exact settings of every extraction.
TRAFILATURA_SETTINGS = {
    "favor_precision": True,
    "include_comments": False,
    "include_tables": True,
    "include_images": False,
    "deduplicate": False,
    "fast": True,
    "fallback_below_chars": 1000,
}

# Removed before trafilatura: all are discarded by trafilatura's tree cleaning too
# (settings.MANUALLY_CLEANED / precision xpaths); ld+json scripts stay (forum detection).
PREPASS_REMOVE = [
    "style", "noscript", "template", "svg", "iframe", "object", "embed", "canvas", "video", "audio",
    "map", "link", "select", "textarea", "input", "button", "source", "track", "param", "aside",
    "footer", "nav", "menu",
]
# <meta> keys holding the publication date, in order of preference; then <time datetime>.
_DATE_KEYS = ["article:published_time", "date", "datePublished", "dc.date", "DC.date.issued", "og:updated_time"]
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _parser() -> etree.HTMLParser:
    """libxml2 with trafilatura's options, reading UTF-8 bytes (a fifth faster than a Python str,
    which libxml2 gets in a wider encoding and converts); elements are lxml.html's HtmlElement
    (trafilatura calls its text_content()), assigned in C instead of lxml.html's per-element
    Python lookup."""
    parser = etree.HTMLParser(collect_ids=False, default_doctype=False, remove_comments=True,
                              remove_pis=True, encoding="utf-8")
    parser.set_element_class_lookup(etree.ElementDefaultClassLookup(
        element=lxml_html.HtmlElement, comment=lxml_html.HtmlComment,
        pi=lxml_html.HtmlProcessingInstruction, entity=lxml_html.HtmlEntity))
    return parser


_PARSER = _parser()


@dataclass
class HtmlResult:
    text: str
    title: str | None
    date: str | None


def parse(html: str | bytes) -> lxml_html.HtmlElement | None:
    """The page (text, or its UTF-8 bytes: decode.utf8_source) as an lxml tree (None when there
    is no document)."""
    data = html if isinstance(html, bytes) else html.encode("utf-8", "replace")
    try:
        return lxml_html.document_fromstring(data, parser=_PARSER)
    except etree.ParserError:  # "Document is empty"
        return None


def prepass(tree: lxml_html.HtmlElement) -> tuple[str | None, str | None]:
    """Read (title, date), then remove in place what trafilatura would discard anyway (hidden
    blocks: fast_xpaths.mark, in the walk it makes anyway)."""
    title, date = _title_and_date(tree)
    for node in list(tree.iter("script")):
        if node.get("type") != "application/ld+json":
            node.drop_tree()  # the tail text stays, as with every removal here
    etree.strip_elements(tree, *PREPASS_REMOVE, with_tail=False)
    etree.strip_tags(tree, "meta")
    return title, date


def _title_and_date(tree: lxml_html.HtmlElement) -> tuple[str | None, str | None]:
    """og:title, else <title>; the first ISO date of the known <meta> keys, else of <time>."""
    title = og_title = None
    dates: dict[str, str] = {}
    for node in tree.iter("meta", "title"):
        if node.tag == "title":
            title = node.text_content() if title is None else title
            continue
        if og_title is None and node.get("property") == "og:title":
            og_title = node.get("content")
        for attribute in ("property", "name", "itemprop"):
            key = node.get(attribute)
            if key in _DATE_KEYS and key not in dates:
                dates[key] = node.get("content") or ""
    value = og_title or title
    title = " ".join(value.split())[:1000] or None if value else None
    candidates = [dates.get(key, "") for key in _DATE_KEYS]
    candidates += [node.get("datetime") or "" for node in tree.iter("time") if node.get("datetime")][:1]
    for candidate in candidates:
        match = _ISO_DATE.search(candidate)
        if match:
            return title, match.group(0)
    return title, None


# One Extractor per mode, copied per page (building one reads trafilatura's config each time).
_OPTIONS = {
    fast: Extractor(output_format="txt", fast=fast, precision=TRAFILATURA_SETTINGS["favor_precision"],
                    comments=TRAFILATURA_SETTINGS["include_comments"], tables=TRAFILATURA_SETTINGS["include_tables"],
                    images=TRAFILATURA_SETTINGS["include_images"], dedup=TRAFILATURA_SETTINGS["deduplicate"])
    for fast in (True, False)
}


def _trafilatura(tree: lxml_html.HtmlElement, url: str | None, fast: bool) -> str:
    """trafilatura.extract with TRAFILATURA_SETTINGS; consumes `tree` (pass a copy to keep it)."""
    options = copy(_OPTIONS[fast])
    options.url = options.source = url
    if cascade.SEQUENCE_SUPPORTED:
        return cascade.extract_text(tree, options)
    return trafilatura.extract(tree, options=options) or ""


_PREPARED = False
_WARM_UP = "<html><head><title>t</title></head><body><p>warm up</p></body></html>"


def prepare_process() -> None:
    """Once per process, before extracting pages: extract one small page (trafilatura's first call
    loads every jusText stoplist, lazy imports and patterns), then move every object alive at that
    point (modules, compiled XPaths, stoplists, after a collection of the garbage) to the
    collector's permanent generation (gc.freeze). They live as long as the process, and each full
    collection would scan them again: on the evaluation pages ~4% of the CPU went to collections,
    most of it re-reading these ~45k objects. Later objects are collected as usual."""
    global _PREPARED
    if _PREPARED:
        return
    extract_html(_WARM_UP)
    gc.collect()
    gc.freeze()
    _PREPARED = True


def extract_html(html: str | bytes, url: str | None = None) -> HtmlResult:
    """Main text, title and date of one page ('' text when nothing is extractable); `html` is the
    decoded page or its UTF-8 bytes (decode.utf8_source: no re-encoding for the parser)."""
    tree = parse(html)
    if tree is None:
        return HtmlResult(text="", title=None, date=None)
    title, date = prepass(tree)
    active = fast_xpaths.mark(tree)
    with fast_xpaths.rewritten(active):
        text = _main_text(tree, url)
    return HtmlResult(text=text, title=title, date=date)


def _main_text(tree: lxml_html.HtmlElement, url: str | None) -> str:
    limit = TRAFILATURA_SETTINGS["fallback_below_chars"]
    if cascade.SUPPORTED:
        with cascade.gated_fallback(limit):
            return _trafilatura(tree, url, fast=True)
    text = _trafilatura(copy(tree), url, fast=True)
    if len(text) < limit:
        text = max(text, _trafilatura(tree, url, fast=False), key=len)
    return text
