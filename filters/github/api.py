"""Recorded GitHub REST API responses on disk → the same fragments as GH Archive events.

Accepted files: `.json` (one response body: an object, a list, or {"data": [...]}) and
`.jsonl(.gz)` of recorded requests ({path, status, body} rows as PyGithub's replay data and
similar recorders write them; `body` may be a JSON string). A record is recognised by its fields,
not by the file name: issues (`number` + `title`; a `pull_request` link makes it a PR), pulls
(`head`/`base`), issue comments (`issue_url`), review comments (`diff_hunk`), reviews
(`submitted_at`), repositories (`full_name` + `stargazers_count`: star data), commits (`sha` +
`commit`: commit rows; `files` with patches when the response has them). The repository and number
come from the record's API URLs, or from the recorded request path.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter

import msgspec

from filters.extract.loader import load_extension
from filters.github import objects
from pipeline import io

_fragments = load_extension("filters.github._fragments")  # the fragment builders GH Archive events use


class ApiCommit(msgspec.Struct):
    sha: str | None = None
    url: str | None = None
    html_url: str | None = None
    commit: dict | None = None
    parents: list[dict] | None = None
    files: list[dict] | None = None
    author: objects.User | None = None


def _bodies(path: str, counts: Counter):
    """(request path or None, parsed JSON body) of every response in a file."""
    with io.open_input(path) as fh:
        raw = fh.read()
    if path.endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError):
            counts["truncated_gzip"] += 1
            return
    text = raw.decode("utf-8", errors="replace")
    if path.removesuffix(".gz").endswith(".jsonl"):
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                counts["corrupt_line"] += 1
                continue
            body = row.get("body") if isinstance(row, dict) and "body" in row and "path" in row else row
            if isinstance(body, str):
                try:
                    body = json.loads(body)
                except json.JSONDecodeError:
                    counts["corrupt_body"] += 1
                    continue
            if isinstance(row, dict) and row.get("status") not in (None, 200):
                counts["not_ok_response"] += 1
                continue
            yield (row.get("path") if isinstance(row, dict) else None), body
    else:
        try:
            yield None, json.loads(text)
        except json.JSONDecodeError:
            counts["corrupt_file"] += 1


def _records(body):
    if isinstance(body, list):
        for item in body:
            yield from _records(item)
    elif isinstance(body, dict):
        if isinstance(body.get("data"), list) and len(body) <= 3:
            yield from _records(body["data"])
        else:
            yield body


def read_dump(path: str) -> tuple[list[dict], list[dict], dict[str, int], Counter]:
    """(thread fragments, commit records, repo → stars, counts by record kind) of one dump file."""
    counts: Counter = Counter()
    fragments: list[dict] = []
    commits: list[dict] = []
    stars: dict[str, int] = {}
    source = "api:" + path.rsplit("/", 1)[-1]
    for request, body in _bodies(path, counts):
        for record in _records(body):
            kind = _record(record, request, source, fragments, commits, stars)
            counts[kind] += 1
    return fragments, commits, stars, counts


def _context(request: str | None) -> tuple[str | None, int | None]:
    return objects.repo_from_url(request), objects.number_from_url(request)


def _record(record: dict, request, source, fragments, commits, stars) -> str:
    req_repo, req_number = _context(request)
    try:
        if "full_name" in record and "stargazers_count" in record:
            repo = msgspec.convert(record, objects.RepoRecord, strict=False)
            if repo.full_name and repo.stargazers_count is not None:
                stars[repo.full_name] = max(stars.get(repo.full_name, 0), repo.stargazers_count)
            return "repo"
        if "sha" in record and isinstance(record.get("commit"), dict):
            commit = msgspec.convert(record, ApiCommit, strict=False)
            repo = objects.repo_from_url(commit.url) or req_repo
            commits.append(_commit_record(commit, repo, source))
            return "commit"
        if "number" in record and "title" in record:
            is_pull = "head" in record or "base" in record
            obj = msgspec.convert(record, objects.PullRequest if is_pull else objects.Issue, strict=False)
            repo = objects.repo_from_url(obj.url) or objects.repo_from_url(getattr(obj, "repository_url", None)) or req_repo
            if not repo:
                return "no_repo"
            fragment = (_fragments.pull_fragment if is_pull else _fragments.issue_fragment)(repo, obj, source, None)
            return _keep(fragment, fragments, "pull" if is_pull else "issue")
        if "diff_hunk" in record or "submitted_at" in record or "issue_url" in record:
            is_review = "submitted_at" in record and "diff_hunk" not in record
            comment = msgspec.convert(record, objects.Review if is_review else objects.Comment, strict=False)
            url = comment.pull_request_url if is_review else (comment.issue_url or comment.pull_request_url)
            repo = objects.repo_from_url(url) or req_repo
            number = objects.number_from_url(url) or req_number
            is_pr = is_review or "diff_hunk" in record or "/pulls/" in (url or "")
            fragment = _fragments.comment_fragment(repo, number, is_pr, comment, source, None) if repo and number else None
            return _keep(fragment, fragments, "comment")
    except msgspec.ValidationError:
        return "schema_error"
    return "other"


def _keep(fragment, fragments, kind) -> str:
    if fragment is None:
        return "no_thread"
    fragments.append(fragment)
    return kind


def _commit_record(commit: ApiCommit, repo: str | None, source: str) -> dict:
    info = commit.commit or {}
    author = info.get("author") or {}
    files = [{"path": f.get("filename"), "status": f.get("status"), "patch": f.get("patch")}
             for f in commit.files or [] if isinstance(f, dict)]
    return {"repo": repo, "sha": commit.sha, "message": info.get("message") or "",
            "author": author.get("name"), "author_login": commit.author.login if commit.author else None,
            "author_date": objects.timestamp(author.get("date")),
            "parents": [p.get("sha") for p in commit.parents or [] if isinstance(p, dict)],
            "files": files, "source": source}
