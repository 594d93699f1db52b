"""`make submit` sends every built stage to a real Spark standalone cluster; its parts equal the
local run's. Packaged files (models, the classifier head) must resolve from the --py-files zip."""

import json
import shutil
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from crawl.testsite import serve_folder
from pipeline.config import load_config
from pipeline.registry import STAGES, is_built
from pipeline.runner import run_stage

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
PYDOC = Path("/usr/share/doc/python3.11/html")


def _submit(stage: int, run: Path, master: str, settings: list[str]) -> dict:
    out = subprocess.run(
        ["make", "--no-print-directory", "submit", f"STAGE={stage}", f"RUN={run}", f"MASTER={master}",
         f"SET={' '.join(settings)}"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    manifest = json.loads((run / f"stage-{stage}" / "_manifest.json").read_text())
    assert manifest["engine"] == "spark"
    return manifest


def test_every_built_stage_submits_and_equals_the_local_run(spark_cluster, tmp_path):
    assert (PYDOC / "index.html").is_file(), "needs Debian's python3-doc (make setup installs it)"
    local, cluster = tmp_path / "local", tmp_path / "cluster"
    with serve_folder(PYDOC, robots_txt="User-agent: *\nDisallow: /genindex\n", index=False) as site:
        settings = [f"crawl.seeds=[{site.base_url}/library/index.html]", "crawl.allow_networks=[127.0.0.0/8]",
                    "crawl.max_pages=14", "crawl.max_depth=1", "crawl.min_host_delay=0", "run.progress=false",
                    "extract.min_chars=50", "quality.keep_tiers=[high,medium_high,medium,medium_low,low]"]
        config = load_config(None, settings)
        built = [n for n in STAGES if is_built(n) and n in (1, 2, 3, 4, 8)]  # 6, 7: tests/code, tests/github; 5: tests/rebalance (Spark standalone and Ray)
        for number in built:
            run_stage(number, str(local), config)
        crawled = _submit(1, tmp_path / "crawl-cluster", spark_cluster, settings)
    local_crawl, cluster_crawl = (
        pq.read_table(run / "stage-1" / "part-00000.parquet").select(["url", "status", "reason"]).to_pylist()
        for run in (local, tmp_path / "crawl-cluster"))
    assert crawled["rows_out"] > 5
    assert sorted(map(str, local_crawl)) == sorted(map(str, cluster_crawl))

    shutil.copytree(local / "stage-1", cluster / "stage-1")  # the same fetched bytes for both
    for number in built[1:]:
        submitted = _submit(number, cluster, spark_cluster, settings)
        expected = json.loads((local / f"stage-{number}" / "_manifest.json").read_text())
        assert submitted["rows_out"] > 0, number
        assert [f["sha256"] for f in submitted["files"]] == [f["sha256"] for f in expected["files"]], number
        assert submitted["dropped"] == expected["dropped"], number
