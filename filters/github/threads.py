"""Fragments → threads (an issue or PR with its comments, joined by repo + number) → base rows.

A thread takes its header fields (title, body, state …) from its latest observation that has
them, its comments from every observation (one per comment id, ordered by time then id), and
the most stars any observation reported for its repository.
"""

from __future__ import annotations

from operator import itemgetter

from filters.decontam.patches import closing_refs
from filters.github.objects import gc_paused
from filters.github.render import Builder

HEADER_FIELDS = ("title", "body", "author", "state", "created_at", "closed_at", "merged", "labels",
                 "base_sha", "head_sha", "merge_commit_sha", "repo_language")


def join(fragments: list[dict]) -> list[dict]:
    """One thread per (repo, number), in (repo, number) order."""
    with gc_paused():
        return _join(fragments)


def _join(fragments: list[dict]) -> list[dict]:
    groups: dict[tuple[str, int], list[dict]] = {}
    for fragment in fragments:
        key = (fragment["repo"], int(fragment["number"]))
        group = groups.get(key)
        if group is None:
            groups[key] = [fragment]
        else:
            group.append(fragment)
    threads = []
    for key in sorted(groups):
        group = groups[key]
        threads.append(_thread(key, group) if len(group) > 1 else _single(key, group[0]))
    return threads


def _thread(key: tuple[str, int], group: list[dict]) -> dict:
    try:
        group = sorted(group, key=_OBSERVED)
    except TypeError:  # a missing time or source (sorts first); `group` is untouched, ties keep their order
        group = sorted(group, key=_observed)
    is_pr, sources, stars, comments = False, set(), None, {}
    for fragment in group:  # in time order: a later version of a comment replaces an earlier one
        if fragment["is_pr"]:
            is_pr = True
        if fragment["source"]:
            sources.add(fragment["source"])
        if fragment["stars"] is not None and (stars is None or fragment["stars"] > stars):
            stars = fragment["stars"]
        comment = fragment["comment"]
        if comment is not None:
            comments[comment["id"]] = comment
    thread = {"repo": key[0], "number": key[1], "is_pr": is_pr, "sources": sorted(sources), "stars": stars,
              "observations": len(group)}
    latest_first = group[::-1]
    for name in HEADER_FIELDS:  # the latest observation that has it
        for fragment in latest_first:
            found = fragment[name]
            if found or (found is not None and found != "" and found != []):  # False and 0 are values
                break
        else:
            found = None
        thread[name] = found
    thread["comments"] = sorted(comments.values(), key=_comment_order)
    return thread


def _single(key: tuple[str, int], fragment: dict) -> dict:
    """_thread of one observation (most threads of an hour), without the sorting and merging."""
    thread = {"repo": key[0], "number": key[1], "is_pr": fragment["is_pr"],
              "sources": [fragment["source"]] if fragment["source"] else [], "stars": fragment["stars"],
              "observations": 1}
    for name in HEADER_FIELDS:
        found = fragment[name]
        thread[name] = found if found or (found is not None and found != "" and found != []) else None
    thread["comments"] = [] if fragment["comment"] is None else [fragment["comment"]]
    return thread


_OBSERVED = itemgetter("seen_at", "source")


def _observed(fragment: dict) -> tuple[str, str]:
    return fragment["seen_at"] or "", fragment["source"] or ""


def _comment_order(comment: dict) -> tuple[str, int]:
    return comment["created_at"] or "", comment["id"]


def render(thread: dict) -> tuple[str, list[list[int]]]:
    """The thread as a document: header lines, the opening post, then every comment in order."""
    kind = "Pull request" if thread["is_pr"] else "Issue"
    doc = Builder()
    doc.scaffold(f"{kind} #{thread['number']} in ").content(thread["repo"]).scaffold(": ").content(thread["title"] or "")
    state = "merged" if thread["merged"] else thread["state"]
    if state:
        doc.scaffold("\nState: ").content(state)
    if thread["labels"]:
        doc.scaffold("\nLabels: ").content(", ".join(thread["labels"]))
    if thread["author"]:
        doc.scaffold("\nOpened by ").content(thread["author"])
    if thread["body"]:
        doc.scaffold("\n\n").content(thread["body"].replace("\r\n", "\n"))
    for comment in thread["comments"]:
        who = comment["author"] or "ghost"
        if comment["kind"] == "review_comment":
            doc.scaffold("\n\n--- Review comment by ").content(who)
            if comment["path"]:
                doc.scaffold(" on ").content(comment["path"])
            doc.scaffold(" ---\n")
            if comment["diff_hunk"]:
                doc.scaffold("```diff\n").content(comment["diff_hunk"]).scaffold("\n```\n")
        else:
            label = "Review" if comment["kind"] == "review" else "Comment"
            doc.scaffold(f"\n\n--- {label} by ").content(who).scaffold(" ---\n")
        doc.content((comment["body"] or "").replace("\r\n", "\n"))
    return doc.text()


def closes(thread: dict) -> list[int]:
    """Issues a PR says it closes (title and body)."""
    if not thread["is_pr"]:
        return []
    return [n for n in closing_refs(f"{thread['title'] or ''}\n{thread['body'] or ''}", thread["repo"])
            if n != thread["number"]]


def participants(thread: dict) -> list[str]:
    return sorted({thread["author"], *(c["author"] for c in thread["comments"])} - {None})
