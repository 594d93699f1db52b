"""robots.txt read exactly as Google's reference parser reads it (RFC 9309 plus its documented
leniencies), with the rules of one product token arranged for cheap checks (Matcher).

Why our own: protego differs from the reference on 14 of its 145 conformance cases, some in the
direction of fetching what a site disallowed (a `user-agent` value such as "FooBot Bar", an unknown
line inside a group, non-ASCII patterns, over-long lines). The behaviours, as published with
github.com/google/robotstxt and RFC 9309:

- Bytes are split into lines at CR, LF or CRLF; a UTF-8 BOM at the start is skipped; a line keeps
  at most 16,663 bytes (2083 * 8 - 1), the rest is ignored; `#` starts a comment.
- `key: value`; without a colon, one run of whitespace separates key and value when the line has
  exactly two words. Keys are matched case-insensitively by prefix, with frequent typos accepted
  ("useragent", "user agent", "dissallow", "dissalow", "disalow", "diasllow", "disallaw",
  "site-map").
- A group is a run of `user-agent` lines and the rules after them; a `user-agent` line after a rule
  starts a new group, other lines (sitemap, crawl-delay, unknown) do not end one. Rules before any
  `user-agent` line are ignored. The value's product token is its leading [A-Za-z_-] characters
  ("FooBot/2.1 x" -> "FooBot"), compared case-insensitively with the crawler's token; "*" (alone,
  or followed by whitespace) is the global group. The crawler's token is compared whole, so a token
  with a space in it matches no group.
- The rules of every group naming the token apply (merged); only when no group names it, those of
  the global groups. Empty patterns are no rules.
- Patterns: bytes >= 0x80 are percent-encoded and existing escapes upper-cased ("á" -> "%C3%A1",
  "%aa" -> "%AA"); the URL's path is NOT re-encoded (the crawler hands normalised URLs). `*`
  matches any run of characters, a final `$` the end of the path; matching is a prefix match on
  path+params+query, case-sensitive. The longest matching pattern (in bytes) wins; allow wins a tie.
  An allow pattern ending in "/index.htm..." also allows its directory ("/a/index.html" -> "/a/$").

Crawl-delay (not read by Google) comes from the same groups as the rules: the first valid value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_LINE_BYTES = 2083 * 8 - 1
_BOM = b"\xef\xbb\xbf\0"  # as the reference reads it: byte i of the file is dropped if it is _BOM[i]
_TOKEN = re.compile(r"[A-Za-z_-]*")
_ESCAPE = re.compile(rb"%[0-9A-Fa-f]{2}|[\x80-\xff]")
_VALID_TOKEN = re.compile(r"[A-Za-z_-]+")
_PATH_START = re.compile(r"[/?;]")

USER_AGENT, ALLOW, DISALLOW, SITEMAP, CRAWL_DELAY, UNKNOWN = range(6)
_KEYS = (
    (USER_AGENT, (b"user-agent", b"useragent", b"user agent")),
    (ALLOW, (b"allow",)),
    (DISALLOW, (b"disallow", b"dissallow", b"dissalow", b"disalow", b"diasllow", b"disallaw")),
    (SITEMAP, (b"sitemap", b"site-map")),
    (CRAWL_DELAY, (b"crawl-delay",)),
)


_KEY_TYPES = {spellings[0]: kind for kind, spellings in _KEYS}  # the usual spellings, exact


def _key_type(key: bytes) -> int:
    key = key.lower()
    for kind, spellings in _KEYS:
        if key.startswith(spellings):
            return kind
    return UNKNOWN


def escape_pattern(value: bytes) -> str:
    """Google's MaybeEscapePattern: %-encode bytes >= 0x80, upper-case existing escapes."""
    if value.isascii() and b"%" not in value:
        return value.decode("ascii")
    return _ESCAPE.sub(
        lambda m: m.group(0).upper() if len(m.group(0)) == 3 else b"%%%02X" % m.group(0)[0], value
    ).decode("ascii")


def path_params_query(url: str) -> str:
    """Google's GetPathParamsQuery: what rules match against ("/" when the URL has no path)."""
    start = 2 if url.startswith("//") else 0
    if url.startswith("http://"):  # the usual case, same answer as the general one below
        proto = 7
    elif url.startswith("https://"):
        proto = 8
    else:
        early = _PATH_START.search(url, start)
        proto = url.find("://", start)
        if proto == -1 or (early is not None and early.start() < proto):
            proto = start
        else:
            proto += 3
    found = _PATH_START.search(url, proto)
    if found is None:
        return "/"
    path_start = found.start()
    hash_pos = url.find("#", start)
    if hash_pos != -1 and hash_pos < path_start:
        return "/"
    path = url[path_start:hash_pos] if hash_pos != -1 else url[path_start:]
    return path if path[0] == "/" else "/" + path


def valid_product_token(token: str) -> bool:
    """RFC 9309 §2.2.1: a crawler's product token is [A-Za-z_-]+."""
    return bool(_VALID_TOKEN.fullmatch(token))


def _skip_bom(body: bytes) -> bytes:
    """The reference skips, among the first four bytes, each one equal to the BOM's byte there."""
    head = bytes(b for i, b in enumerate(body[:4]) if b != _BOM[i])
    return head + body[4:]


def _split_line(line: bytes) -> tuple[bytes, bytes] | None:
    """(key, value) of one line, comment and surrounding whitespace removed; None if no key."""
    hash_at = line.find(b"#")
    if hash_at != -1:
        line = line[:hash_at]
    sep = line.find(b":")
    if sep != -1:
        key = line[:sep].strip()
        return (key, line[sep + 1:].strip()) if key else None
    # no colon: a space or tab stands for it, only between exactly two words
    line = line.strip()
    sep = min((i for i in (line.find(b" "), line.find(b"\t")) if i != -1), default=-1)
    if sep == -1:
        return None
    value = line[sep:].lstrip(b" \t")
    if b" " in value or b"\t" in value:
        return None
    return line[:sep], value


@dataclass
class Group:
    agents: set[str] = field(default_factory=set)   # product tokens, lower-cased
    is_global: bool = False
    rules: list[tuple[bool, str]] = field(default_factory=list)  # (allow, escaped pattern)
    crawl_delay: float | None = None


@dataclass
class RobotsTxt:
    """A parsed robots.txt; `matcher(token)` gives the compiled rules for one product token."""

    groups: list[Group]
    sitemaps: list[str]
    _matchers: dict[str, Matcher] = field(default_factory=dict, repr=False)

    @classmethod
    def parse(cls, body: bytes) -> RobotsTxt:
        body = _skip_bom(body)
        groups: list[Group] = []
        sitemaps: list[str] = []
        group: Group | None = None
        in_rules = False  # a rule was seen since the last user-agent line: the next one starts a group
        has_nul = b"\0" in body
        for line in body.splitlines():  # bytes: at CR, LF and CRLF only
            if len(line) > MAX_LINE_BYTES:
                line = line[:MAX_LINE_BYTES]
            if has_nul:
                line = line.split(b"\0", 1)[0]  # the reference's C strings end at a NUL
            parsed = _split_line(line)
            if parsed is None:
                continue
            key, value = parsed
            kind = _KEY_TYPES.get(key.lower())
            if kind is None:
                kind = _key_type(key)
            if kind == USER_AGENT:
                if group is None or in_rules:
                    group = Group()
                    groups.append(group)
                    in_rules = False
                if value[:1] == b"*" and (len(value) == 1 or value[1:2].isspace()):
                    group.is_global = True
                else:
                    group.agents.add(_TOKEN.match(value.decode("latin-1")).group(0).lower())
            elif kind in (ALLOW, DISALLOW):
                if group is None:
                    continue
                in_rules = True
                pattern = escape_pattern(value)
                if pattern:
                    group.rules.append((kind == ALLOW, pattern))
            elif kind == SITEMAP:
                if value:
                    sitemaps.append(value.decode("utf-8", "replace"))
            elif kind == CRAWL_DELAY and group is not None and group.crawl_delay is None:
                try:
                    delay = float(value)
                except ValueError:
                    continue
                if delay >= 0 and delay == delay and delay != float("inf"):
                    group.crawl_delay = delay
        return cls(groups, sitemaps)

    def matcher(self, token: str) -> Matcher:
        m = self._matchers.get(token)
        if m is None:
            m = self._matchers[token] = Matcher.build(self.groups, token)
        return m

    def allowed(self, url: str, token: str) -> bool:
        return (self._matchers.get(token) or self.matcher(token)).allowed(url)

    def crawl_delay(self, token: str) -> float | None:
        return self.matcher(token).crawl_delay


@dataclass
class Matcher:
    """The rules that apply to one product token, arranged so a check is a few dict lookups:
    literal prefixes by length (longest first), exact `...$` paths in a dict, and only the
    wildcard patterns (few, on real files) matched piece by piece, longest first. No regex:
    compiling one per pattern cost more than all the matching on real files."""

    lengths: tuple[int, ...]             # distinct lengths of literal prefix patterns, descending
    prefixes: dict[str, bool]            # literal prefix pattern -> allow (allow wins a tie)
    exact: dict[str, tuple[int, bool]]   # path of a "literal$" pattern -> (priority, allow)
    wild: list[tuple[int, bool, tuple[str, ...], bool]]  # (priority, allow, pieces, anchored)
    crawl_delay: float | None

    @classmethod
    def build(cls, groups: list[Group], token: str) -> Matcher:
        token = token.lower()
        chosen = [g for g in groups if token in g.agents]
        if not chosen:
            chosen = [g for g in groups if g.is_global]
        prefixes: dict[str, bool] = {}
        exact: dict[str, tuple[int, bool]] = {}
        wild: dict[tuple[str, bool], None] = {}
        for g in chosen:
            for allow, pattern in g.rules:
                for p in _with_directory(allow, pattern):
                    body = p[:-1] if p.endswith("$") else p
                    if "*" in body:
                        wild[(p, allow)] = None
                    elif body is p:
                        prefixes[p] = prefixes.get(p, False) or allow
                    else:
                        old = exact.get(body)
                        exact[body] = (len(p), allow or bool(old and old[1]))
        ordered = sorted(wild, key=lambda r: (-len(r[0]), not r[1]))
        delay = next((g.crawl_delay for g in chosen if g.crawl_delay is not None), None)
        return cls(tuple(sorted({len(p) for p in prefixes}, reverse=True)), prefixes, exact,
                   [(len(p), allow, *_pieces(p)) for p, allow in ordered], delay)

    def allowed(self, url: str) -> bool:
        path = path_params_query(url)
        best, verdict = 0, True
        prefixes, n = self.prefixes, len(path)
        for length in self.lengths:
            if length <= n:
                hit = prefixes.get(path[:length])
                if hit is not None:
                    best, verdict = length, hit
                    break
        if self.exact:
            hit = self.exact.get(path)
            if hit is not None and (hit[0] > best or (hit[0] == best and hit[1])):
                best, verdict = hit
        for priority, allow, pieces, anchored in self.wild:
            if priority < best or (priority == best and (verdict or not allow)):
                break
            # cheap necessary conditions first: the first piece starts the path, the last is in it
            if (path.startswith(pieces[0]) and (path.endswith(pieces[-1]) if anchored else pieces[-1] in path)
                    and _wild_match(path, pieces, anchored)):
                return allow
        return verdict


def _with_directory(allow: bool, pattern: str) -> tuple[str, ...]:
    """The reference's index.html rule: allowing "/a/index.htm..." also allows "/a/" exactly."""
    if allow:
        slash = pattern.rfind("/")
        if slash != -1 and pattern.startswith("/index.htm", slash):
            return pattern, pattern[:slash + 1] + "$"
    return (pattern,)


def _pieces(pattern: str) -> tuple[tuple[str, ...], bool]:
    """A wildcard pattern as its literal pieces between `*`s, and whether a final `$` anchors it."""
    anchored = pattern.endswith("$")
    return tuple((pattern[:-1] if anchored else pattern).split("*")), anchored


def _wild_match(path: str, pieces: tuple[str, ...], anchored: bool) -> bool:
    """Does p0*p1*...*pk match a prefix of the path (all of it when anchored)? The first piece
    is a prefix; each next one is taken at its leftmost place after the previous (leftmost
    leaves the most room, so this never misses a match); an anchored last piece must end the path."""
    if not path.startswith(pieces[0]):
        return False
    pos = len(pieces[0])
    for piece in pieces[1:-1]:
        found = path.find(piece, pos)
        if found == -1:
            return False
        pos = found + len(piece)
    tail = pieces[-1]
    if anchored:
        return len(path) - len(tail) >= pos and path.endswith(tail)
    return path.find(tail, pos) != -1
