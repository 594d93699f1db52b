"""Stage 6 end to end on real code: the venv's standard library, a git checkout, bad inputs."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sysconfig
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline import io
from pipeline.config import load_config
from pipeline.runner import run_stage

STDLIB = Path(sysconfig.get_paths()["stdlib"])
FAST_SPARK = ["run.progress=false", "spark.conf={spark.sql.shuffle.partitions: 2}"]


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "GIT_AUTHOR_DATE": "2024-01-02T03:04:05Z",
           "GIT_COMMITTER_DATE": "2024-01-02T03:04:05Z"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env, text=True).stdout


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> dict:
    """Real files: stdlib packages as a folder and as a git checkout with one corrupt blob, plus one
    of each bad input next to them."""
    base = tmp_path_factory.mktemp("code-corpus")
    folder = base / "folder"
    shutil.copytree(STDLIB / "json", folder / "json", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(STDLIB / "email", folder / "email", ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "json" / "copy_of_decoder.py").write_bytes((STDLIB / "json" / "decoder.py").read_bytes())
    (folder / "latin1.py").write_bytes("# caf\xe9\nx = 1\n".encode("latin-1"))
    (folder / "empty.py").write_bytes(b"")
    (folder / "big.py").write_bytes((STDLIB / "typing.py").read_bytes())
    (folder / "blob.bin").write_bytes(bytes(range(256)) * 4)
    (folder / "node_modules" / "lib").mkdir(parents=True)
    (folder / "node_modules" / "lib" / "index.js").write_text("module.exports = function () { return 1; };\n")
    os.symlink("loop", folder / "loop")  # a symlink to itself: reading it loops
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "control.sock"))  # not a regular file: root can open no socket
    sock.close()

    repo = base / "checkout"
    shutil.copytree(STDLIB / "html", repo, ignore=shutil.ignore_patterns("__pycache__"))
    (repo / "tool.sh").write_text((STDLIB.parent.parent / "bin").exists() and "#!/bin/sh\nexec python3 \"$@\"\n"
                                  or "#!/bin/sh\n")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "import")
    sha = _git(repo, "rev-parse", "HEAD:entities.py").strip()
    obj = repo / ".git" / "objects" / sha[:2] / sha[2:]
    obj.chmod(0o644)
    obj.write_bytes(b"corrupt")  # a broken object: git cannot inflate it
    return {"folder": folder, "repo": repo, "base": base}


def _config(corpus: dict, *extra: str) -> dict:
    inputs = json.dumps([str(corpus["folder"]), str(corpus["repo"])])
    return load_config(None, [*FAST_SPARK, f"code.inputs={inputs}", "code.max_file_bytes=60000", *extra])


@pytest.fixture(scope="session")
def run(corpus, tmp_path_factory) -> tuple[Path, dict]:
    run_dir = tmp_path_factory.mktemp("code-run") / "run"
    return run_dir, run_stage(6, str(run_dir), _config(corpus))


def _rows(run_dir: Path) -> list[dict]:
    stage = run_dir / "stage-6"
    return [r for f in sorted(stage.glob("part-*.parquet")) for r in pq.read_table(f).to_pylist()]


def test_bad_inputs_are_counted_reasons_never_a_crash(run):
    _, manifest = run
    dropped = manifest["dropped"]
    for reason in ("undecodable", "empty", "too_large", "binary", "vendored", "broken_symlink", "unreadable",
                   "git_object_unreadable", "exact_duplicate"):
        assert dropped.get(f"code:{reason}", 0) >= 1, (reason, dropped)
    assert manifest["rows_in"] == manifest["rows_out"] + sum(dropped.values())


def test_rows_carry_language_hits_signals_and_provenance(run, corpus):
    run_dir, manifest = run
    rows = _rows(run_dir)
    assert rows and all(r["content_type"] == "Code" and r["source"] == "code" for r in rows)
    by_path = {(r["repo"], r["path"]): r for r in rows}
    copies = [p for p in ("json/decoder.py", "json/copy_of_decoder.py") if ("folder", p) in by_path]
    assert len(copies) == 1  # identical content: one copy survives
    decoder = by_path[("folder", "json/scanner.py")]
    assert decoder["code_language"] == "python" and decoder["doc_type"] == "code"
    assert decoder["rule_profile"] == "python" and decoder["url"] == "code://folder/json/scanner.py"
    signals = dict(decoder["code_signals"])
    assert signals["qsc_codepython_cate_ast"] == 1.0 and "qsc_code_num_lines" in signals
    assert decoder["hit_count"] == len(decoder["hits"]) <= 6
    parser = by_path[("checkout", "parser.py")]
    assert parser["commit_date"] is not None and parser["commit_date"].year == 2024
    assert by_path[("checkout", "tool.sh")]["code_language"] == "shell"
    assert all(r["hit_count"] <= 6 for r in rows)
    histogram = manifest["code"]["hits_by_language"]["python"]
    assert sum(histogram.values()) >= 30 and manifest["code"]["top_rules"]
    assert sum(histogram.get(str(h), 0) for h in (0, 1, 2)) >= 0.9 * sum(histogram.values())  # hand-written code


def test_rethreshold_redecides_from_stored_signals(run, corpus, tmp_path):
    run_dir, manifest = run
    strict = run_dir.parent / "strict"
    shutil.copytree(run_dir, strict)
    again = run_stage(6, str(strict), _config(corpus, "code.rethreshold=true", "code.max_hits=0"), force=True)
    kept = _rows(strict)
    assert all(r["hit_count"] == 0 for r in kept)
    loose_hits = sum(1 for r in _rows(run_dir) if r["hit_count"] > 0)
    assert again["dropped"].get("code:too_many_hits", 0) == manifest["dropped"].get("code:too_many_hits", 0) + loose_hits
    # the stored signals were read, not recomputed: the files of DIR/code-signals did not change
    assert sorted(p.name for p in (strict / "code-signals").iterdir()) == sorted(
        p.name for p in (run_dir / "code-signals").iterdir())


def test_same_input_and_seed_give_identical_output(run, corpus, tmp_path):
    run_dir, manifest = run
    again = run_stage(6, str(tmp_path / "again"), _config(corpus))
    assert [f["sha256"] for f in again["files"]] == [f["sha256"] for f in manifest["files"]]


def test_stage_8_reads_stage_6(run, tmp_path):
    run_dir, _ = run
    both = tmp_path / "with-tokens"
    shutil.copytree(run_dir, both)
    config = load_config(None, ["run.progress=false", "tokenize.shard_tokens=20000"])
    manifest = run_stage(8, str(both), config)
    index = io.read_json(str(both / "stage-8" / "_index.json"))
    assert manifest["rows_in"] == len(_rows(run_dir))
    assert "code" in json.dumps(index)
