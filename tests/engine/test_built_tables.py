"""The static embedding tables are distilled at `make setup`, not committed: each build must be the
one the repository records (the quality models and stage 5's figures were measured on it), and a
checkout where setup has not run must say how to build them instead of failing obscurely."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest

from pipeline.resources import BUILT_AT_SETUP, resource

ROOT = Path(__file__).resolve().parents[2]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_stage_5_table_built_at_setup_is_the_recorded_one():
    from filters.embed.distill import RECORD
    from filters.embed.models import STATIC_TABLE

    assert _sha256(STATIC_TABLE) == json.loads(RECORD.read_text())["sha256"]


def test_the_tables_are_built_not_committed():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(["git", "ls-files", *BUILT_AT_SETUP], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    ignored = subprocess.run(["git", "check-ignore", *BUILT_AT_SETUP], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert tracked == []
    assert sorted(ignored) == sorted(BUILT_AT_SETUP)


@pytest.mark.parametrize("relative", sorted(BUILT_AT_SETUP))
def test_a_missing_table_names_the_command_that_builds_it(tmp_path, relative):
    not_set_up = tmp_path / "project" / relative  # a checkout where setup has not built it
    with pytest.raises(FileNotFoundError, match=r"make setup.*" + re.escape(BUILT_AT_SETUP[relative])):
        resource(not_set_up)
