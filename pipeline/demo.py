"""`make demo`: serve a real site on loopback, run every built stage on it, build the report.

The embedded default input is Debian's Python documentation (real HTML, installed by `make setup`),
served by crawl.testsite on 127.0.0.1 with a robots.txt that disallows part of it.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from pipeline.config import load_config
from pipeline.errors import PipelineError
from pipeline.registry import DEMO_SITE, STAGES, is_built, load
from pipeline.report import build_report

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEMO_CONFIG = PROJECT_ROOT / "configs" / "demo.yaml"
DEMO_FOLDER = Path("/usr/share/doc/python3.11/html")
DEMO_ROBOTS = "User-agent: *\nDisallow: /genindex\nDisallow: /_sources/\nCrawl-delay: 0\n"


def run_demo(run_dir: str) -> int:
    from pipeline.runner import run_stage

    built = [n for n in STAGES if is_built(n)]
    missing = [f"stage-{n} ({STAGES[n][0]})" for n in STAGES if n not in built]
    with _demo_site() as seed:
        overrides = [f"crawl.seeds=[{seed}]"] if seed else []
        config = load_config(DEMO_CONFIG, overrides)
        for number in built:
            try:
                manifest = run_stage(number, run_dir, config)
            except PipelineError as exc:
                print(f"stage-{number} ({STAGES[number][0]}) stopped: {exc}")
                missing.append(f"stage-{number} ({STAGES[number][0]}: failed)")
                continue
            print(f"stage-{number} {STAGES[number][0]:<10} {manifest['rows_in']:>7} in {manifest['rows_out']:>7} out")
    report = build_report(run_dir)
    if missing:
        print("not built yet (skipped): " + ", ".join(missing))
    print(f"report: {report}")
    return 0


@contextlib.contextmanager
def _demo_site():
    """Yield the seed URL of the served demo site, or None when stage 1 is not built."""
    if not is_built(1):
        yield None
        return
    if not (DEMO_FOLDER / "index.html").is_file():
        raise PipelineError(f"demo site {DEMO_FOLDER} is missing: run `make setup` (installs python3-doc)")
    serve_folder = load(DEMO_SITE)
    with serve_folder(DEMO_FOLDER, robots_txt=DEMO_ROBOTS, index=False) as site:
        yield site.base_url.rstrip("/") + "/index.html"
