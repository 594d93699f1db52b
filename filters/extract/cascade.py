"""trafilatura's fallback extractors, run only when its main extractor came up short.

trafilatura offers two modes: `fast=True` (main extractor only) and `fast=False` (main extractor,
then always readability and, for short or unclean results, jusText, keeping the better text).
FineWeb-like precision wants the fallbacks where the main extractor fails (short pages), but they
are wasted on the long results where they almost never win. Calling trafilatura twice (fast, then
full when short) runs the whole main extractor a second time on every short page: half the CPU
of a real crawl, where most pages are short.

`gated_fallback(limit)` makes one `trafilatura.extract(..., fast=True)` call run the fallback
comparison exactly where the full cascade would, but only when the main text is shorter than
`limit` characters. It swaps trafilatura's private `core._extract_and_compare` (one function, two
lines of logic: main extractor, then `compare_extraction` unless fast) for the same two steps with
the length gate; the gate is a context variable, so other trafilatura callers in the process keep
the original behaviour. trafilatura is pinned (requirements.lock); if the function ever changes
shape, `SUPPORTED` is False and html.py calls trafilatura twice instead (same texts, slower).

`extract_text(tree, options)` is `trafilatura.extract(tree, options=options)` for our settings
without its copy of the input tree (html.py parses a tree per page for trafilatura alone):
`core.trafilatura_sequence` and the few checks and the text rendering that `bare_extraction` and
`determine_returnstring` do around it for txt output without metadata, comments, language or
dedup (trafilatura 2.3.1, Apache-2.0). `SEQUENCE_SUPPORTED` guards it like `SUPPORTED`.

`_link_density_test` is trafilatura's `htmlprocessing.link_density_test` (the main extractor tests
every div, list, p, head and quote of a candidate subtree with it, twice over: ~10% of our time
on the evaluation pages) with its two ElementPath walks, `findall(".//ref")` and
`find(".//graphic")`, replaced by the `iterdescendants()` walks lxml's ElementPath runs for them,
without its Python-level path machinery. Same elements in the same order, hence the same
decisions (test); swapped in only while trafilatura's own function is the one it was copied from
(`LINK_DENSITY_SUPPORTED`: its source hash), and the same for any caller.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from copy import copy

from lxml.etree import strip_tags
from trafilatura import core, htmlprocessing
from trafilatura.external import compare_extraction
from trafilatura.main_extractor import extract_content
from trafilatura.settings import Extractor
from trafilatura.utils import LINK_FARM_RATIO, normalize_unicode, trim
from trafilatura.xml import xmltotxt

_ORIGINAL = getattr(core, "_extract_and_compare", None)
_EXPECTED_PARAMETERS = ["cleaned_tree", "cleaned_tree_backup", "tree", "options"]
SUPPORTED = _ORIGINAL is not None and list(inspect.signature(_ORIGINAL).parameters) == _EXPECTED_PARAMETERS

_SEQUENCE = getattr(core, "trafilatura_sequence", None)
SEQUENCE_SUPPORTED = _SEQUENCE is not None and list(inspect.signature(_SEQUENCE).parameters) == ["tree", "options", "url"]

_LIMIT: ContextVar[int | None] = ContextVar("trafilatura_fallback_below_chars", default=None)


def _extract_and_compare(cleaned_tree, cleaned_tree_backup, tree, options):
    """trafilatura's cascade stages 1-2, with the fallback comparison gated on the text length."""
    limit = _LIMIT.get()
    if limit is None:
        return _ORIGINAL(cleaned_tree, cleaned_tree_backup, tree, options)
    postbody, temp_text = extract_content(cleaned_tree, options)
    if len(temp_text) < limit:
        postbody, temp_text = compare_extraction(cleaned_tree_backup, copy(tree), postbody, temp_text, options)
    return postbody, temp_text


if SUPPORTED:
    core._extract_and_compare = _extract_and_compare


def _link_density_test(element, favor_precision: bool = False) -> tuple[bool, bool]:
    """trafilatura 2.3.1's link_density_test (Apache-2.0), walks by iterdescendants()."""
    links_xpath = list(element.iterdescendants("ref"))  # = findall(".//ref")
    if not links_xpath:
        return False, False
    # preserve image containers
    if next(element.iterdescendants("graphic"), None) is not None:  # = find(".//graphic")
        return False, False
    text = trim(element.text_content())
    # shortcut
    if len(links_xpath) == 1:
        len_threshold = 10 if favor_precision else 100
        link_text = trim(links_xpath[0].text_content())
        if len(link_text) > len_threshold and len(link_text) > len(text) * 0.9:
            return True, False
    if element.tag == "p":
        limitlen = 60 if element.getnext() is None else 30
    elif element.getnext() is None:
        limitlen = 300
    else:
        limitlen = 100
    elemlen = len(text)
    if elemlen < limitlen:
        linklen, elemnum, shortelems, _ = htmlprocessing.collect_link_info(links_xpath)
        if elemnum == 0:
            return True, False
        return linklen > elemlen * 0.8 or (elemnum > 1 and shortelems / elemnum > 0.8), True
    if len(links_xpath) > 4:
        linklen, elemnum, _, _ = htmlprocessing.collect_link_info(links_xpath)
        if (linklen > len(text) * LINK_FARM_RATIO and linklen < 100 * elemnum
                and not htmlprocessing.is_paragraph_listing(links_xpath)):
            return True, False
    return False, False


def _source_hash(function) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]


ORIGINAL_LINK_DENSITY_TEST = htmlprocessing.link_density_test
LINK_DENSITY_SUPPORTED = _source_hash(ORIGINAL_LINK_DENSITY_TEST) == "0b3d71f252bf1963"
if LINK_DENSITY_SUPPORTED:
    htmlprocessing.link_density_test = _link_density_test


@contextmanager
def gated_fallback(limit: int) -> Iterator[None]:
    """Within this block, `trafilatura.extract(fast=True)` compares with readability/jusText
    whenever the main extractor's text is shorter than `limit` characters."""
    token = _LIMIT.set(limit)
    try:
        yield
    finally:
        _LIMIT.reset(token)


def extract_text(tree, options: Extractor) -> str:
    """trafilatura.extract(tree, options=options) ('' for None), consuming `tree`; for txt output
    with comments, metadata, language and dedup checks off (asserted)."""
    assert options.format == "txt" and not (options.comments or options.with_metadata or options.lang or options.dedup)
    try:
        body, text, comments_body, comments = _SEQUENCE(tree, options, options.url)
        if options.max_tree_size and len(body) > options.max_tree_size:
            strip_tags(body, "hi")
            if len(body) > options.max_tree_size:
                return ""
        if len(text) < options.min_output_size and len(comments) < options.min_output_comm_size:
            return ""
    except (TypeError, ValueError):  # what bare_extraction turns into None
        return ""
    rendered = f"{xmltotxt(body, options.formatting)}\n{xmltotxt(comments_body, options.formatting)}"
    return normalize_unicode(rendered.strip())
