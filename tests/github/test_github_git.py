"""The real histories (bundles): patches equal `git diff`; repair samples reproduce the child from the parent."""

import json
import re
import subprocess

import pytest

from filters.github import agentless, git
from filters.github.languages import language_of


def _git(repo, *args) -> bytes:
    return subprocess.run(["git", "-C", repo, *args], capture_output=True, check=True).stdout


@pytest.fixture(scope="module")
def requests_repo(shared_data, tmp_path_factory):
    return git.open_repository(str(shared_data / "github/repos/psf_requests.bundle"), str(tmp_path_factory.mktemp("git")))


@pytest.fixture(scope="module")
def itsdangerous_repo(shared_data, tmp_path_factory):
    return git.open_repository(str(shared_data / "github/repos/pallets_itsdangerous.bundle"),
                               str(tmp_path_factory.mktemp("git")))


def test_every_commit_is_listed_once(requests_repo, itsdangerous_repo):
    assert git.repo_name("/x/psf_requests.bundle", requests_repo, {}) == "psf/requests"
    for repo, count in ((requests_repo, 6729), (itsdangerous_repo, 804)):
        shas = git.list_commits(repo, "all")
        assert len(shas) == len(set(shas)) == count
        assert set(shas) == set(_git(repo, "rev-list", "--all").decode().split())


def test_patches_equal_git_diff(requests_repo, shared_data):
    fixes = json.loads((shared_data / "github/repos/psf_requests.verified_fix_commits.json").read_text())
    shas = git.list_commits(requests_repo, "all")
    picked = list(dict.fromkeys([shas[0], *shas[::97], *(f["fix_commit"] for f in fixes)]))
    commits = git.read_commits(requests_repo, picked)
    assert [c.sha for c in commits] == picked
    merges = 0
    for commit in commits:
        parent = commit.parents[0] if commit.parents else "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
        expected = _git(requests_repo, "diff", "--no-renames", "--full-index", parent, commit.sha).decode("utf-8", "replace")
        assert commit.patch() == expected, commit.sha
        merges += len(commit.parents) > 1
        message = _git(requests_repo, "log", "-1", "--format=%B", commit.sha).decode("utf-8", "replace")
        assert commit.message == message.rstrip("\n")
        assert commit.author_date == _git(requests_repo, "log", "-1", "--format=%aI", commit.sha).decode().strip()
        assert [f.path for f in commit.files] == re.findall(r"(?m)^diff --git a/(.*) b/\1$", expected)
    assert merges >= 8  # the fix commits are merges, diffed against their first parent


SEARCH_REPLACE = re.compile(r"### ([^\n]+)\n<<<<<<< SEARCH\n(.*?)=======\n(.*?)>>>>>>> REPLACE", re.DOTALL)


def test_repair_samples_apply_to_the_parent_and_reproduce_the_child(itsdangerous_repo):
    """An independent application: the edits as written in the text, on files read with `git show`."""
    commits = git.read_commits(itsdangerous_repo, git.list_commits(itsdangerous_repo, "heads"))
    reader = git.ObjectReader(itsdangerous_repo)
    checked = 0
    for commit in commits:
        files = [f for f in commit.files if f.status == "M" and language_of(f.path)]
        if len(commit.parents) != 1 or not 1 <= len(files) <= 3:
            continue
        show = lambda rev, path: _git(itsdangerous_repo, "show", f"{rev}:{path}").decode()  # noqa: E731
        try:
            old = {f.path: show(commit.parents[0], f.path) for f in files}
            new = {f.path: show(commit.sha, f.path) for f in files}
        except UnicodeDecodeError:
            continue
        text, _ = agentless.repair(commit.message, [(f.path, language_of(f.path), old[f.path], new[f.path], f.patch)
                                                    for f in files]).text()
        answer = text.rsplit("--- END FILE ---", 1)[1]
        result = {p: t if t.endswith("\n") else t + "\n" for p, t in old.items()}
        for path, search, replace in SEARCH_REPLACE.findall(answer):
            assert result[path].count(search) == 1, (commit.sha, path)
            result[path] = result[path].replace(search, replace)
        assert result == {p: t if t.endswith("\n") else t + "\n" for p, t in new.items()}, commit.sha
        assert agentless.verify(text, old, new)
        checked += 1
    reader.close()
    assert checked > 150


def test_localization_structure_lists_every_language(itsdangerous_repo):
    head = git.list_commits(itsdangerous_repo, "heads")[-1]
    reader = git.ObjectReader(itsdangerous_repo)
    paths = reader.files(head)
    reader.close()
    assert paths == sorted(_git(itsdangerous_repo, "ls-tree", "-r", "--name-only", head).decode().split("\n")[:-1])
    doc = agentless.localization("Signer fails on empty keys", paths, ["src/itsdangerous/signer.py"], 3000)
    text, spans = doc.text()
    structure = text.split("### Repository Structure ###\n", 1)[1]
    assert "    signer.py" in structure and "pyproject.toml" in structure and "CHANGES.rst" in structure
    assert text.endswith("```\nsrc/itsdangerous/signer.py\n```")
    masked = "".join(text[a:b] for a, b in spans)
    assert "signer.py" not in masked and "### Repository Structure ###" in masked
    chat, chat_spans = doc.chat(__import__("filters.github.config", fromlist=["ChatTemplate"]).ChatTemplate())
    trained = [chat[b:e] for b, e in _complement(chat_spans, len(chat))]
    assert trained == ["```\nsrc/itsdangerous/signer.py\n```<|im_end|>\n"]


def _complement(spans, length):
    out, cursor = [], 0
    for start, end in spans:
        if start > cursor:
            out.append((cursor, start))
        cursor = end
    if cursor < length:
        out.append((cursor, length))
    return out
