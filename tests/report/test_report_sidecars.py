"""The report reads manifests and small sidecars only, never the data; a stage that did not run says so."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from pipeline.report import build_report
from tests.conftest import ROOT

SIDECARS = ("_manifest.json", "_index.json", "config.yaml")
VOLATILE = ("run", "generated", "render_seconds")


def _sidecars_only(run: Path, copy: Path) -> None:
    for path in run.rglob("*"):
        if path.is_file() and path.name in SIDECARS:
            target = copy / path.relative_to(run)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)


def _figures(run: Path) -> dict:
    data = json.loads((run / "report" / "report.json").read_text())
    return {k: v for k, v in data.items() if k not in VOLATILE}


def test_the_report_needs_no_data_file(demo_run, tmp_path):
    copy = tmp_path / "sidecars"
    _sidecars_only(demo_run.folder, copy)
    assert not list(copy.rglob("*.parquet")) and not list(copy.rglob("*.warc.gz"))
    build_report(str(copy))
    build_report(str(demo_run.folder))
    assert _figures(copy) == _figures(demo_run.folder)


def test_a_stage_that_did_not_run_is_said_so_in_its_section_and_the_funnel(demo_run, tmp_path):
    copy = tmp_path / "without-dedup"
    _sidecars_only(demo_run.folder, copy)
    shutil.rmtree(copy / "stage-4")
    page = Path(build_report(str(copy))).read_text()
    data = json.loads((copy / "report" / "report.json").read_text())
    assert data["dedup"] == {"status": "not run", "note": "Stage 4 (dedup) did not run in this run folder."}
    assert [r["status"] for r in data["funnel"]["rows"] if r["stage"] == 4] == ["not run"]
    assert '<p class="status not-run">Stage 4 (dedup) did not run in this run folder.</p>' in page


def test_a_missing_run_folder_is_one_clear_error(tmp_path):
    missing = tmp_path / "no-such-run"
    done = subprocess.run([sys.executable, "-m", "pipeline", "report", "--run", str(missing)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: report: run folder {missing} does not exist"
    assert not missing.exists()
