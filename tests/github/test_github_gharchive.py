"""The real GH Archive hour → threads; counts equal a plain independent count; bad input is counted."""

import gzip
import json
import zlib
from collections import Counter

import pytest

from filters.github import threads
from filters.github.gharchive import (
    EVENT_TYPE,
    THREAD_EVENTS,
    THREAD_TYPES,
    _scan,
    inflate_whole,
    read_archive,
)

HOUR = "github/gharchive/2015-01-01-12.json.gz"


@pytest.fixture(scope="module")
def events(shared_data):
    with gzip.open(shared_data / HOUR, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="module")
def archive(shared_data):
    return read_archive(str(shared_data / HOUR))


def test_counts_by_event_type_equal_a_plain_count(events, archive):
    _, stats = archive
    assert dict(stats.events) == dict(Counter(e["type"] for e in events))
    assert sum(stats.events.values()) == 8273 and not stats.problems


def test_threads_join_events_and_comments_by_repo_and_number(events, archive):
    fragments, _ = archive
    joined = {(t["repo"], t["number"]): t for t in threads.join(fragments)}
    expected_keys, comments, prs = set(), Counter(), set()
    for e in events:  # an independent reading of the same file
        if e["type"] not in THREAD_EVENTS:
            continue
        p = e["payload"]
        obj = p.get("pull_request") or p.get("issue")
        key = (e["repo"]["name"], obj["number"])
        expected_keys.add(key)
        if "pull_request" in p or "pull_request" in (p.get("issue") or {}):
            prs.add(key)
        if "comment" in p:
            comments[key] += 1
    assert set(joined) == expected_keys
    assert {k for k, t in joined.items() if t["is_pr"]} == prs
    assert {k: len(t["comments"]) for k, t in joined.items() if t["comments"]} == dict(comments)
    busiest = max(joined.values(), key=lambda t: len(t["comments"]))
    times = [c["created_at"] for c in busiest["comments"]]
    assert times == sorted(times) and len(times) >= 5
    text, spans = threads.render(busiest)
    assert busiest["comments"][-1]["body"].replace("\r\n", "\n") in text
    masked = "".join(text[a:b] for a, b in spans)  # the template's words only, never GitHub's
    assert masked.count("--- Comment by") + masked.count("--- Review comment by") == len(busiest["comments"])
    assert busiest["title"] not in masked and busiest["comments"][0]["author"] not in masked


def _gzip_lines(lines: list[bytes]) -> bytes:
    return gzip.compress(b"\n".join(lines) + b"\n")


def test_truncated_gzip_keeps_the_complete_lines_and_is_counted(shared_data, tmp_path):
    raw = (shared_data / HOUR).read_bytes()
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(raw[: len(raw) * 3 // 5])
    inflater = zlib.decompressobj(31)
    complete = inflater.decompress(raw[: len(raw) * 3 // 5]).split(b"\n")[:-1]
    _, stats = read_archive(str(cut))
    assert stats.problems["truncated_gzip"] == 1 and stats.problems["corrupt_line"] == 1
    assert sum(stats.events.values()) == len(complete)


def test_corrupt_lines_and_drifted_types_are_counted_not_fatal(events, tmp_path):
    issue = next(e for e in events if e["type"] == "IssuesEvent")
    drifted = json.loads(json.dumps(issue))
    drifted["payload"]["issue"]["number"] = str(drifted["payload"]["issue"]["number"])  # "12" not 12
    broken = json.loads(json.dumps(issue))
    broken["payload"]["issue"]["labels"] = "not a list"
    lines = [json.dumps(issue).encode(), b'{"type":"IssuesEvent", "payload": {', json.dumps(drifted).encode(),
             json.dumps(broken).encode(), b"", b"\x00\x01 binary"]
    path = tmp_path / "bad.json.gz"
    path.write_bytes(_gzip_lines(lines))
    fragments, stats = read_archive(str(path))
    assert stats.problems == {"corrupt_line": 2, "schema_error": 1}
    assert stats.events["IssuesEvent"] == 2
    assert [f["number"] for f in fragments] == [issue["payload"]["issue"]["number"]] * 2


def test_2012_event_layout_gives_the_same_threads(events, tmp_path):
    """Before 2015 events had `repository` {owner, name, watchers} and `actor` as a login string."""
    sample = [e for e in events if e["type"] in ("IssueCommentEvent", "PullRequestEvent")][:60]
    old = []
    for e in sample:
        owner, name = e["repo"]["name"].split("/")
        o = {k: v for k, v in e.items() if k not in ("repo", "actor", "id")}
        o["repository"] = {"owner": owner, "name": name, "watchers": 42}
        o["actor"] = e["actor"]["login"]
        old.append(json.dumps(o).encode())
    new_path, old_path = tmp_path / "new.json.gz", tmp_path / "old.json.gz"
    new_path.write_bytes(_gzip_lines([json.dumps(e).encode() for e in sample]))
    old_path.write_bytes(_gzip_lines(old))
    new, _ = read_archive(str(new_path), "x")
    was, _ = read_archive(str(old_path), "x")
    strip = lambda f: {k: v for k, v in f.items() if k != "stars"}  # noqa: E731
    assert [strip(f) for f in was] == [strip(f) for f in new]
    assert all(f["stars"] == 42 or f["is_pr"] for f in was)  # events without a PR record: the old count


def test_scanner_reads_a_lines_type_as_its_first_event_type_match():
    """_scan.pyx (C) against the rule it implements, gharchive.EVENT_TYPE's first match per line:
    nested "type" keys, spaces, near misses, blank and binary lines, a last line without \\n, and
    more distinct types than the scanner keeps in its C table."""
    lines = [b'{"id":"1","type":"PushEvent","payload":{}}', b"", b"  \t", b'{"type":"User"}',
             b'{"payload":{"user":{"type":"User"}},"type": \t"IssuesEvent"}', b'{"type":"Event"}',
             b'{"type":"AEvent"}', b'{"type":"PushEventX"}', b'{"type":"type":"ForkEvent"}',
             b'{"type":"Push1Event"}', b"\x00\x01 binary", b'{"type":"PushEvent"', b'"type"', b'"type":',
             b'{"type":"IssueCommentEvent"', b'{"kind":"x"}', b'{"type":"PullRequestEvent"}']
    lines += [b'{"type":"X%s%sEvent"}' % (bytes([65 + i // 26]), bytes([97 + i % 26])) for i in range(70)] * 2
    buffer = b"\n".join(lines)
    counts, thread_lines, untyped = _scan.scan(buffer, THREAD_TYPES)
    expected_counts, expected_threads, expected_untyped, start = Counter(), [], [], 0
    for line in lines:
        found = EVENT_TYPE.search(line)
        span = (start, start + len(line))
        if found and found.group(1) in THREAD_TYPES:
            expected_threads.append((*span, found.group(1)))
        elif found:
            expected_counts[found.group(1)] += 1
        elif line.strip():
            expected_untyped.append(span)
        start += len(line) + 1
    assert counts == dict(expected_counts) and thread_lines == expected_threads and untyped == expected_untyped
    assert len(counts) == 73 and counts[b"PushEvent"] == 2 and counts[b"XCrEvent"] == 2 and len(thread_lines) == 3


def test_whole_file_and_streamed_reads_agree(shared_data, tmp_path, archive):
    """An intact hour is inflated whole (libdeflate); the same events as two gzip members are
    streamed (ISA-L, 4 MB blocks): same fragments, same counts."""
    fragments, stats = archive
    assert inflate_whole(str(shared_data / HOUR)) is not None
    raw = gzip.decompress((shared_data / HOUR).read_bytes())
    cut = raw.index(b"\n", len(raw) // 2) + 1
    members = tmp_path / "2015-01-01-12.json.gz"
    members.write_bytes(gzip.compress(raw[:cut]) + gzip.compress(raw[cut:]))
    assert inflate_whole(str(members)) is None
    streamed, streamed_stats = read_archive(str(members))
    assert streamed == fragments and streamed_stats.as_dict() == stats.as_dict()
    garbage = tmp_path / "garbage.json.gz"
    garbage.write_bytes(gzip.compress(raw[:cut]) + b"not gzip at all")
    _, damaged = read_archive(str(garbage))
    assert damaged.problems["corrupt_gzip"] == 1 and sum(damaged.events.values()) == raw[:cut].count(b"\n")


def test_join_takes_the_latest_observation_and_copes_with_missing_times(archive):
    """A thread seen in several hours: header fields from the latest observation that has them
    (False and 0 are values, "" and [] are not), each comment once; a fragment without a time
    (seen_at None) sorts first instead of failing the join."""
    fragments, _ = archive
    issue = next(f for f in fragments if not f["is_pr"] and f["comment"] is None and f["title"])
    older = {**issue, "seen_at": None, "title": "old title", "state": "open", "labels": ["bug"]}
    newer = {**issue, "seen_at": "2099-01-01T00:00:00Z", "source": "later", "title": "new title", "labels": [],
             "state": "", "merged": False}
    comment = {**issue, "title": None, "body": None, "comment": {"id": 1, "kind": "comment", "author": "a",
               "created_at": "2015-01-01T00:00:00Z", "body": "hi", "path": None, "diff_hunk": None}}
    (thread,) = threads.join([newer, comment, issue, older, comment])
    assert thread["title"] == "new title" and thread["state"] == issue["state"] and thread["merged"] is False
    assert thread["labels"] == (issue["labels"] or ["bug"]) and thread["observations"] == 5
    assert [c["id"] for c in thread["comments"]] == [1] and thread["sources"] == sorted({issue["source"], "later"})
