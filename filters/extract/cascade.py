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
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from copy import copy

from lxml.etree import strip_tags
from trafilatura import core
from trafilatura.external import compare_extraction
from trafilatura.main_extractor import extract_content
from trafilatura.settings import Extractor
from trafilatura.utils import normalize_unicode
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
