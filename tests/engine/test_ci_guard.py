"""Under CI a missing ../shared fails the suite instead of skipping half of it."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run_shared_test(tmp_path: Path, ci: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PIPELINE_CI"}
    env["PIPELINE_SHARED"] = str(tmp_path / "no-shared-here")
    if ci:
        env["PIPELINE_CI"] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/engine/test_readme_stage.py"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def test_missing_shared_skips_locally_but_fails_under_ci(tmp_path):
    local = _run_shared_test(tmp_path, ci=False)
    assert local.returncode == 0 and "1 skipped" in local.stdout, local.stdout[-800:]
    under_ci = _run_shared_test(tmp_path, ci=True)
    assert under_ci.returncode != 0 and "missing under CI" in under_ci.stdout, under_ci.stdout[-800:]


def test_ci_entry_point_sets_the_guard():
    assert "export PIPELINE_CI=1" in (ROOT / ".ci" / "run").read_text()
