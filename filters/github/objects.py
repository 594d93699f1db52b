"""GitHub API objects (issues, pulls, comments, reviews, repos, commits) as typed structs → fragments.

GH Archive events carry the same API objects as the REST API, so both sources go through the
structs below and the same fragment builders (compiled: _fragments.pyx): a PR read from an event
and the same PR read from a recorded API response give the same fragment. Every field is optional (schema drift across
years: older events lack fields, newer ones add many; unknown fields are skipped by msgspec
without building Python objects; fields we never read are left out for the same reason: they
cost decoding time, and their drift should not reject an event). Structs hold no cycles, so they
are not tracked by the garbage collector (gc=False). A fragment is one observation of a thread (an issue or PR of a
repository, joined later by repo + number): its header fields and/or one comment.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import msgspec
import pyarrow as pa

API_URL = re.compile(r"/repos/(?P<repo>[^/]+/[^/]+)/(?P<what>issues|pulls)(?:/comments)?/(?P<number>\d+)")


class User(msgspec.Struct, gc=False):
    login: str | None = None


class RepoRecord(msgspec.Struct, gc=False):
    full_name: str | None = None
    stargazers_count: int | None = None
    language: str | None = None


class Ref(msgspec.Struct, gc=False):
    """A PR's base: its commit and repository (stars, language)."""

    sha: str | None = None
    repo: RepoRecord | None = None


class Head(msgspec.Struct, gc=False):
    """A PR's head: only its commit (its repository is the fork's)."""

    sha: str | None = None


class Label(msgspec.Struct, gc=False):
    name: str | None = None


class Link(msgspec.Struct, gc=False):
    url: str | None = None


class Issue(msgspec.Struct, gc=False):
    number: int | None = None
    title: str | None = None
    body: str | None = None
    user: User | None = None
    state: str | None = None
    created_at: str | None = None
    closed_at: str | None = None
    html_url: str | None = None
    url: str | None = None
    repository_url: str | None = None
    labels: list[Label] | None = None
    pull_request: Link | None = None  # present: the issue is a PR


class PullRequest(msgspec.Struct, gc=False):
    number: int | None = None
    title: str | None = None
    body: str | None = None
    user: User | None = None
    state: str | None = None
    created_at: str | None = None
    closed_at: str | None = None
    merged_at: str | None = None
    merged: bool | None = None
    merge_commit_sha: str | None = None
    html_url: str | None = None
    url: str | None = None
    base: Ref | None = None
    head: Head | None = None
    labels: list[Label] | None = None


class Comment(msgspec.Struct, gc=False):
    id: int | None = None
    user: User | None = None
    body: str | None = None
    created_at: str | None = None
    path: str | None = None
    diff_hunk: str | None = None
    issue_url: str | None = None
    pull_request_url: str | None = None
    html_url: str | None = None


class Review(msgspec.Struct, gc=False):
    id: int | None = None
    user: User | None = None
    body: str | None = None
    state: str | None = None
    submitted_at: str | None = None
    pull_request_url: str | None = None


class Payload(msgspec.Struct, gc=False):
    action: str | None = None
    number: int | None = None
    pull_request: PullRequest | None = None
    issue: Issue | int | None = None  # an id (int) in 2011-2012 events
    comment: Comment | None = None
    review: Review | None = None


class EventRepo(msgspec.Struct, gc=False):
    name: str | None = None  # owner/name (2015+)
    url: str | None = None


class OldRepo(msgspec.Struct, gc=False):
    """`repository` of 2011-2014 events: owner and name apart, star counts included."""

    name: str | None = None
    owner: str | None = None
    stargazers: int | None = None
    watchers: int | None = None
    language: str | None = None


class Event(msgspec.Struct, gc=False):
    type: str | None = None
    id: str | int | None = None
    actor: User | str | None = None
    repo: EventRepo | None = None
    repository: OldRepo | None = None
    payload: Payload | None = None
    created_at: str | None = None


COMMENT = pa.struct([("id", pa.int64()), ("kind", pa.string()), ("author", pa.string()),
                     ("created_at", pa.string()), ("body", pa.string()), ("path", pa.string()),
                     ("diff_hunk", pa.string())])
FRAGMENT = pa.schema([
    ("repo", pa.string()), ("number", pa.int64()), ("is_pr", pa.bool_()), ("source", pa.string()),
    ("seen_at", pa.string()), ("title", pa.string()), ("body", pa.string()), ("author", pa.string()),
    ("state", pa.string()), ("created_at", pa.string()), ("closed_at", pa.string()), ("merged", pa.bool_()),
    ("labels", pa.list_(pa.string())), ("base_sha", pa.string()), ("head_sha", pa.string()),
    ("merge_commit_sha", pa.string()), ("stars", pa.int64()), ("repo_language", pa.string()),
    ("comment", COMMENT),
])


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many acyclic objects (structs, fragment
    and thread dicts): it could free none of them, and its passes over every live object cost a
    quarter of the GH Archive reader's CPU. Reference counting still frees everything; the
    collector's previous state is restored."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def timestamp(value: str | None) -> str | None:
    """ISO 8601 UTC ("2015-01-01T12:00:03Z"), from any format GitHub used ("2012/03/01 10:00:00 -0800")."""
    if not value:
        return None
    if len(value) == 20 and value[10] == "T" and value[19] == "Z":  # already ISO UTC (2015 on)
        return value
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = datetime.strptime(value, "%Y/%m/%d %H:%M:%S %z")
        except ValueError:
            return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def number_from_url(url: str | None) -> int | None:
    match = API_URL.search(url or "") or re.search(r"/(?:issues|pull|pulls)/(\d+)", url or "")
    if not match:
        return None
    return int(match.group("number") if "number" in match.groupdict() else match.group(1))


def repo_from_url(url: str | None) -> str | None:
    match = re.search(r"/repos/([^/]+/[^/]+)", url or "") or re.search(r"github\.com/([^/]+/[^/]+)", url or "")
    return match.group(1) if match else None
