"""Benchmark: the audit report's render time on a large run (`python -m bench --only report`).

The report reads manifests and sidecars, never the data, so its cost should not grow with the
run. Measured on a real stage-4 run over 1M documents in 10 input files (the dedup benchmark's
1M corpus, quick: 20k), built once and kept under bench/.cache/; the timed section is
`build_report` alone (figures, charts, HTML). No peer builds such a report, so there is no ratio;
the figure is seconds per report (median CPU s / wall s) and docs/s = run rows per CPU second.
"""

from __future__ import annotations

from pathlib import Path

from bench.harness import call, compare
from bench.inputs import CACHE, documents


def stage_4_run(n: int) -> tuple[Path, str]:
    """A finished stage-4 run folder over `n` documents (10 input files), made once and kept."""
    from bench.bench_dedup import split_input
    from pipeline.config import load_config
    from pipeline.runner import run_stage

    corpus = documents(n, near_dups=0.1)
    run = CACHE.parent / f"report-run-{corpus.parquet.stem}"
    if not (run / "stage-4" / "_manifest.json").is_file():
        config = load_config(None, ["run.progress=false", f"dedup.inputs={split_input(corpus.parquet, 10)}"])
        run_stage(4, str(run), config)
    return run, corpus.description + ", 10 input files"


def render(run_dir: str) -> dict:
    import json

    from bench.harness import timed
    from pipeline.report import build_report

    manifest = json.loads((Path(run_dir) / "stage-4" / "_manifest.json").read_text())
    with timed(items=manifest["rows_in"]) as probe:
        page = Path(build_report(run_dir))
        probe.metrics.update({"run_rows": manifest["rows_in"], "removed": manifest["rows_in"] - manifest["rows_out"],
                              "html_kb": round(page.stat().st_size / 1024)})
    return {}


def run(quick: bool):
    n = 20_000 if quick else 1_000_000
    run_dir, desc = stage_4_run(n)
    return [compare(f"report.render_{'20k' if quick else '1m'}", call(render, str(run_dir)), {}, unit="docs",
                    input_desc=f"the report of a finished stage-4 run over {desc}", reps=1 if quick else 3,
                    notes="build_report only (manifests + sidecars, matplotlib charts, HTML); no peer")]
