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

Lazy backups (`LAZY_BACKUPS_SUPPORTED`, in the gated mode only): trafilatura copies the tree three
times per page, the raw tree (kept for readability), a backup of the cleaned tree (for jusText)
and a deepcopy of the converted tree (for the wild-text recovery). The last two are read only
when the text comes out short, and both are functions of the raw tree, which stays intact until
then: on pages with much text, where that is rare, they are rebuilt from it on demand instead
(`_prepare_tree`, `_extract_content`, `_converted`). A test checks the rebuilt trees against
trafilatura's copies node for node. Swapped in only while trafilatura's functions have the source
they were copied from (hashes).

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

from lxml import etree
from lxml.etree import strip_elements, strip_tags
from trafilatura import core, htmlprocessing, main_extractor
from trafilatura.external import compare_extraction
from trafilatura.htmlprocessing import convert_tags, prune_unwanted_nodes, tree_cleaning
from trafilatura.main_extractor import extract_content
from trafilatura.settings import Extractor
from trafilatura.utils import LINK_FARM_RATIO, normalize_unicode, text_chars_test, trim
from trafilatura.xml import delete_element, xmltotxt
from trafilatura.xpaths import REMOVE_COMMENTS_XPATH

_ORIGINAL = getattr(core, "_extract_and_compare", None)
_EXPECTED_PARAMETERS = ["cleaned_tree", "cleaned_tree_backup", "tree", "options"]
SUPPORTED = _ORIGINAL is not None and list(inspect.signature(_ORIGINAL).parameters) == _EXPECTED_PARAMETERS

_SEQUENCE = getattr(core, "trafilatura_sequence", None)
SEQUENCE_HASH = "f03dc4d2946dacbd"  # the sequence calling the functions swapped below
SEQUENCE_SUPPORTED = _SEQUENCE is not None and list(inspect.signature(_SEQUENCE).parameters) == ["tree", "options", "url"]

_LIMIT: ContextVar[int | None] = ContextVar("trafilatura_fallback_below_chars", default=None)
_IS_FORUM: ContextVar[bool] = ContextVar("trafilatura_is_forum", default=False)
_LAZY: ContextVar[bool] = ContextVar("trafilatura_lazy_backups", default=False)


def _source_hash(function) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]


# Lazy backups (gated mode only): trafilatura 2.3.1 copies the page tree three times per page;
# two of those copies are read only when the text comes out short, and both are functions of the
# raw tree, which it keeps intact until then. They are rebuilt from it when needed.
ORIGINAL_PREPARE_TREE = getattr(core, "_prepare_tree", None)
ORIGINAL_FORUM_TEST = getattr(core, "_forum_thread_page", None)
LAZY_BACKUPS_SUPPORTED = SUPPORTED and SEQUENCE_SUPPORTED and [
    _source_hash(f) if f is not None else None
    for f in (ORIGINAL_PREPARE_TREE, ORIGINAL_FORUM_TEST, extract_content, _SEQUENCE)
] == ["9595f0642825c2c7", "e7f7cef99b33704f", "f0270c94ac5f30b5", SEQUENCE_HASH] and getattr(
    getattr(core, "_DISCUSSION_FORUM_POSTING_RE", None), "pattern", None
) == r'"@type"\s*:\s*"DiscussionForumPosting"|"@type"\s*:\s*\[[^\]]*"DiscussionForumPosting"'


# The backups are rebuilt (lazily) only on pages with this much text or more (whitespace
# collapsed, counted on the raw tree: one XPath call, ~1% of a page). A rebuild costs ~3x a copy,
# so it pays where the text rarely comes out short: 13 of the 190 evaluation pages this long
# needed one (5.9% less CPU on those pages, in-process A/B), 11 of 38 real crawl pages (no change
# beyond noise, +0.9%); below it, most pages need the backups (all 45 real pages under 1,000
# chars did) and trafilatura's copies are kept.
LAZY_BACKUPS_FROM_CHARS = 2000
_PAGE_TEXT_CHARS = etree.XPath("string-length(normalize-space(.))")


def _cleaned(tree, options):
    """What trafilatura's backup of the cleaned tree holds: tree_cleaning of a copy of the raw tree."""
    return tree_cleaning(copy(tree), options)


def _prepare_tree(tree, options, url):
    """core._prepare_tree; on pages of LAZY_BACKUPS_FROM_CHARS or more, without its backup copy
    of the cleaned tree (None: rebuilt on demand), and extract_content's deepcopy skipped too."""
    if _LIMIT.get() is None:
        return ORIGINAL_PREPARE_TREE(tree, options, url)
    lazy = int(_PAGE_TEXT_CHARS(tree)) >= LAZY_BACKUPS_FROM_CHARS
    _LAZY.set(lazy)
    if not lazy:
        return ORIGINAL_PREPARE_TREE(tree, options, url)
    return convert_tags(_cleaned(tree, options), options, url), None


_HAS_FORUM_LITERAL = etree.XPath("""contains(., '"DiscussionForumPosting"')""")  # a script's string value is its text


def _forum_thread_page(tree) -> bool:
    """core._forum_thread_page, its answer kept for rebuilding the converted tree; a script's text
    is read into Python only when it holds the literal that both branches of the regex need
    (decoding every ld+json script, often tens of KB of JSON, was ~2% of our time on the
    evaluation pages)."""
    is_forum = any(
        script.get("type") == "application/ld+json" and _HAS_FORUM_LITERAL(script)
        and script.text and core._DISCUSSION_FORUM_POSTING_RE.search(script.text)
        for script in tree.iterdescendants("script")
    )
    _IS_FORUM.set(is_forum)
    return is_forum


def _converted(tree, options):
    """The tree extract_content gets, rebuilt from the raw tree as trafilatura_sequence builds it
    (comments off: asserted by extract_text)."""
    cleaned = convert_tags(_cleaned(tree, options), options, options.url)
    if options.focus == "precision" and not _IS_FORUM.get():
        cleaned = prune_unwanted_nodes(cleaned, REMOVE_COMMENTS_XPATH)
    return cleaned


def _extract_content(cleaned_tree, options, rebuild):
    """trafilatura 2.3.1's main_extractor.extract_content (Apache-2.0) with its backup tree built
    by `rebuild()` only when the wild-text recovery needs it, instead of a deepcopy per page."""
    order = list(cleaned_tree.iter())
    result_body, temp_text, potential_tags = main_extractor._extract(cleaned_tree, options)
    if len(result_body) == 0 or len(temp_text) < options.min_extracted_size:
        backup_tree = rebuild()
        consumed = {twin for elem, twin in zip(order, backup_tree.iter(), strict=True) if elem.tag == "done"}
        result_body = main_extractor.recover_wild_text(backup_tree, result_body, options, potential_tags, consumed)
        temp_text = " ".join(result_body.itertext()).strip()
    previous = None
    for el in list(result_body):
        current = main_extractor._elem_text(el)
        if current and current == previous and len(current) > main_extractor.MIN_DUPLICATE_LENGTH:
            delete_element(el, keep_tail=False)
        else:
            previous = current
    strip_elements(result_body, "done")
    strip_tags(result_body, "div")
    for linebreak in result_body.iter("lb"):
        if (
            linebreak.tail
            and not text_chars_test(linebreak.tail)
            and not any(anc.tag in main_extractor.SPACING_PROTECTED for anc in linebreak.iterancestors())
        ):
            linebreak.tail = None
    return result_body, temp_text


def _extract_and_compare(cleaned_tree, cleaned_tree_backup, tree, options):
    """trafilatura's cascade stages 1-2, with the fallback comparison gated on the text length."""
    limit = _LIMIT.get()
    if limit is None:
        return _ORIGINAL(cleaned_tree, cleaned_tree_backup, tree, options)
    if LAZY_BACKUPS_SUPPORTED and _LAZY.get():
        postbody, temp_text = _extract_content(cleaned_tree, options, lambda: _converted(tree, options))
    else:
        postbody, temp_text = extract_content(cleaned_tree, options)
    if len(temp_text) < limit:
        if cleaned_tree_backup is None:  # skipped by _prepare_tree
            cleaned_tree_backup = _cleaned(tree, options)
        postbody, temp_text = compare_extraction(cleaned_tree_backup, copy(tree), postbody, temp_text, options)
    return postbody, temp_text


if SUPPORTED:
    core._extract_and_compare = _extract_and_compare
if LAZY_BACKUPS_SUPPORTED:
    core._prepare_tree = _prepare_tree
    core._forum_thread_page = _forum_thread_page


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
