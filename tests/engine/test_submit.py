"""`make submit` sends a real stage to a real Spark standalone cluster; its rows equal the local run's."""

import json
import subprocess
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.runner import run_stage

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_make_submit_stage_2_matches_local(shared_data, spark_cluster, tmp_path):
    warc = shared_data / "warc" / "dolma" / "sample-0000.warc.gz"  # real Common Crawl records
    settings = [f"extract.inputs=[{warc}]", "run.progress=false"]
    local = run_stage(2, str(tmp_path / "local"), load_config(None, settings))

    cluster_run = tmp_path / "cluster"
    out = subprocess.run(
        ["make", "--no-print-directory", "submit", "STAGE=2", f"RUN={cluster_run}",
         f"MASTER={spark_cluster}", f"SET={' '.join(settings)}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    submitted = json.loads((cluster_run / "stage-2" / "_manifest.json").read_text())
    assert submitted["engine"] == "spark"
    assert local["rows_out"] > 0
    assert [f["sha256"] for f in submitted["files"]] == [f["sha256"] for f in local["files"]]
    assert submitted["dropped"] == local["dropped"]
