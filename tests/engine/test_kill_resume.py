"""SIGKILL a running stage at several points; the resumed run gives exactly the uninterrupted rows."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.runner import run_stage
from tests.engine.helpers import stage_rows, word_config
from tests.engine.wordstage import WordStage
from tests.kill import kill_tree

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
DRIVER = """
import json, sys
from pipeline.runner import run_stage
from tests.engine.wordstage import WordStage
run_stage(WordStage, sys.argv[1], json.loads(sys.argv[2]))
"""


def _start(run_dir: Path, config: dict) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PIPELINE_LOG="quiet")
    return subprocess.Popen([sys.executable, "-c", DRIVER, str(run_dir), json.dumps(config)],
                            cwd=ROOT, env=env, start_new_session=True)


def _committed(run_dir: Path) -> int:
    return len(list((run_dir / "stage-90" / "_parts").glob("*.json")))


@pytest.mark.parametrize("kill_after_commits", [0, 3, 7])
def test_killed_run_resumes_to_identical_rows(shared_data, tmp_path, kill_after_commits):
    config = word_config(shared_data, sleep=0.4)
    reference = run_stage(WordStage, str(tmp_path / "reference"), config)

    run_dir = tmp_path / "killed"
    proc = _start(run_dir, config)
    deadline = time.monotonic() + 120
    while _committed(run_dir) < kill_after_commits and proc.poll() is None:
        assert time.monotonic() < deadline, "the stage made no progress"
        time.sleep(0.05)
    if kill_after_commits == 0:
        while not (run_dir / "stage-90" / "_state.json").exists() and proc.poll() is None:
            time.sleep(0.05)
    kill_tree(proc)  # the driver, its Spark JVM and the python workers
    assert not (run_dir / "stage-90" / "_manifest.json").exists()

    resumed = run_stage(WordStage, str(run_dir), config)
    assert [f["sha256"] for f in resumed["files"]] == [f["sha256"] for f in reference["files"]]
    assert resumed["rows_in"] == reference["rows_in"]
    assert resumed["dropped"] == reference["dropped"]
    rows = stage_rows(run_dir / "stage-90")
    assert rows.equals(stage_rows(tmp_path / "reference" / "stage-90"))
    assert len(set(rows["id"].to_pylist())) == rows.num_rows  # none duplicated
    assert not list((run_dir / "stage-90").rglob(".tmp-*"))  # half-written files cleaned up
