r"""trafilatura's pruning XPaths with their attribute conditions answered once per page, up front.

Why: more than half of our time was trafilatura's XPath walks (some fifteen per page, each
testing every element against a dozen conditions: EXSLT `re:test` calls back into Python,
`translate`, `contains` on several attributes), although the conditions on attributes can only
hold on the few elements that carry those attributes, and most expressions match nothing on a
given page.

How (rewrites of the expression lists trafilatura uses with our settings, `_LISTS`):
1. each `re:test(@a|@b, 'pattern'[, 'flags'])` becomes `contains(@data-tq-a-b, ' n ')`, a
   marker holding the numbers of the patterns the attribute value matches;
2. in each run of predicates (`.//*[self::div or ...][@id='x' or re:test(...)]`), a predicate
   made only of tests on the element's own attributes (`@a`, `@a='v'`, contains, starts-with,
   translate, re:test, joined by `or`) becomes one condition, tested as `[@data-tq-cN]` and put
   first in its run, so libxml2 tests tags and structure only on the few elements left;
3. within `rewritten(active)`, an expression with a condition that no element of the page
   matched returns [] without walking the tree.
`mark(tree)` walks the tree once and sets those markers (and removes HIDDEN blocks for the
pre-pass). Every attribute value is matched once (cached across pages, as is the outcome per
attribute set, and per set of RE2 matches when RE2 alone decides; the caches hold only str and
int tuples, which the garbage collector untracks) against all the patterns of its attribute by
one RE2 set (google-re2): re:test
patterns RE2 reads as Python's re does, and the other tests as RE2 patterns (`@a='v'` is
`^v\z`); the remaining re:test patterns (lookarounds, `\s`, flags) run in Python's re, which is
what lxml itself calls, only where an RE2 superset of them matched.

Why the selections are the same: the tests see what libxml2 sees (the value of `@a|@b` is the
first of them in source order; re:test on no attribute tests ''); patterns and predicates true
on an element without attributes are left as they were (trafilatura clears attributes
wholesale, markers go with them; copies keep them; it never sets the attributes tested here to
values that would match). Predicates commute before a positional one (`[1]`), which stays last.
The rewritten lists are swapped in only inside `rewritten()`, so other trafilatura callers see
the originals (the swap is process-wide: a thread running trafilatura on an unmarked tree at the
same moment would see the rewritten lists; stage workers extract one document at a time). Tests
compare every selection and full extractions on real pages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import re2
from lxml import etree
from trafilatura import xpaths

try:
    from filters.extract import _markwalk  # the walk in C: built by `make setup`
except ImportError:  # not built: python_walk, the same walk (slower)
    _markwalk = None

# The lists trafilatura evaluates with TRAFILATURA_SETTINGS (no metadata, no comments).
_LISTS = ("BODY_XPATH", "DISCARD_IMAGE_ELEMENTS", "OVERALL_DISCARD_XPATH", "PRECISION_DISCARD_XPATH",
          "RAW_TREE_PRUNE_XPATH", "REMOVE_COMMENTS_AND_LISTS_XPATH", "REMOVE_COMMENTS_XPATH",
          "TEASER_DISCARD_XPATH")
_NAMES = r"@[\w-]+(?:\s*\|\s*@[\w-]+)*"
_RE_TEST = re.compile(rf"re:test\(\s*({_NAMES})\s*,\s*('[^']*'|\"[^\"]*\")\s*(?:,\s*('[^']*'|\"[^\"]*\")\s*)?\)")
# Patterns RE2 and Python's re read the same way: literals, groups, alternation, ASCII classes, ^.
_RE2_SAFE = re.compile(r"(?:[A-Za-z0-9_ :-]|[|()?\[\]^*+])*")
# The parts of a hoisted predicate `A or B or ...`, each on the value of one attribute set.
_ATOMS = [
    ("exists", re.compile(r"(@[\w-]+)")),
    ("equals", re.compile(r"(@[\w-]+)\s*=\s*'([^']*)'")),
    ("contains", re.compile(rf"contains\(\s*({_NAMES})\s*,\s*'([^']*)'\s*\)")),
    ("starts", re.compile(rf"starts-with\(\s*({_NAMES})\s*,\s*'([^']*)'\s*\)")),
    ("translate", re.compile(r"contains\(\s*translate\(\s*(@[\w-]+)\s*,\s*'([^']*)'\s*,\s*'([^']*)'\s*\)\s*,\s*'([^']*)'\s*\)")),
]
_MARKER_TEST = re.compile(r"contains\(@(data-tq-[\w-]+), ' (\d+) '\)")
_STRING = re.compile(r"'[^']*'|\"[^\"]*\"")
_CONDITION = "data-tq-c"  # + the condition's number: an attribute per condition (existence is cheap)
# Removed by mark() in its walk: hidden blocks, which trafilatura discards too (html.prepass).
HIDDEN = "@hidden or @aria-hidden='true' or contains(@style, 'display:none') or contains(@style, 'display: none')"
_CACHE_MAX = 200_000


class _Key:
    """One attribute set (`@id|@class`: the first of them in source order), the patterns tested
    on its value and the hoisted conditions each pattern satisfies."""

    def __init__(self, names: tuple[str, ...], index: int):
        self.names, self.index = names, index  # index: in _KEY_LIST
        self.attribute = "data-tq-" + "-".join(names)
        self.patterns: dict[tuple[str, str], int] = {}  # (pattern, flags) -> number
        self.re2_only: set[int] = set()  # numbers of the hoisted atoms (RE2 syntax)
        self.conditions: list[int] = []  # pattern number -> conditions it satisfies
        self.exists = 0  # conditions satisfied by any value (`@a`)
        self.kept = 0  # patterns still read through the marker attribute

    def number(self, pattern: str, flags: str = "", re2_only: bool = False) -> int:
        """The pattern's number (bit) in this key's markers."""
        number = self.patterns.get((pattern, flags))
        if number is None:
            number = self.patterns[(pattern, flags)] = len(self.conditions)
            self.conditions.append(0)
            if re2_only:
                self.re2_only.add(number)
        return number

    def satisfied(self, bits: int) -> int:
        """The conditions satisfied by a value matching these patterns."""
        conditions = self.exists
        while bits:
            low = bits & -bits
            conditions |= self.conditions[low.bit_length() - 1]
            bits ^= low
        return conditions


class _Attribute:
    """The patterns of every key reading one attribute, matched at once on each of its values:
    one RE2 set, plus Python's re for what RE2 reads differently (run only where an RE2
    superset of the pattern matched, when there is one)."""

    def __init__(self, keys: list[_Key]):
        self.keys = keys
        self._set = re2.Set.SearchSet(re2.Options())
        self._targets: list[tuple[int, int, re.Pattern | None]] = []  # (key index, number, check)
        self._python: list[tuple[int, int, re.Pattern]] = []  # no RE2 superset
        for index, key in enumerate(keys):
            for (pattern, flags), number in key.patterns.items():
                plain = _RE2_SAFE.fullmatch(pattern) is not None and "(?" not in pattern.replace("(?:", "")
                if number in key.re2_only or (plain and not flags):
                    self._add(pattern, (index, number, None))
                    continue
                regex = re.compile(pattern, re.IGNORECASE if "i" in flags else 0)
                superset = _superset(pattern, flags)
                if superset is None or not self._add(superset, (index, number, regex)):
                    self._python.append((index, number, regex))
        self._set.Compile()
        # google-re2's Set.Match wrapper encodes and calls this; used directly when it is there.
        raw = getattr(self._set, "_set", None)
        self._match_bytes = raw.Match if raw is not None and hasattr(raw, "Match") else None
        # Targets decided by RE2 alone: a value matching only those has the outcome of any other
        # value matching the same ones (cached per matched set: most matching values share one).
        self._plain = frozenset(n for n, (_, _, check) in enumerate(self._targets) if check is None)
        self._by_found: dict[tuple[int, ...], tuple[tuple[int, int, str], ...]] = {}
        # Per value: (key, conditions satisfied, marks kept in the paths) for every key. Only str
        # and int inside (keys by their `_KEY_LIST` index): the garbage collector untracks such
        # tuples, so a cache of a hundred thousand values costs it nothing.
        self.cache: dict[str, tuple[tuple[int, int, str], ...]] = {}
        self._nothing = tuple((key.index, key.exists, "") for key in keys)  # the values matching nothing

    def _add(self, pattern: str, target: tuple[int, int, re.Pattern | None]) -> bool:
        try:
            assert self._set.Add(pattern) == len(self._targets)
        except re2.error:
            return False
        self._targets.append(target)
        return True

    def results(self, value: str) -> tuple[tuple[int, int, str], ...]:
        """(key index, conditions satisfied, marks kept in the paths) per key, for one value (cached)."""
        cached = self.cache.get(value)
        if cached is None:
            cached = self._outcome(value)
            if len(self.cache) > _CACHE_MAX:
                self.cache.clear()
            self.cache[value] = cached
        return cached

    def _outcome(self, value: str) -> tuple[tuple[int, int, str], ...]:
        found = self._match_bytes(value.encode()) if self._match_bytes is not None else self._set.Match(value)
        if self._python or (found and not self._plain.issuperset(found)):
            return self._combine(value, found)  # Python's re decides on this very value
        if not found:
            return self._nothing
        matched = tuple(found)
        outcome = self._by_found.get(matched)
        if outcome is None:
            outcome = self._by_found[matched] = self._combine(value, found)
        return outcome

    def _combine(self, value: str, found: list[int] | None) -> tuple[tuple[int, int, str], ...]:
        bits = [0] * len(self.keys)
        for target in found or ():
            index, number, check = self._targets[target]
            if check is None or check.search(value) is not None:
                bits[index] |= 1 << number
        for index, number, regex in self._python:
            if regex.search(value) is not None:
                bits[index] |= 1 << number
        return tuple((key.index, key.satisfied(b), _marks(b & key.kept)) for key, b in zip(self.keys, bits, strict=True))


def _superset(pattern: str, flags: str) -> str | None:
    """An RE2 pattern matching at least what Python's re matches: lookarounds and `$` dropped,
    `\\s` widened to any character; None when what is left is not plainly read the same way."""
    widened = re.sub(r"\(\?<?[=!][^()]*\)", "", pattern).replace("$", "").replace("\\s", "\x00")
    if "\\" in widened or _RE2_SAFE.fullmatch(widened.replace("\x00", "")) is None:
        return None
    widened = widened.replace("\x00", "(?s:.)")
    return f"(?i){widened}" if "i" in flags else widened if not flags else None


class _Fast:
    """A rewritten expression: returns [] without a walk when one of its conditions matches no
    element of the page."""

    __slots__ = ("path", "_needed", "_xpath")

    def __init__(self, path: str, needed: int):
        self.path, self._needed = path, needed
        self._xpath = etree.XPath(path, namespaces={"re": xpaths.REGEXP_NS})

    def __call__(self, tree: etree._Element, **variables) -> list:
        if _ACTIVE & self._needed != self._needed:
            return []
        return self._xpath(tree, **variables)

    def __str__(self) -> str:
        return self.path


_KEYS: dict[tuple[str, ...], _Key] = {}
_KEY_LIST: list[_Key] = []  # by _Key.index
_SWAPS: list[tuple[list, int, etree.XPath, _Fast]] = []  # (list, index, original, rewritten)
_MARKS: dict[int, str] = {}
_ACTIVE = 0  # conditions matched on the page being extracted (within rewritten())


def _key(names: tuple[str, ...]) -> _Key:
    key = _KEYS.get(names)
    if key is None:
        key = _KEYS[names] = _Key(names, len(_KEY_LIST))
        _KEY_LIST.append(key)
    return key


def _rewrite_re_tests(path: str) -> str:
    def replace(call: re.Match) -> str:
        names = tuple(name.strip()[1:] for name in call.group(1).split("|"))
        pattern, flags = call.group(2)[1:-1], (call.group(3) or "''")[1:-1]
        if re.search(pattern, "", re.IGNORECASE if "i" in flags else 0):
            return call.group(0)  # an absent attribute would match: keep the callback
        key = _key(names)
        return f"contains(@{key.attribute}, ' {key.number(pattern, flags)} ')"

    return _RE_TEST.sub(replace, path)


def _predicate_runs(path: str) -> list[list[tuple[int, int]]]:
    """(start, end) of every top-level [predicate], grouped by runs of adjacent predicates."""
    runs: list[list[tuple[int, int]]] = []
    depth, quote, start, last_end = 0, "", 0, -1
    for index, char in enumerate(path):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "[":
            depth += 1
            if depth == 1:
                start = index
        elif char == "]":
            depth -= 1
            if depth == 0:
                if runs and not path[last_end:start].strip():
                    runs[-1].append((start, index + 1))
                else:
                    runs.append([(start, index + 1)])
                last_end = index + 1
    return runs


def _union_at_top(path: str) -> bool:
    return "|" in re.sub(r"\[(?:[^\[\]]|\[[^\[\]]*\])*\]", "", _STRING.sub("''", path))


def _split_or(body: str) -> list[str]:
    """`A or B or C` at the top level (outside strings and parentheses)."""
    parts, depth, quote, start = [], 0, "", 0
    for index, char in enumerate(body):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "()":
            depth += 1 if char == "(" else -1
        elif (depth == 0 and body[index:index + 2] == "or" and body[index - 1:index].isspace()
              and body[index + 2:index + 3].isspace()):
            parts.append(body[start:index])
            start = index + 2
    return [part.strip() for part in [*parts, body[start:]]]


def _literal(text: str) -> str:
    return "".join(char if char.isalnum() else f"\\x{{{ord(char):x}}}" for char in text)


def _translated(source: str, target: str, text: str) -> str | None:
    """RE2 pattern of the values whose XPath translate(value, source, target) contains `text`
    (None when translate() deletes characters)."""
    if len(target) < len(source):
        return None
    classes = []
    for char in text:
        sources = {s for i, s in enumerate(source) if target[i] == char and source.index(s) == i}
        if char not in source:
            sources.add(char)
        classes.append(_literal(char) if sources == {char} else "[" + "".join(map(_literal, sorted(sources))) + "]")
    return "".join(classes)


def _tests(body: str) -> list[tuple[tuple[str, ...], int | None, str]] | None:
    """The predicate as tests joined by `or`: (attribute names, marker pattern number or None,
    RE2 pattern or '' for `@a`); None if some part is not one of the _ATOMS forms."""
    tests = []
    for part in _split_or(body):
        kind, match = next(((kind, match) for kind, form in _ATOMS if (match := form.fullmatch(part))), ("", None))
        if match is None:
            return None
        marker = _MARKER_TEST.fullmatch(part)
        names = tuple(name.strip()[1:] for name in match.group(1).split("|"))
        if marker is not None:
            key = next(key for key in _KEYS.values() if key.attribute == marker.group(1))
            tests.append((key.names, int(marker.group(2)), ""))
        elif len(names) > 1 and kind not in ("contains", "starts"):
            return None  # `@a|@b = 'v'` is true if any of them is: not a test on the first
        elif kind == "translate":
            pattern = _translated(match.group(2), match.group(3), match.group(4))
            if pattern is None:
                return None
            tests.append((names, None, pattern))
        else:
            text = _literal(match.group(2)) if kind != "exists" else ""
            tests.append((names, None, {"equals": f"^{text}\\z", "starts": f"^{text}"}.get(kind, text)))
    return tests


def _true_without_attributes(body: str) -> bool:
    root = etree.Element("root")
    etree.SubElement(root, "x")
    return bool(etree.XPath(f"./*[{body}]", namespaces={"re": xpaths.REGEXP_NS})(root))


def _condition(body: str, conditions: list[str]) -> int | None:
    """Register an attribute-only predicate as the next condition; its bit (None: not one)."""
    tests = None if _true_without_attributes(body) else _tests(body)
    if tests is None:
        return None
    bit = 1 << len(conditions)
    for names, number, pattern in tests:
        key = _key(names)
        if number is None and not pattern:
            key.exists |= bit
        else:
            key.conditions[key.number(pattern, re2_only=True) if number is None else number] |= bit
    conditions.append(body)
    return bit


def _hoist(path: str, conditions: list[str]) -> tuple[str, int]:
    """The path with its attribute-only predicates replaced by tests of the conditions marker,
    put first in their run of predicates (appended to `conditions`); and their bits."""
    pieces, cursor, needed = [], 0, 0
    for run in _predicate_runs(path):
        movable = []
        for start, end in run:
            body = path[start + 1:end - 1].strip()
            if body.isdigit() or "position()" in body or "last()" in body:
                break  # positional: it and what follows stay where they are
            movable.append((start, end, body))
        hoisted, kept = [], []
        for start, end, body in movable:
            bit = _condition(body, conditions)
            if bit is None:
                kept.append(path[start:end])
                continue
            hoisted.append(f"[@{_CONDITION}{bit.bit_length() - 1}]")
            needed |= bit
        if hoisted:
            pieces += [path[cursor:movable[0][0]], *hoisted, *kept]
            cursor = movable[-1][1]
    return "".join(pieces) + path[cursor:], needed


def _prepare() -> int:
    """Rewrite the lists (into _SWAPS); the bit of the HIDDEN condition."""
    conditions: list[str] = []
    for name in _LISTS:
        expressions = getattr(xpaths, name)
        for index, expression in enumerate(expressions):
            path, needed = _hoist(_rewrite_re_tests(expression.path), conditions)
            if path != expression.path:
                _SWAPS.append((expressions, index, expression, _Fast(path, 0 if _union_at_top(path) else needed)))
    by_attribute = {key.attribute: key for key in _KEYS.values()}
    for *_, fast in _SWAPS:
        for attribute, number in _MARKER_TEST.findall(fast.path):
            if attribute in by_attribute:
                by_attribute[attribute].kept |= 1 << int(number)
    return _condition(HIDDEN, conditions)


_HIDDEN = _prepare()
_ATTRIBUTES = {name: _Attribute([key for key in _KEYS.values() if name in key.names])
               for name in sorted({name for names in _KEYS for name in names})}
_ALL_NAMES = frozenset(_ATTRIBUTES)
_NAME_LIST = sorted(_ALL_NAMES)
_ELEMENT_CACHE: dict[tuple, tuple[tuple[tuple[str, str], ...], int]] = {}
_set = etree._Element.set  # lxml.html's HtmlElement.set adds a Python-level wrapper


@contextmanager
def rewritten(active: int) -> Iterator[None]:
    """trafilatura's expression lists use the markers within this block; `active`: mark()'s value
    for the page being extracted."""
    global _ACTIVE
    for expressions, index, _, fast in _SWAPS:
        expressions[index] = fast
    _ACTIVE = active
    try:
        yield
    finally:
        _ACTIVE = 0
        for expressions, index, original, _ in _SWAPS:
            expressions[index] = original


def mark(tree: etree._Element) -> int:
    """Remove HIDDEN elements (their tail text stays) and set the markers on every other element
    of `tree` (in place); the bits of the conditions that some element matched."""
    if len(_ELEMENT_CACHE) > _CACHE_MAX:
        _ELEMENT_CACHE.clear()
    if _markwalk is not None:
        active, hidden = _markwalk.walk(tree, _NAME_LIST, _ELEMENT_CACHE, _element_markers, _HIDDEN)
    else:
        active, hidden = python_walk(tree)
    for elem in hidden:
        elem.drop_tree()
    return active


def python_walk(tree: etree._Element) -> tuple[int, list]:
    """_markwalk.walk in Python (when the extension is not built): set the markers; (the bits of
    the conditions matched, the hidden elements, left in place)."""
    cache, names, hidden_bit, set_attribute = _ELEMENT_CACHE, _ALL_NAMES, _HIDDEN, _set
    active, hidden = 0, []
    for elem in tree.iter(etree.Element):  # a plain walk: 3x cheaper than an XPath testing the names
        items = elem.items()
        if not items:
            continue
        if len(items) == 1:  # most elements with attributes: no list to build
            if items[0][0] not in names:
                continue
            attributes = tuple(items)
        else:
            attributes = tuple([item for item in items if item[0] in names])
            if not attributes:
                continue
        entry = cache.get(attributes)
        if entry is None:
            entry = cache[attributes] = _element_markers(attributes)
        markers, conditions = entry
        if conditions & hidden_bit:
            hidden.append(elem)  # what follows inside it is marked in vain, and harmlessly
            continue
        active |= conditions
        for attribute, marks in markers:
            set_attribute(elem, attribute, marks)
    return active, hidden


def _element_markers(attributes: tuple[tuple[str, str], ...]) -> tuple[tuple[tuple[str, str], ...], int]:
    """(marker attribute, marks) to set on an element with these attributes (in source order),
    and the hoisted conditions it matches (str and int only: see _Attribute.cache)."""
    markers, conditions, seen = [], 0, set()
    several = len(attributes) > 1  # one attribute: its keys are distinct, nothing to skip
    for name, value in attributes:
        for index, satisfied, marks in _ATTRIBUTES[name].results(value):
            if several:
                if index in seen:
                    continue  # XPath's string value of @a|@b: the first of them in source order
                seen.add(index)
            conditions |= satisfied
            if marks:
                markers.append((_KEY_LIST[index].attribute, marks))
    if conditions:
        markers += [(f"{_CONDITION}{n}", "") for n in range(conditions.bit_length()) if conditions >> n & 1]
    return tuple(markers), conditions


def _marks(bits: int) -> str:
    """' 0  3 ' for bits 0 and 3: each number between spaces, as the rewritten contains() expects."""
    marks = _MARKS.get(bits)
    if marks is None:
        marks = _MARKS[bits] = "".join(f" {n} " for n in range(bits.bit_length()) if bits >> n & 1)
    return marks
