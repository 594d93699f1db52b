"""What a change is, independent of where it is written: signed changed lines, issue references.

- `changed_lines(text)`: the removed ("-") and added ("+") lines of every unified-diff hunk and
  every SEARCH/REPLACE edit in a text, normalised (whitespace collapsed). Context lines, file
  headers and line numbers are left out, so the same change in another fork, another commit or
  another format (a diff, a repair sample's SEARCH/REPLACE block) gives the same lines.
- `closing_refs(text)`: issue numbers a PR or commit closes (GitHub's closing keywords).
- `pull_refs(message)`: the PR number a merge or squash commit names.
"""

from __future__ import annotations

import re
from collections import Counter

MIN_LINE_CHARS = 10  # shorter changed lines ("}", "else:", "pass") say nothing about which change
SEARCH, DIVIDER, REPLACE = "<<<<<<< SEARCH", "=======", ">>>>>>> REPLACE"
HUNK_HEADER = re.compile(r"^@@ -\d+(?:,(?P<old>\d+))? \+\d+(?:,(?P<new>\d+))? @@")
_SPACE = re.compile(r"\s+")
_LETTER = re.compile(r"[^\W\d_]")
# GitHub's closing keywords, then #N, owner/repo#N or an issue URL.
CLOSING = re.compile(
    r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\b[\s:]*"
    r"(?:(?:https?://github\.com/)?(?P<repo>[\w.-]+/[\w.-]+)(?:#|/issues/)|#)(?P<number>\d+)",
    re.IGNORECASE)
MERGE_PR = re.compile(r"^Merge pull request #(?P<number>\d+)\b")
SQUASH_PR = re.compile(r"\(#(?P<number>\d+)\)\s*$")


def normalise(line: str) -> str | None:
    """Whitespace collapsed; None for a line too short or letterless to identify a change."""
    line = _SPACE.sub(" ", line).strip()
    if len(line) < MIN_LINE_CHARS or not _LETTER.search(line):
        return None
    return line


def changed_lines(text: str) -> list[str]:
    """Signed normalised changed lines ("-old", "+new") of the diffs and SEARCH/REPLACE edits in text."""
    out: list[str] = []
    if "\n@@ " in text or text.startswith("@@ "):
        out.extend(_diff_lines(text))
    if SEARCH in text:
        out.extend(_search_replace_lines(text))
    return out


def _diff_lines(text: str) -> list[str]:
    """Changed lines of unified-diff hunks, each read for exactly the lengths its header gives."""
    out: list[str] = []
    old_left = new_left = 0
    for line in text.split("\n"):
        if old_left <= 0 and new_left <= 0:
            header = HUNK_HEADER.match(line)
            if header:
                old_left, new_left = int(header.group("old") or 1), int(header.group("new") or 1)
            continue
        sign = line[:1]
        if sign == "-":
            old_left -= 1
        elif sign == "+":
            new_left -= 1
        elif sign in (" ", ""):
            old_left, new_left = old_left - 1, new_left - 1
        elif sign == "\\":
            continue
        else:  # not a hunk line: the text was cut inside a hunk
            old_left = new_left = 0
            continue
        if sign in "+-" and sign:
            body = normalise(line[1:])
            if body:
                out.append(sign + body)
    return out


def _search_replace_lines(text: str) -> list[str]:
    """Lines only in SEARCH are removed, lines only in REPLACE are added (as multisets)."""
    out: list[str] = []
    for block in text.split(REPLACE)[:-1]:
        if SEARCH not in block or DIVIDER not in block:
            continue
        body = block.rsplit(SEARCH, 1)[1]
        search, _, replace = body.partition("\n" + DIVIDER + "\n")
        old = Counter(filter(None, map(normalise, search.split("\n"))))
        new = Counter(filter(None, map(normalise, replace.split("\n"))))
        out.extend("-" + line for line in (old - new).elements())
        out.extend("+" + line for line in (new - old).elements())
    return out


FENCED = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
INDENTED = re.compile(r"^(?: {4}|\t).*$", re.MULTILINE)
TRACEBACK = re.compile(r"^\s*(?:Traceback \(most recent call last\):|File \"[^\n]*\", line \d+.*)$", re.MULTILINE)


def prose(text: str) -> str:
    """An issue's words without its code: fenced and indented blocks and traceback lines removed.

    An issue pastes configuration files, generated templates and stack traces that recur in
    unrelated projects (a Sphinx conf.py, importlib frames); its own words identify it.
    """
    text = text.replace("\r\n", "\n")
    for pattern in (FENCED, INDENTED, TRACEBACK):
        text = pattern.sub("", text)
    return text


def closing_refs(text: str, repo: str | None = None) -> list[int]:
    """Issue numbers of `repo` that the text says it closes ("Fixes #12", "closes org/repo#3")."""
    found: set[int] = set()
    for match in CLOSING.finditer(text or ""):
        other = match.group("repo")
        if other and repo and other.lower() != repo.lower():
            continue
        found.add(int(match.group("number")))
    return sorted(found)


def pull_ref(message: str) -> int | None:
    """The PR number of a merge commit ("Merge pull request #12 from …") or a squash ("Title (#12)")."""
    if not message:
        return None
    match = MERGE_PR.match(message)
    if match:
        return int(match.group("number"))
    subject = message.split("\n", 1)[0]
    match = SQUASH_PR.search(subject)
    return int(match.group("number")) if match else None
