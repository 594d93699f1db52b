"""The dataset audit report: what every stage read, kept and dropped (and why), from the manifests.

    build_report(run_dir) → DIR/report/index.html (one self-contained page: inline SVG charts, no
                            script, no network) and DIR/report/report.json (the same figures)

collect.py reads the figures (manifests and small sidecars only, never the data), charts.py draws
them with matplotlib, template.html.j2 lays the page out.
"""

from __future__ import annotations

import time

from pipeline import io
from pipeline.errors import InputError
from pipeline.report.collect import collect


def build_report(run_dir: str) -> str:
    """Write the report for a run folder; returns the path of index.html."""
    from pipeline.report.render import render_html

    if not io.exists(str(run_dir)):
        raise InputError(f"report: run folder {run_dir} does not exist")
    started = time.perf_counter()
    data = collect(str(run_dir))
    page = render_html(data)
    data["render_seconds"] = round(time.perf_counter() - started, 2)
    out = io.join(str(run_dir), "report")
    io.write_json_atomic(io.join(out, "report.json"), data)
    io.write_bytes_atomic(io.join(out, "index.html"), page.replace("%RENDER_SECONDS%", f"{data['render_seconds']:.1f}").encode())
    return io.join(out, "index.html")


__all__ = ["build_report", "collect"]
