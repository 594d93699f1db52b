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
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from copy import copy

from trafilatura import core
from trafilatura.external import compare_extraction
from trafilatura.main_extractor import extract_content

_ORIGINAL = getattr(core, "_extract_and_compare", None)
_EXPECTED_PARAMETERS = ["cleaned_tree", "cleaned_tree_backup", "tree", "options"]
SUPPORTED = _ORIGINAL is not None and list(inspect.signature(_ORIGINAL).parameters) == _EXPECTED_PARAMETERS

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
