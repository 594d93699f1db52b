"""Fragments → threads (an issue or PR with its comments, joined by repo + number) → base rows.

A thread takes its header fields (title, body, state …) from its latest observation that has
them, its comments from every observation (one per comment id, ordered by time then id), and
the most stars any observation reported for its repository.
"""

from __future__ import annotations

from filters.decontam.patches import closing_refs
from filters.extract.loader import load_extension
from filters.github.objects import gc_paused
from filters.github.render import Builder

_fragments = load_extension("filters.github._fragments")


def join(fragments: list[dict]) -> list[dict]:
    """One thread per (repo, number), in (repo, number) order (compiled: _fragments.pyx)."""
    with gc_paused():
        return _fragments.join(fragments)


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
