"""The real GH Archive hour → threads; counts equal a plain independent count; bad input is counted."""

import gzip
import json
import random
import zlib
from collections import Counter

import pytest

from filters.github import _fragments, threads
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


def test_hostile_nesting_is_a_counted_corrupt_line_not_a_crash(events, tmp_path):
    """Nesting deeper than msgspec follows raised RecursionError out of read_archive."""
    issue = json.dumps(next(e for e in events if e["type"] == "IssuesEvent")).encode()
    deep = [b'{"type":"IssuesEvent","repo":{"name":"a/b"},"payload":' + b"[" * 3000 + b"]" * 3000 + b"}",
            b'{"type":"IssuesEvent","payload":{"issue":' + b'{"a":' * 3000 + b"1" + b"}" * 3002,
            b'{"x":' + b"[" * 3000 + b"]" * 3000 + b"}"]
    path = tmp_path / "deep.json.gz"
    path.write_bytes(_gzip_lines([issue, *deep, issue]))
    fragments, stats = read_archive(str(path))
    assert stats.problems == {"corrupt_line": 3}
    assert len(fragments) == 2 and fragments[0] == fragments[1]


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


def _read_both_ways(lines: list[bytes]) -> tuple:
    """read_events over `lines`: thread events read from the raw JSON where it can, and all by msgspec."""
    buffer = b"\n".join(lines)
    _, thread_lines, _ = _scan.scan(buffer, THREAD_TYPES)
    results = []
    for fast in (True, False):
        events, problems, fragments = Counter(), Counter(), []
        _fragments.read_events(buffer, thread_lines, "src", events, problems, fragments, fast)
        results.append((events, problems, fragments))
    return tuple(results)


def test_raw_json_reading_equals_msgspec_on_the_real_hour(shared_data):
    """_event_json.h reads every thread event of the real hour itself, into the fragments (values
    and types) msgspec's typed decoding gives."""
    lines = gzip.decompress((shared_data / HOUR).read_bytes()).splitlines()
    thread_lines = [line for line in lines if EVENT_TYPE.search(line).group(1) in THREAD_TYPES]
    assert len(thread_lines) == 1352 and all(_fragments.reads_raw(line) for line in thread_lines)
    raw, decoded = _read_both_ways(thread_lines)
    assert raw == decoded and len(raw[2]) == 1976 and not raw[1]
    shape = lambda f: {k: type(v).__name__ for k, v in f.items()}  # noqa: E731
    assert [shape(f) for f in raw[2]] == [shape(f) for f in decoded[2]]


def test_raw_json_reading_leaves_what_it_does_not_handle_exactly_to_msgspec(events):
    """Lines made to hit each case: those read raw give msgspec's fragments; the others (an escaped
    or repeated key, a lone surrogate, invalid UTF-8 in a field read, malformed JSON anywhere, a
    wrong type, a 20-digit id, deep nesting, the 2011-2014 `repository`) are left to msgspec, so
    every line ends (fragments, counts, reasons) as msgspec's decoding alone makes it."""
    pr = next(e for e in events if e["type"] == "PullRequestEvent")
    issue = next(e for e in events if e["type"] == "IssuesEvent")
    comment = next(e for e in events if e["type"] == "PullRequestReviewCommentEvent")
    compact = lambda e: json.dumps(e, separators=(",", ":")).encode()  # noqa: E731

    def edit(event, change):
        event = json.loads(json.dumps(event))
        change(event)
        return event

    labelled = edit(pr, lambda e: e["payload"]["pull_request"].update(labels=[{"name": "bug"}, {"name": ""}, {}]))
    raw_cases = [
        json.dumps(pr).encode(),  # spaces after , and :
        compact(edit(issue, lambda e: e["payload"]["issue"].update(title='tab\t "q" \\ / \u00e9 \U0001F600 \x00'))),
        compact(edit(issue, lambda e: e["payload"].update(issue=7, number=7))),  # an issue id (2012), no record
        compact(labelled),
        compact(edit(comment, lambda e: e["payload"]["comment"].update(id=-0, body=None))),
        compact(issue).replace(b'"payload":{', b'"payload":{"skipped":"\xff\xfe",', 1),  # msgspec skips it unread too
        compact(edit(pr, lambda e: e["payload"]["pull_request"].update(merged=None, merged_at=None))),
    ]
    left_cases = [
        compact(issue).replace(b'"title":', b'"titl\\u0065":', 1),
        compact(issue).replace(b'"payload":{', b'"payload":{"number":1,"number":2,', 1),
        compact(issue).replace(b'"title":"', b'"title":"\\ud800', 1),
        compact(issue).replace(b'"title":"', b'"title":"\xff', 1),
        compact(issue).replace(b'"payload":{', b'"payload":{"x":"a\x01b",', 1),
        compact(issue).replace(b'"payload":{', b'"payload":{"x":01,', 1),
        compact(issue).replace(b'"payload":{', b'"payload":{"x":1.,', 1),
        compact(issue).replace(b'"payload":{', b'"payload":{"x":tru,', 1),
        compact(issue) + b" x",
        compact(issue)[:-1],
        compact(edit(issue, lambda e: e["payload"]["issue"].update(number="12"))),
        compact(edit(issue, lambda e: e["payload"]["issue"].update(number=12.0))),
        compact(edit(comment, lambda e: e["payload"]["comment"].update(id=10**20))),
        compact(edit(pr, lambda e: e["payload"]["pull_request"].update(merged="yes"))),
        compact(edit(pr, lambda e: e["payload"]["pull_request"].update(labels=[None]))),
        compact(edit(issue, lambda e: e["payload"]["issue"].update(user="login"))),
        compact(edit(issue, lambda e: e.update(org={"deep": json.loads("[" * 100 + "]" * 100)}))),
        compact(edit(issue, lambda e: e.update(repository={"owner": "a", "name": "b", "watchers": 3}))),
        compact(edit(issue, lambda e: e.update(repo={"name": "noslash", "url": "https://api.github.com/repos/a/b"}))),
        compact(edit(pr, lambda e: e["payload"]["pull_request"].update(number=None))),
    ]
    assert [_fragments.reads_raw(line) for line in raw_cases] == [True] * len(raw_cases)
    assert [_fragments.reads_raw(line) for line in left_cases] == [False] * len(left_cases)
    for line in raw_cases + left_cases:
        raw, decoded = _read_both_ways([line])
        assert raw == decoded, line[:200]
    raw, decoded = _read_both_ways(raw_cases + left_cases)
    assert raw == decoded
    assert decoded[1]["corrupt_line"] == 8 and decoded[1]["schema_error"] >= 1 and len(decoded[2]) >= 15
    fragments = _read_both_ways([compact(labelled)])[0][2]
    assert fragments[0]["labels"] == ["bug"]


def test_raw_json_reading_equals_msgspec_on_damaged_real_lines(shared_data):
    """Real thread event lines with random damage (bytes inserted, deleted, flipped; JSON tokens,
    escapes, surrogates, control and non-UTF-8 bytes put in fields that are read): each ends the
    same both ways, whether the C pass reads it or leaves it to msgspec."""
    lines = gzip.decompress((shared_data / HOUR).read_bytes()).splitlines()
    thread_lines = [line for line in lines if EVENT_TYPE.search(line).group(1) in THREAD_TYPES]
    tokens = [b'"', b"\\", b"{", b"}", b"[", b"]", b",", b":", b"0", b"1", b"-", b".", b"e", b"\\u", b"\\ud800",
              b"\\udc00", b"\x01", b"\xff", b"\xc3", b" ", b"null", b"true", b'"x"', b"\\n", b"\t"]
    fields = [b'"number":', b'"title":"', b'"body":"', b'"id":', b'"merged":', b'"login":"', b'"name":"',
              b'"payload":', b'"issue":', b'"comment":', b'"pull_request":', b'"base":', b'"sha":"']
    rng, read_raw = random.Random(16), 0
    for _ in range(1500):
        line = bytearray(rng.choice(thread_lines))
        for _ in range(rng.randint(1, 3)):
            op, at = rng.randrange(4), rng.randrange(len(line))
            if op == 0:
                line[at:at] = rng.choice(tokens)
            elif op == 1:
                del line[at:at + rng.randint(1, 4)]
            elif op == 2:
                line[at] = rng.randrange(256)
            elif (found := line.find(field := rng.choice(fields))) >= 0:
                end = found + len(field)  # into a field that is read
                line[end:end] = rng.choice(tokens)
        line = bytes(line)
        read_raw += _fragments.reads_raw(line)
        raw, decoded = _read_both_ways([line])
        assert raw == decoded, line[:300]
    assert 300 < read_raw < 1400  # both ways were exercised
