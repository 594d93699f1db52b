"""trafilatura's regex conditions, evaluated once per distinct attribute value instead of per walk.

Why: about 40% of trafilatura's time is its XPath pruning, and nearly all of it is the EXSLT
`re:test(@class, '...')` conditions, which lxml implements as a Python callback for every candidate
element of every expression (some twenty walks over each page tree).

How: each `re:test(@a|@b, 'pattern'[, 'flags'])` in trafilatura's expression lists is rewritten to
`contains(@data-tq-a-b, ' n ')` (plain libxml2, no callback), and `mark(tree)` gives every element
those marker attributes first: the numbers of the patterns its attribute value matches. Values are
matched once per distinct value (cached across pages): plain patterns all at once by one RE2 set
(google-re2), the others (lookarounds, backslash classes, `$`, case-insensitive flags) by Python's
re, which is what lxml itself calls.

Why the matches are the same: re:test on an attribute node set tests the string value of its first
node in document order (the first of the attributes in source order, `_first` below) or '' when
there is none; patterns matching '' are left as they were. trafilatura never sets class/id/style
and clears attributes only wholesale (markers go with them); copies keep them. The rewritten lists
are swapped in only inside `rewritten()`, so other trafilatura callers see the originals (the
swap is process-wide: a thread running trafilatura on an unmarked tree at the same moment would
see the rewritten lists; stage workers extract one document at a time). A test compares full
extractions with and without on real pages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import re2
from lxml import etree
from trafilatura import xpaths

_RE_TEST = re.compile(
    r"re:test\(\s*(@[\w-]+(?:\s*\|\s*@[\w-]+)*)\s*,\s*('[^']*'|\"[^\"]*\")\s*(?:,\s*('[^']*'|\"[^\"]*\")\s*)?\)"
)
# Patterns RE2 and Python's re read the same way: literals, groups, alternation, ASCII classes, ^.
_RE2_SAFE = re.compile(r"(?:[A-Za-z0-9_ :-]|[|()?\[\]^*+])*")
_CACHE_MAX = 200_000


@dataclass
class _Pattern:
    regex: re.Pattern
    re2: bool  # matched by the key's RE2 set


class _Key:
    """One attribute set tested by re:test (e.g. @id|@class) and the patterns tested on it."""

    def __init__(self, names: tuple[str, ...]):
        self.names = names
        self.attribute = "data-tq-" + "-".join(names)
        self.patterns: list[_Pattern] = []
        self._set: re2.Set | None = None
        self._set_numbers: list[int] = []
        self._python: list[tuple[int, re.Pattern]] = []

    def compile(self) -> None:
        self._set = re2.Set.SearchSet(re2.Options())
        for number, pattern in enumerate(self.patterns):
            if pattern.re2:
                self._set_numbers.append(number)
                assert self._set.Add(pattern.regex.pattern) == len(self._set_numbers) - 1
            else:
                self._python.append((number, pattern.regex))
        self._set.Compile()

    def marks(self, value: str) -> str:
        """The marker of one attribute value (cached)."""
        marks = _CACHE.get((self.attribute, value))
        if marks is None:
            bits = 0
            for index in self._set.Match(value) or ():
                bits |= 1 << self._set_numbers[index]
            for number, regex in self._python:
                if regex.search(value) is not None:
                    bits |= 1 << number
            if len(_CACHE) > _CACHE_MAX:
                _CACHE.clear()
            marks = _CACHE[(self.attribute, value)] = _marks(bits)
        return marks

    def number(self, pattern: str, flags: str) -> int | None:
        """The pattern's bit in the marker (None: no bit left, keep the callback)."""
        regex = re.compile(pattern, re.IGNORECASE if "i" in flags else 0)
        for number, known in enumerate(self.patterns):
            if known.regex == regex:
                return number
        if len(self.patterns) == 64:
            return None
        plain = _RE2_SAFE.fullmatch(pattern) is not None and "(?" not in pattern.replace("(?:", "")
        self.patterns.append(_Pattern(regex, re2=plain and not flags))
        return len(self.patterns) - 1


_KEYS: dict[tuple[str, ...], _Key] = {}
_SWAPS: list[tuple[list, int, etree.XPath, etree.XPath]] = []  # (list, index, original, rewritten)
_CACHE: dict[tuple[str, str], str] = {}
_MARKS: dict[int, str] = {}


def _rewrite(path: str) -> str:
    def replace(call: re.Match) -> str:
        names = tuple(name.strip()[1:] for name in call.group(1).split("|"))
        pattern, flags = call.group(2)[1:-1], (call.group(3) or "''")[1:-1]
        if re.search(pattern, "", re.IGNORECASE if "i" in flags else 0):
            return call.group(0)  # an absent attribute would match: keep the callback
        key = _KEYS.setdefault(names, _Key(names))
        number = key.number(pattern, flags)
        return call.group(0) if number is None else f"contains(@{key.attribute}, ' {number} ')"

    return _RE_TEST.sub(replace, path)


def _prepare() -> None:
    for name in sorted(vars(xpaths)):
        expressions = getattr(xpaths, name)
        if not (name.isupper() and isinstance(expressions, list)):
            continue
        for index, expression in enumerate(expressions):
            if isinstance(expression, etree.XPath) and "re:test" in expression.path:
                path = _rewrite(expression.path)
                if path != expression.path:
                    fast = etree.XPath(path, namespaces={"re": xpaths.REGEXP_NS})
                    _SWAPS.append((expressions, index, expression, fast))
    for key in _KEYS.values():
        key.compile()


_prepare()
_NAMES = sorted({name for names in _KEYS for name in names})
_NAME_SET = frozenset(_NAMES)
_ELEMENT_CACHE: dict[tuple, list[tuple[str, str]]] = {}
_set = etree._Element.set  # lxml.html's HtmlElement.set adds a Python-level wrapper
_WITH_ATTRIBUTES = etree.XPath("//*[" + " or ".join(f"@{name}" for name in _NAMES) + "]") if _NAMES else None


@contextmanager
def rewritten() -> Iterator[None]:
    """trafilatura's expression lists use the marker attributes within this block."""
    for expressions, index, _, fast in _SWAPS:
        expressions[index] = fast
    try:
        yield
    finally:
        for expressions, index, original, _ in _SWAPS:
            expressions[index] = original


def mark(tree: etree._Element) -> None:
    """Set the marker attributes on every element of `tree` (in place)."""
    if _WITH_ATTRIBUTES is None:
        return
    if len(_ELEMENT_CACHE) > _CACHE_MAX:
        _ELEMENT_CACHE.clear()
    for elem in _WITH_ATTRIBUTES(tree):
        values = tuple(map(elem.get, _NAMES))
        # XPath's `@a|@b` is the first of the two in source order: only then is the order needed
        order = tuple(n for n in elem.keys() if n in _NAME_SET) if len(values) - values.count(None) > 1 else ()
        markers = _ELEMENT_CACHE.get((values, order))
        if markers is None:
            markers = _ELEMENT_CACHE[(values, order)] = _markers(dict(zip(_NAMES, values, strict=True)), order)
        for attribute, marks in markers:
            _set(elem, attribute, marks)


def _markers(values: dict[str, str | None], order: tuple[str, ...]) -> list[tuple[str, str]]:
    """(marker attribute, marks) to set on an element with these attribute values."""
    markers = []
    for names, key in _KEYS.items():
        present = [name for name in (order or values) if name in names and values[name] is not None]
        value = values[present[0]] if present else None
        marks = key.marks(value) if value else ""
        if marks:
            markers.append((key.attribute, marks))
    return markers


def _marks(bits: int) -> str:
    """' 0  3 ' for bits 0 and 3: each number between spaces, as the rewritten contains() expects."""
    marks = _MARKS.get(bits)
    if marks is None:
        marks = _MARKS[bits] = "".join(f" {n} " for n in range(bits.bit_length()) if bits >> n & 1)
    return marks
