"""GH Archive hourly files (`YYYY-MM-DD-H.json.gz`, one event per line) → thread fragments.

Streaming: the file is inflated in 4 MB blocks (ISA-L when available), cut into lines, and the
event type is read from the raw bytes; only the events that make threads (PR, issue, comment and
review events) are decoded, by msgspec into typed structs that skip every field we do not read.
Every event is counted by type. Bad input is counted, never fatal: a line that is not JSON
(`corrupt_line`), an event whose fields have unexpected types even after a lenient retry
(`schema_error`), an event that names no thread (`no_thread`: e.g. 2012 comment events carry only
ids), and a gzip stream cut short (`truncated_gzip`: the complete lines before the cut are kept).
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from dataclasses import dataclass, field

import msgspec

from filters.github import objects
from pipeline import io

try:  # ISA-L inflate: same API as zlib, ~1.6x faster here
    from isal import isal_zlib as _zlib
except ImportError:  # pragma: no cover
    _zlib = zlib

THREAD_EVENTS = frozenset({"PullRequestEvent", "IssuesEvent", "IssueCommentEvent", "PullRequestReviewEvent",
                           "PullRequestReviewCommentEvent"})
EVENT_TYPE = re.compile(rb'"type":\s*"([A-Za-z]+Event)"')
THREAD_TYPES = frozenset(t.encode() for t in THREAD_EVENTS)
BLOCK = 4 << 20
_DECODER = msgspec.json.Decoder(objects.Event)


@dataclass
class ArchiveStats:
    events: Counter = field(default_factory=Counter)   # event type → count
    problems: Counter = field(default_factory=Counter)  # reason → count

    def merge(self, other: ArchiveStats) -> None:
        self.events.update(other.events)
        self.problems.update(other.problems)

    def as_dict(self) -> dict:
        return {"events": dict(sorted(self.events.items())), "problems": dict(sorted(self.problems.items()))}


def blocks(path: str, stats: ArchiveStats):
    """Runs of whole lines (bytes ending with a newline) of a gzip file (all members), streamed;
    a truncated or corrupt stream is counted and its complete lines are kept."""
    inflater = _zlib.decompressobj(31)
    tail = b""
    with io.open_input(path) as fh:
        while True:
            compressed = fh.read(BLOCK)
            if not compressed:
                break
            try:
                data = inflater.decompress(compressed)
                while inflater.unused_data:  # a new gzip member (GH Archive files may hold several)
                    rest = inflater.unused_data
                    inflater = _zlib.decompressobj(31)
                    data += inflater.decompress(rest)
            except (zlib.error, _zlib.error):
                stats.problems["corrupt_gzip"] += 1
                tail = b""
                break
            if tail:
                data = tail + data
            cut = data.rfind(b"\n") + 1
            tail = data[cut:]
            if cut:
                yield data if cut == len(data) else data[:cut]
    if not inflater.eof:
        stats.problems["truncated_gzip"] += 1
        if tail.strip():
            stats.problems["corrupt_line"] += 1  # the cut line
        return
    if tail.strip():
        yield tail + b"\n"


def read_archive(path: str, source: str | None = None) -> tuple[list[dict], ArchiveStats]:
    """Fragments of every thread event in one hourly file, and the file's counts.

    Per block of lines, one regex pass counts the event types; when every line holds exactly one
    type (always, for well-formed files) only the thread events are cut out and decoded. A block
    that breaks that rule (blank, untyped or corrupt lines) is read line by line instead.
    """
    stats = ArchiveStats()
    fragments: list[dict] = []
    source = source or "gharchive:" + path.rsplit("/", 1)[-1]
    for block in blocks(path, stats):
        matches = list(EVENT_TYPE.finditer(block))
        if len(matches) == block.count(b"\n") and b"\n\n" not in block and not block.startswith(b"\n"):
            others: Counter = Counter()
            for match in matches:
                kind = match.group(1)
                if kind in THREAD_TYPES:
                    start = block.rfind(b"\n", 0, match.start()) + 1
                    _thread_event(block[start:block.index(b"\n", match.end())], kind.decode(), source, stats,
                                  fragments)
                else:
                    others[kind] += 1  # thread events are counted once decoded
            for kind, count in others.items():
                stats.events[kind.decode()] += count
            continue
        for line in block.split(b"\n"):
            _line(line, source, stats, fragments)
    return fragments, stats


def _line(line: bytes, source: str, stats: ArchiveStats, fragments: list[dict]) -> None:
    if not line.strip():
        return
    found = EVENT_TYPE.search(line)
    kind = found.group(1).decode() if found else None
    if kind in THREAD_EVENTS:
        _thread_event(line, kind, source, stats, fragments)
    elif kind is not None:
        stats.events[kind] += 1
    else:
        try:
            msgspec.json.decode(line)
            stats.events["(no type)"] += 1
        except (msgspec.DecodeError, UnicodeDecodeError):
            stats.problems["corrupt_line"] += 1


def _thread_event(line: bytes, kind: str, source: str, stats: ArchiveStats, fragments: list[dict]) -> None:
    event = _decode(line, stats)
    if event is None:
        return
    stats.events[event.type or kind] += 1
    produced = event_fragments(event, source)
    if not produced:
        stats.problems["no_thread"] += 1
    fragments.extend(produced)


def _decode(line: bytes, stats: ArchiveStats) -> objects.Event | None:
    try:
        return _DECODER.decode(line)
    except msgspec.ValidationError:
        pass
    except (msgspec.DecodeError, UnicodeDecodeError):  # invalid UTF-8 inside a string: a corrupt line
        stats.problems["corrupt_line"] += 1
        return None
    try:  # drifted types ("id" as a string, numbers as strings…): a lenient conversion
        return msgspec.convert(msgspec.json.decode(line), objects.Event, strict=False)
    except UnicodeDecodeError:
        stats.problems["corrupt_line"] += 1
        return None
    except (msgspec.ValidationError, msgspec.DecodeError):
        stats.problems["schema_error"] += 1
        return None


def event_repo(event: objects.Event) -> tuple[str | None, int | None, str | None]:
    """(owner/name, stars, language) of an event, from either repo layout."""
    if event.repo is not None and event.repo.name and "/" in event.repo.name:
        return event.repo.name, None, None
    old = event.repository
    if old is not None and old.name and old.owner:
        stars = old.stargazers if old.stargazers is not None else old.watchers
        return f"{old.owner}/{old.name}", stars, old.language
    if event.repo is not None:
        return objects.repo_from_url(event.repo.url), None, None
    return None, None, None


def event_fragments(event: objects.Event, source: str) -> list[dict]:
    repo, stars, language = event_repo(event)
    payload = event.payload
    if not repo or payload is None:
        return []
    at = event.created_at
    out: list[dict | None] = []
    if payload.pull_request is not None:
        out.append(objects.pull_fragment(repo, payload.pull_request, source, at))
    issue = payload.issue if isinstance(payload.issue, objects.Issue) else None
    if issue is not None:
        out.append(objects.issue_fragment(repo, issue, source, at))
    number = next((f["number"] for f in out if f), None)
    if number is None:
        number = payload.number
    is_pr = event.type in ("PullRequestEvent", "PullRequestReviewEvent", "PullRequestReviewCommentEvent") \
        or any(f and f["is_pr"] for f in out)
    if number is not None:
        for comment in (payload.comment, payload.review):
            if comment is not None:
                out.append(objects.comment_fragment(repo, number, is_pr, comment, source, at))
    fragments = [f for f in out if f]
    for fragment in fragments:
        if stars is not None and fragment["stars"] is None:
            fragment["stars"] = stars
        if language and not fragment["repo_language"]:
            fragment["repo_language"] = language
    return fragments
