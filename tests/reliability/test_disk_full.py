"""Disk full and a read-only output on a real filesystem (a small tmpfs mounted for the test):
`python -m pipeline run` ends with one error line naming the problem, inputs stay untouched, and a
re-run after freeing space completes with the output of an uninterrupted run."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from glob import glob
from pathlib import Path

import pytest

from tests.reliability.harness import ROOT, check_resumed

pytestmark = pytest.mark.slow
STAGE = 4


@contextmanager
def tmpfs(folder: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted at `folder` (needs root or CAP_SYS_ADMIN, as in CI's container)."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs for the disk-full test: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def cli(stage: int, run_dir: Path, sets: list[str]) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "pipeline", "run", f"stage-{stage}", "--run", str(run_dir)]
    for item in sets:
        args += ["--set", item]
    env = dict(os.environ, PYTHONPATH=str(ROOT), PIPELINE_LOG="quiet")
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def input_digests(sets: list[str]) -> dict[str, str]:
    pattern = next(s.split("=", 1)[1] for s in sets if s.startswith("dedup.inputs="))
    return {p: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in sorted(glob(pattern))}


def one_error_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert lines and lines[-1].startswith("error: "), done.stderr[-3000:]
    return lines[-1]


def test_disk_full_then_rerun_after_freeing_space(forks, configs, tmp_path):
    sets = configs[STAGE]
    reference = tmp_path / "reference"
    assert forks.run(STAGE, reference, sets, tmp_path / "reference.log") == 0
    needed = sum(p.stat().st_size for p in (reference / f"stage-{STAGE}").rglob("*") if p.is_file())
    before = input_digests(sets)
    with tmpfs(tmp_path / "small", f"size={max(8, needed // 2 // 1024)}k") as disk:
        run_dir = disk / "run"
        line = one_error_line(cli(STAGE, run_dir, sets))
        assert "No space left on device" in line, line
        assert input_digests(sets) == before
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)  # space freed
        done = cli(STAGE, run_dir, sets)
        assert done.returncode == 0, done.stderr[-3000:]
        check_resumed(run_dir, reference, STAGE)
    print(f"stage {STAGE} output {needed} bytes; failed on a {max(8, needed // 2 // 1024)} KiB disk: {line}")


def test_read_only_output(configs, tmp_path):
    sets = configs[STAGE]
    before = input_digests(sets)
    with tmpfs(tmp_path / "ro", "size=1m,ro") as disk:
        line = one_error_line(cli(STAGE, disk / "run", sets))
        assert "Read-only file system" in line and str(disk) in line, line
    assert input_digests(sets) == before
