"""One `make demo` run for the report tests (session-scoped: the demo and browser tests share it)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT


@dataclass
class DemoRun:
    folder: Path
    output: str


def make_demo(folder: Path) -> subprocess.CompletedProcess:
    """`make demo` as a user runs it (setup is not re-run: the suite runs after `make setup`)."""
    return subprocess.run(["make", "-s", "-o", "setup", "demo", f"DEMO_RUN={folder}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=1800)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory, shared_data) -> DemoRun:
    folder = tmp_path_factory.mktemp("demo") / "run"
    done = make_demo(folder)
    assert done.returncode == 0, f"make demo failed:\n{done.stdout}\n{done.stderr[-4000:]}"
    return DemoRun(folder, done.stdout)
