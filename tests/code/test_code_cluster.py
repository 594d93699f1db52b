"""Stage 6 on a real Spark standalone cluster (`make submit STAGE=6`) equals the local run, file
for file, and a second local run with the same seed equals the first."""

from __future__ import annotations

import json
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.runner import run_stage

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
STDLIB = Path(sysconfig.get_paths()["stdlib"])


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[str]:
    """Real code in three languages plus a copied file with a few edits (a near duplicate)."""
    base = tmp_path_factory.mktemp("code-cluster")
    shutil.copytree(STDLIB / "json", base / "json", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(STDLIB / "html", base / "html", ignore=shutil.ignore_patterns("__pycache__"))
    (base / "scripts").mkdir()
    for script in sorted((STDLIB / "venv" / "scripts" / "common").glob("*"))[:3]:
        shutil.copy(script, base / "scripts" / script.name)
    text = (STDLIB / "json" / "decoder.py").read_text()
    (base / "json" / "decoder_fork.py").write_text(text.replace("JSONDecodeError", "DecodeFailure", 3))
    return [str(base / "json"), str(base / "html"), str(base / "scripts")]


def _settings(inputs: list[str]) -> list[str]:
    return ["run.progress=false", f"code.inputs=[{','.join(inputs)}]", "seed=7", "code.partition_bytes=60000"]


def test_make_submit_stage_6_equals_the_local_run(spark_cluster, inputs, tmp_path):
    settings = _settings(inputs)
    local = run_stage(6, str(tmp_path / "local"), load_config(None, settings))
    again = run_stage(6, str(tmp_path / "again"), load_config(None, settings))
    assert [f["sha256"] for f in again["files"]] == [f["sha256"] for f in local["files"]]

    out = subprocess.run(["make", "--no-print-directory", "submit", "STAGE=6", f"RUN={tmp_path / 'cluster'}",
                          f"MASTER={spark_cluster}", f"SET={' '.join(settings)}"],
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    cluster = json.loads((tmp_path / "cluster" / "stage-6" / "_manifest.json").read_text())
    assert cluster["engine"] == "spark" and len(local["files"]) > 1  # several partitions
    assert [f["sha256"] for f in cluster["files"]] == [f["sha256"] for f in local["files"]]
    assert cluster["dropped"] == local["dropped"] and cluster["rows_out"] == local["rows_out"] >= 8
    assert cluster["dropped"].get("code:near_duplicate") == 1  # the edited copy of decoder.py
    assert cluster["code"]["hits_by_language"] == local["code"]["hits_by_language"]
