"""Recorded real API responses parse into the same records as GH Archive events."""

import gzip
import json
from collections import Counter

from filters.github import threads
from filters.github.api import read_dump
from filters.github.gharchive import read_archive


def test_a_perceval_pull_request_joins_its_comments_and_reviews(shared_data):
    folder = shared_data / "github/perceval"
    names = ["github_request_pull_request_1.json", "github_request_pull_request_1_comments.json",
             "github_request_pull_request_1_reviews.json"]
    fragments = [f for name in names for f in read_dump(str(folder / name))[0]]
    pr = json.loads((folder / names[0]).read_text())
    comments = json.loads((folder / names[1]).read_text())
    reviews = [r for r in json.loads((folder / names[2]).read_text()) if r["body"]]
    joined = {t["number"]: t for t in threads.join(fragments)}  # joined by the records' URLs, not file names
    thread = joined[1]
    assert (thread["repo"], thread["is_pr"]) == ("zhquan_example/repo", True)
    assert thread["title"] == pr["title"] and thread["merged"] == pr["merged"]
    by_number = Counter(int(r["pull_request_url"].rsplit("/", 1)[1]) for r in comments + reviews)
    assert {n: len(t["comments"]) for n, t in joined.items()} == dict(by_number)
    assert sorted(c["id"] for t in joined.values() for c in t["comments"]) == sorted(c["id"] for c in comments + reviews)
    kinds = Counter(c["kind"] for t in joined.values() for c in t["comments"])
    assert kinds == {"review_comment": len(comments), "review": len(reviews)}


def test_repo_records_give_stars(shared_data):
    _, _, stars, counts = read_dump(str(shared_data / "github/perceval/github_repo.json"))
    record = json.loads((shared_data / "github/perceval/github_repo.json").read_text())
    assert stars == {record["full_name"]: record["stargazers_count"]} and counts["repo"] == 1


def test_pygithub_replay_responses_parse_into_threads_and_commits(shared_data):
    path = shared_data / "github/pygithub-replay/pygithub_replay_prs_issues_commits.jsonl.gz"
    fragments, commits, _, counts = read_dump(str(path))
    rows = [json.loads(line) for line in gzip.open(path, "rt")]
    single_pulls = [r for r in rows if r["status"] == 200 and r["path"].split("?")[0].split("/")[-2] == "pulls"
                    and r["path"].split("?")[0].split("/")[-1].isdigit()]
    numbers = {(f["repo"], f["number"]) for f in fragments if f["is_pr"] and f["title"]}
    for row in single_pulls:
        body = json.loads(row["body"]) if isinstance(row["body"], str) else row["body"]
        assert (body["url"].split("/repos/")[1].rsplit("/pulls/", 1)[0], body["number"]) in numbers
    assert counts["pull"] >= len(single_pulls) and counts["issue"] > 100 and counts["commit"] > 50
    with_files = [c for c in commits if c["files"]]
    assert with_files and any("@@" in (f["patch"] or "") for c in with_files for f in c["files"])


def test_an_event_payload_read_as_an_api_response_gives_the_same_fragment(shared_data, tmp_path):
    """GH Archive events embed the REST API's objects: both readers must agree on them."""
    events = [json.loads(line) for line in gzip.open(shared_data / "github/gharchive/2015-01-01-12.json.gz", "rt")]
    pulls = [e for e in events if e["type"] == "PullRequestEvent"][:40]
    issues = [e for e in events if e["type"] == "IssuesEvent"][:40]
    comments = [e for e in events if e["type"] == "IssueCommentEvent"][:40]
    archive = tmp_path / "events.json.gz"
    archive.write_bytes(gzip.compress("\n".join(json.dumps(e) for e in pulls + issues + comments).encode()))
    dump = tmp_path / "responses.json"
    dump.write_text(json.dumps([e["payload"]["pull_request"] for e in pulls] + [e["payload"]["issue"] for e in issues]
                               + [e["payload"]["comment"] for e in comments]))
    from_events, _ = read_archive(str(archive), "same")
    from_api, _, _, _ = read_dump(str(dump))
    # per event: a pull or issue fragment; a comment event: its issue's fragment, then the comment's
    expected = from_events[:80] + from_events[80:][1::2]
    drop = ("source", "seen_at", "stars", "repo_language")
    assert len(from_api) == len(expected) == 120
    for api_fragment, event_fragment in zip(from_api, expected, strict=True):
        ignore = drop + (("is_pr",) if api_fragment["comment"] else ())  # a lone comment cannot tell
        same = {k: v for k, v in event_fragment.items() if k not in ignore}
        assert {k: v for k, v in api_fragment.items() if k not in ignore} == same
