"""Git histories (clones, bare repos, bundles) → commits with message, dates, parents, per-file patches.

Everything goes through the git CLI, so patches are exactly what `git diff` prints: one
`git log --no-walk=unsorted --stdin -p` per batch of commits streams every commit with its patch
(a merge is diffed against its first parent), and we cut the stream into commits and files. The
validation pass (`validate`) re-derives chosen commits with a separate `git diff <parent> <commit>`
per commit and compares byte for byte; the agreement rate goes in the manifest.

A bundle is cloned once (`git clone --mirror`) into the stage's work folder; clones and bare
repositories are read in place. File contents and trees (for Agentless samples) are read through
one long-lived `git cat-file --batch` per repository, with trees cached by object id.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import InputError

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
MARK = "\x1e\x1fcommit "  # starts each commit's header in the log stream (never in a message)
FORMAT = MARK + "%H%x00%P%x00%an%x00%ae%x00%aI%x00%cI%x00%B%x00"
DIFF_OPTIONS = ["--no-color", "--no-renames", "--no-ext-diff", "--no-textconv", "--full-index", "--unified=3",
                "--diff-algorithm=myers", "--src-prefix=a/", "--dst-prefix=b/"]
GIT_CONFIG = ["-c", "core.quotePath=false", "-c", "diff.noprefix=false", "-c", "log.showSignature=false",
              "-c", "diff.mnemonicPrefix=false"]
NULL_SHA = "0" * 40


def git(repo: str, *args: str, stdin: bytes | None = None) -> bytes:
    result = subprocess.run(["git", *GIT_CONFIG, "-C", repo, *args], input=stdin, capture_output=True,
                            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})
    if result.returncode != 0:
        first = result.stderr.decode(errors="replace").strip().splitlines()[:1]
        raise InputError(f"github.repos: git {args[0]} failed in {repo}: {first[0] if first else result.returncode}")
    return result.stdout


def open_repository(path: str, work_dir: str) -> str:
    """A git directory to read: the path itself, or a mirror clone of a bundle (made once)."""
    source = Path(path)
    if source.is_file():  # a bundle
        target = Path(work_dir) / (source.name.removesuffix(".bundle") + ".git")
        if not (target / "HEAD").exists():
            partial = target.with_name(target.name + ".partial")
            subprocess.run(["rm", "-rf", str(partial)], check=True)
            result = subprocess.run(["git", "clone", "-q", "--mirror", str(source), str(partial)],
                                    capture_output=True)
            if result.returncode != 0:
                raise InputError(f"github.repos: {path} is not a readable git bundle "
                                 f"({result.stderr.decode(errors='replace').strip()[:200]})")
            partial.rename(target)
        return str(target)
    if not source.exists():
        raise InputError(f"github.repos: {path} does not exist")
    git(str(source), "rev-parse", "--git-dir")  # a clear error if it is not a repository
    return str(source)


def repo_name(path: str, repo: str, names: dict[str, str]) -> str:
    """owner/name: configured, else the origin URL, else a bundle's file name `owner_name.bundle`."""
    if path in names:
        return names[path]
    try:
        url = git(repo, "config", "--get", "remote.origin.url").decode().strip()
    except InputError:
        url = ""
    match = re.search(r"github\.com[:/]([^/]+)/([^/]+?)(?:\.git)?/?$", url)
    if match:
        return f"{match.group(1)}/{match.group(2)}"
    stem = Path(path).name.removesuffix(".bundle").removesuffix(".git")
    owner, _, name = stem.partition("_")  # GitHub owners have no "_"
    return f"{owner}/{name}" if name else stem


def list_commits(repo: str, refs: str) -> list[str]:
    """Every commit reachable from the refs, oldest first (topological, then by date), once."""
    selection = ["--all"] if refs == "all" else ["--branches"]
    out = git(repo, "rev-list", "--topo-order", "--reverse", "--date-order", *selection)
    return out.decode().split()


@dataclass
class FileChange:
    path: str
    status: str        # A (added), D (deleted), M (modified), B (binary), T (type change)
    patch: str         # the file's part of `git diff`, header included
    added: int = 0
    removed: int = 0


@dataclass
class Commit:
    sha: str
    parents: list[str]
    author: str
    email: str
    author_date: str
    commit_date: str
    message: str
    files: list[FileChange] = field(default_factory=list)

    def patch(self) -> str:
        return "".join(f.patch for f in self.files)


def read_commits(repo: str, shas: list[str]) -> list[Commit]:
    """The commits (in the given order) with their patches, from one `git log` stream."""
    if not shas:
        return []
    out = git(repo, "log", "--no-walk=unsorted", "--stdin", "-p", "--diff-merges=first-parent",
              f"--format={FORMAT}", *DIFF_OPTIONS, stdin=("\n".join(shas) + "\n").encode())
    text = out.decode("utf-8", errors="replace")
    commits = []
    for chunk in text.split(MARK)[1:]:
        sha, parents, author, email, adate, cdate, message, rest = chunk.split("\x00", 7)
        commit = Commit(sha, parents.split(), author, email, adate, cdate, message.rstrip("\n"))
        commit.files = split_patch(rest.lstrip("\n"))
        commits.append(commit)
    if [c.sha for c in commits] != shas:
        raise InputError(f"github.repos: git log in {repo} returned {len(commits)} of {len(shas)} commits")
    return commits


def split_patch(diff: str) -> list[FileChange]:
    """`git diff` output → one FileChange per `diff --git` section (text kept exactly)."""
    files: list[FileChange] = []
    if not diff:
        return files
    sections = re.split(r"(?m)^(?=diff --git )", diff)
    for section in sections:
        if not section.startswith("diff --git "):
            continue
        header = section.split("\n", 1)[0][len("diff --git "):]
        half = (len(header) - 1) // 2  # "a/P b/P": no renames, so both halves name the same path
        path = header[2:half] if header[half:half + 3] == " b/" else header[2:].split(" b/", 1)[0]
        status = "M"
        if "\nnew file mode" in section[:300]:
            status = "A"
        elif "\ndeleted file mode" in section[:300]:
            status = "D"
        if "\nBinary files " in section or "\nGIT binary patch" in section:
            status = "B"
        added = removed = 0
        in_hunk = False
        for line in section.split("\n"):
            if line.startswith("@@"):
                in_hunk = True
            elif in_hunk and line.startswith("+"):
                added += 1
            elif in_hunk and line.startswith("-"):
                removed += 1
        files.append(FileChange(path, status, section, added, removed))
    return files


def git_diff(repo: str, commit: Commit) -> str:
    """What `git diff <first parent> <commit>` prints (the empty tree stands in for a root's parent)."""
    parent = commit.parents[0] if commit.parents else EMPTY_TREE
    return git(repo, "diff", *DIFF_OPTIONS, parent, commit.sha).decode("utf-8", errors="replace")


class ObjectReader:
    """One `git cat-file --batch` process: blobs by `rev:path`, file lists of trees (cached)."""

    def __init__(self, repo: str):
        self.repo = repo
        self.proc = subprocess.Popen(["git", "-C", repo, "cat-file", "--batch"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)
        self.trees: dict[str, list[str]] = {}

    def _object(self, name: str) -> tuple[str, str, bytes] | None:
        self.proc.stdin.write(name.encode("utf-8", "surrogateescape") + b"\n")
        self.proc.stdin.flush()
        header = self.proc.stdout.readline().decode().split()
        if len(header) != 3:  # "<name> missing" / "ambiguous"
            return None
        oid, kind, size = header[0], header[1], int(header[2])
        data = self.proc.stdout.read(size)
        self.proc.stdout.read(1)
        return oid, kind, data

    def blob(self, rev: str, path: str) -> bytes | None:
        found = self._object(f"{rev}:{path}")
        return found[2] if found and found[1] == "blob" else None

    def files(self, rev: str) -> list[str]:
        """Every file path in the tree of `rev` (submodules and symlinks included), sorted."""
        found = self._object(f"{rev}^{{tree}}")
        return self._tree_files(found[0]) if found else []

    def _tree_files(self, oid: str) -> list[str]:
        if oid in self.trees:
            return self.trees[oid]
        found = self._object(oid)
        paths: list[str] = []
        data = found[2] if found else b""
        at = 0
        while at < len(data):
            space = data.index(b" ", at)
            nul = data.index(b"\0", space)
            mode, name = data[at:space], data[space + 1:nul].decode("utf-8", "replace")
            child = data[nul + 1:nul + 21].hex()
            at = nul + 21
            if mode == b"40000":
                paths.extend(f"{name}/{p}" for p in self._tree_files(child))
            else:
                paths.append(name)
        paths.sort()
        self.trees[oid] = paths
        return paths

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait()
