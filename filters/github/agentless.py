"""Agentless-style samples from a change (algorithms.md §7): file localisation and code repair.

- localisation: the problem and the repository structure (an indented tree of every file, all
  languages, four spaces a level, folders ending in "/") → the files to edit (at most 5, most
  changed first, in a fenced block);
- repair: the problem and the files' contents before the change → SEARCH/REPLACE edits
  (`### path`, `<<<<<<< SEARCH`, the exact old lines, `=======`, the new lines,
  `>>>>>>> REPLACE`, in a fenced block). Each SEARCH is widened with context until it occurs once
  in its file. `verify` parses the edits back out of the rendered sample, applies them to the old
  files and compares with the new ones: a sample that does not reproduce its change is dropped.

The prompt wording is our own; the section markers and the edit format are Agentless's.
"""

from __future__ import annotations

import re

from filters.github.render import Builder

MAX_LOCATIONS = 5
SEARCH, DIVIDER, REPLACE = "<<<<<<< SEARCH\n", "=======\n", ">>>>>>> REPLACE"
FENCE = {"Python": "python", "C++": "cpp", "C#": "csharp", "JavaScript": "javascript", "TypeScript": "typescript",
         "Shell": "bash", "Objective-C": "objectivec", "F#": "fsharp", "Visual Basic .NET": "vbnet"}


def structure(paths: list[str], limit: int) -> str:
    """Indented tree of the paths (sorted), cut after `limit` files with a count of the rest."""
    lines: list[str] = []
    shown: list[str] = []
    for path in sorted(paths)[:limit]:
        parts = path.split("/")
        common = 0
        while common < len(parts) - 1 and common < len(shown) - 1 and shown[common] == parts[common]:
            common += 1
        for depth in range(common, len(parts) - 1):
            lines.append("    " * depth + parts[depth] + "/")
        lines.append("    " * (len(parts) - 1) + parts[-1])
        shown = parts
    if len(paths) > limit:
        lines.append(f"... ({len(paths) - limit} more files)")
    return "\n".join(lines)


def localization(problem: str, paths: list[str], targets: list[str], limit: int) -> Builder:
    doc = Builder()
    doc.scaffold("Read the GitHub problem description and the repository structure below, and list the "
                 "files one would edit to solve the problem.\n\n### GitHub Problem Description ###\n")
    doc.content(problem).scaffold("\n\n###\n\n### Repository Structure ###\n").content(structure(paths, limit))
    doc.scaffold("\n\n###\n\nGive full paths, at most 5 files, one per line, most important first, "
                 "wrapped in ```.\n")
    doc.answer().content("```\n" + "\n".join(targets[:MAX_LOCATIONS]) + "\n```")
    return doc


HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", re.MULTILINE)


def edits(old: str, new: str, patch: str) -> list[tuple[str, str]]:
    """(search, replace) pairs that turn `old` into `new`: one per hunk of the file's `git diff`
    (context included), each widened by whole lines until its search occurs once in `old`;
    hunks that grow into each other are merged. Cut from the files themselves, so line endings
    and a missing final newline are exact."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    ranges = []
    for match in HUNK.finditer(patch):
        o_start, o_len = int(match.group(1)), int(match.group(2) or 1)
        n_start, n_len = int(match.group(3)), int(match.group(4) or 1)
        i1 = o_start - 1 if o_len else o_start  # an empty side's start names the line before it
        j1 = n_start - 1 if n_len else n_start
        ranges.append([i1, i1 + o_len, j1, j1 + n_len])
    out: list[list[int]] = []
    for i1, i2, j1, j2 in ranges:
        while True:
            search = "".join(a[i1:i2])
            if (search and old.count(search) == 1) or (i1 == 0 and i2 == len(a)):
                break
            if i1 > 0:
                i1, j1 = i1 - 1, j1 - 1
            if i2 < len(a):
                i2, j2 = i2 + 1, j2 + 1
        if out and i1 <= out[-1][1]:  # overlaps the previous edit: one edit covering both
            out[-1][1], out[-1][3] = i2, j2
        else:
            out.append([i1, i2, j1, j2])
    return [("".join(a[i1:i2]), "".join(b[j1:j2])) for i1, i2, j1, j2 in out]


def repair(problem: str, files: list[tuple[str, str, str, str, str]]) -> Builder:
    """files: (path, language, old content, new content, the file's `git diff`), in the order shown."""
    doc = Builder()
    doc.scaffold("We are fixing the following issue in our repository.\n--- BEGIN ISSUE ---\n").content(problem)
    doc.scaffold("\n--- END ISSUE ---\n\nBelow are the relevant files; one or more of them need changes.\n\n"
                 "--- BEGIN FILE ---\n")
    for path, _, old, _, _ in files:
        doc.scaffold("### ").content(path).scaffold("\n").content(old)
        doc.scaffold("" if old.endswith("\n") or not old else "\n")
    doc.scaffold("--- END FILE ---\n\nFind the problem from the issue, then write *SEARCH/REPLACE* edits that "
                 "fix it: per edit, the file's path, the exact existing lines with their full indentation "
                 "as the SEARCH part and the new lines as the REPLACE part, each edit in a fenced code block.\n")
    doc.answer()
    for path, language, old, new, patch in files:
        for search, replace in edits(old, new, patch):
            fence = FENCE.get(language, (language or "").lower())
            doc.content(f"```{fence}\n### {path}\n{SEARCH}{_block(search)}{DIVIDER}{_block(replace)}{REPLACE}\n```\n")
    return doc


def _block(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


EDIT = re.compile(r"### (?P<path>[^\n]+)\n" + re.escape(SEARCH) + r"(?P<search>.*?)" + re.escape(DIVIDER)
                  + r"(?P<replace>.*?)" + re.escape(REPLACE), re.DOTALL)


def parse_edits(answer: str) -> list[tuple[str, str, str]]:
    """(path, search, replace) of every SEARCH/REPLACE edit in a text."""
    return [(m.group("path").strip(), m.group("search"), m.group("replace")) for m in EDIT.finditer(answer)]


def _eol(text: str) -> str:
    """Edits are whole lines: a file's missing final newline is one they cannot express."""
    return text if not text or text.endswith("\n") else text + "\n"


def apply_edits(files: dict[str, str], found: list[tuple[str, str, str]]) -> dict[str, str] | None:
    """The files after the edits (each search must occur once), or None if one does not apply."""
    out = {path: _eol(text) for path, text in files.items()}
    for path, search, replace in found:
        if path not in out:
            return None
        text = out[path]
        if search and text.count(search) != 1:
            return None
        out[path] = text.replace(search, replace, 1) if search else replace
    return out


def verify(rendered: str, old: dict[str, str], new: dict[str, str]) -> bool:
    """The edits written in a rendered repair sample turn the old files into the new ones
    (compared up to a missing final newline)."""
    answer = rendered.rsplit("--- END FILE ---", 1)[-1]
    result = apply_edits(old, parse_edits(answer))
    return result is not None and result == {path: _eol(text) for path, text in new.items()}
