"""A change (a commit's per-file patches) → its scores: trivial kind, size, languages, bot author."""

from __future__ import annotations

import re
from collections import Counter

from filters.github.languages import language_of

_DIGITS = re.compile(r"\d+")


def changed(files) -> tuple[list[str], list[str]]:
    """(removed lines, added lines) over every file's hunks."""
    removed, added = [], []
    for f in files:
        in_hunk = False
        for line in (f["patch"] or "").split("\n"):
            if line.startswith("@@"):
                in_hunk = True
            elif in_hunk and line.startswith("+"):
                added.append(line[1:])
            elif in_hunk and line.startswith("-"):
                removed.append(line[1:])
    return removed, added


def trivial(files, lockfiles: set[str]) -> str | None:
    """empty (no file), lockfile (only lock files), whitespace (only blanks moved),
    version_bump (only numbers changed), or None."""
    if not files:
        return "empty"
    if all(f["path"].rsplit("/", 1)[-1] in lockfiles for f in files):
        return "lockfile"
    if any(f["status"] == "B" for f in files):
        return None
    removed, added = changed(files)
    if not removed and not added:
        return None  # mode changes, empty new files
    squeeze = lambda lines: Counter("".join(line.split()) for line in lines)  # noqa: E731
    if squeeze(removed) == squeeze(added):
        return "whitespace"
    masked = lambda lines: Counter(_DIGITS.sub("0", "".join(line.split())) for line in lines)  # noqa: E731
    if len(removed) == len(added) <= 8 and masked(removed) == masked(added):
        return "version_bump"
    return None


def size(files) -> int:
    removed, added = changed(files)
    return len(removed) + len(added)


def code_files(files, languages: set[str]) -> list[tuple[dict, str]]:
    """(file, language) of the changed files in a kept language."""
    out = []
    for f in files:
        language = language_of(f["path"])
        if language in languages and f["status"] != "B":
            out.append((f, language))
    return out


class Bots:
    def __init__(self, patterns: list[str]):
        self.patterns = [re.compile(p) for p in patterns]

    def __call__(self, *names: str | None) -> bool:
        for name in names:
            if not name:
                continue
            local = name.split("@", 1)[0].split("+", 1)[-1]  # 123+dependabot[bot]@users.noreply.github.com
            if any(p.search(name) or p.search(local) for p in self.patterns):
                return True
        return False
