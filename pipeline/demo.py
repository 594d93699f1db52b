"""`make demo`: real local websites on loopback, every built stage on them, then the audit report.

The embedded default input, all installed on a fresh machine by `make setup`, nothing downloaded:

- two real sites served on loopback with a robots.txt that disallows part of each: Debian's
  Python documentation (python3-doc, English) on 127.0.0.1 and the Debian Reference in Chinese
  (debian-reference-zh-cn) on 127.0.0.2, same port; stage 1 crawls them, stages 2-5 curate;
- a real code corpus for stage 6: a few packages of the venv's Python standard library;
- a real git history for stage 7: the pallets/itsdangerous bundle from ../shared/data when it is
  there, else this repository's own history;
- stage 8 tokenizes what the others kept.

Running it again reuses the run folder: finished stages are kept (the sites are served on the
same port, so stage 1's config is unchanged). When that cannot be (the port is taken, or the demo
config changed), the old folder is moved to `<run>.previous` and a fresh run starts; one line says
which.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline import io
from pipeline.config import config_sha256, load_config
from pipeline.errors import PipelineError
from pipeline.registry import DEMO_SITE, STAGES, is_built, load, stage_class

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEMO_CONFIG = PROJECT_ROOT / "configs" / "demo.yaml"
STATE_FILE = "demo.json"
SHARED_REPOS = PROJECT_ROOT.parent / "shared" / "data" / "github" / "repos"
DEMO_BUNDLE = "pallets_itsdangerous.bundle"
STDLIB_PACKAGES = ("json", "email", "http", "urllib", "concurrent")  # ~50 real files, ~2 MB


@dataclass(frozen=True)
class DemoSite:
    package: str   # the Debian package that installs it (make setup)
    folder: Path
    host: str
    seed: str      # path of the first page
    robots: str

    def available(self) -> bool:
        return (self.folder / self.seed.lstrip("/")).is_file()


SITES = (
    DemoSite("python3-doc", Path("/usr/share/doc/python3.11/html"), "127.0.0.1", "/index.html",
             "User-agent: *\nDisallow: /genindex\nDisallow: /_sources/\nDisallow: /c-api/\n"),
    DemoSite("debian-reference-zh-cn", Path("/usr/share/debian-reference"), "127.0.0.2", "/index.zh-cn.html",
             "User-agent: *\nDisallow: /*.en.html\nDisallow: /ch12.zh-cn.html\nDisallow: /*.pdf\n"),
)


def say(message: str) -> None:
    print(message, flush=True)


def demo_inputs() -> dict[str, list[str]]:
    """The code corpus and the git history the demo gives stages 6 and 7."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    code = [str(stdlib / p) for p in STDLIB_PACKAGES if (stdlib / p).is_dir()]
    bundle = SHARED_REPOS / DEMO_BUNDLE
    repos = [str(bundle)] if bundle.is_file() else [str(PROJECT_ROOT)]
    return {"code.inputs": code, "github.repos": repos}


def demo_config(port: int | None, sites: list[DemoSite]) -> dict:
    overrides = [f"{key}={value}" for key, value in demo_inputs().items()]
    if port is not None and sites:
        seeds = [f"http://{s.host}:{port}{s.seed}" for s in sites]
        overrides.append(f"crawl.seeds={seeds}")
    return load_config(DEMO_CONFIG, overrides)


def _changed_stage(run: Path, config: dict) -> str | None:
    """The first stage of the run folder that was (being) made with another config, if any."""
    for number in STAGES:
        folder = run / f"stage-{number}"
        for name in ("_manifest.json", "_state.json"):
            if (folder / name).is_file():
                try:
                    recorded = io.read_json(str(folder / name)).get("config_sha256")
                except PipelineError:
                    return f"stage-{number} ({name} unreadable)"
                if is_built(number) and recorded != config_sha256(config, stage_class(number).sections()):
                    return f"stage-{number} ({STAGES[number][0]})"
                break
    return None


def _start_sites(sites: list[DemoSite], port: int | None) -> tuple[contextlib.ExitStack, int] | None:
    """Serve every site on one port (None: a free one); None when the given port is taken."""
    serve_folder = load(DEMO_SITE)
    for _attempt in range(20):
        stack = contextlib.ExitStack()
        try:
            first = stack.enter_context(serve_folder(sites[0].folder, host=sites[0].host, port=port or 0,
                                                     robots_txt=sites[0].robots, index=False))
            for site in sites[1:]:
                stack.enter_context(serve_folder(site.folder, host=site.host, port=first.port,
                                                 robots_txt=site.robots, index=False))
            return stack, first.port
        except OSError:
            stack.close()
            if port:
                return None
    raise PipelineError("demo: found no free port to serve the demo sites on")


def _sites() -> list[DemoSite]:
    if not is_built(1):
        return []
    sites = [s for s in SITES if s.available()]
    for site in SITES:
        if not site.available():
            say(f"demo: {site.folder} is missing (Debian package {site.package}; `make setup` installs it): "
                "not served")
    if not sites:
        raise PipelineError("demo: no demo site is installed; run `make setup` (installs python3-doc)")
    return sites


def _fresh(run: Path, why: str) -> None:
    if why and run.exists() and any(run.iterdir()):
        previous = run.with_name(run.name + ".previous")
        shutil.rmtree(previous, ignore_errors=True)
        run.rename(previous)
        say(f"demo: {why}; starting a fresh run folder {run} (the old one is now {previous})")
    else:
        say(f"demo: starting a fresh run folder {run}")
    run.mkdir(parents=True, exist_ok=True)


def _open_run(run: Path, sites: list[DemoSite]) -> tuple[contextlib.ExitStack | None, int | None]:
    """Reuse the run folder when its stages match today's demo config on the recorded port, else
    start a fresh one; says which in one line. Returns the served sites and their port."""
    state_path = run / STATE_FILE
    why = f"{run} was not made by the demo" if run.exists() and any(run.iterdir()) else ""
    if state_path.is_file():
        port = io.read_json(str(state_path)).get("port")
        served = _start_sites(sites, port) if sites else (None, None)
        if served is None:
            why = f"port {port} (the demo's sites) is taken"
        else:
            changed = _changed_stage(run, demo_config(served[1], sites))
            if not changed:
                say(f"demo: reusing {run} (finished stages are kept, the others resume)")
                io.write_json_atomic(str(state_path), {"port": served[1]})
                return served
            if served[0] is not None:
                served[0].close()
            why = f"{changed} was made with another config"
    _fresh(run, why)
    served = _start_sites(sites, None) if sites else (None, None)
    io.write_json_atomic(str(state_path), {"port": served[1]})
    return served


def run_demo(run_dir: str) -> int:
    os.environ.setdefault("PIPELINE_LOG", "quiet")  # the demo prints its own progress lines
    run = Path(run_dir)
    sites = _sites()
    servers, port = _open_run(run, sites)
    try:
        if sites:
            say("demo: serving " + ", ".join(f"{s.package} at http://{s.host}:{port}{s.seed}" for s in sites))
        failed = _run_stages(str(run), demo_config(port, sites))
    finally:
        if servers is not None:
            servers.close()
    from pipeline.report import build_report

    started = time.perf_counter()
    report = build_report(str(run))
    say(f"report: {report} (rendered in {time.perf_counter() - started:.1f} s)")
    if failed:
        say("demo: failed stages: " + ", ".join(failed))
        return 1
    return 0


def _run_stages(run_dir: str, config: dict) -> list[str]:
    """Every built stage in order; returns the ones that failed (each said in one line)."""
    from pipeline.runner import run_stage

    missing = [f"stage-{n} ({name})" for n, (name, _) in STAGES.items() if not is_built(n)]
    if missing:
        say("demo: not built yet (skipped; the report says so): " + ", ".join(missing))
    failed = []
    for number, (name, _) in STAGES.items():
        if not is_built(number):
            continue
        label = f"[{number}/{len(STAGES)}] stage-{number} {name:<10}"
        finished = Path(run_dir, f"stage-{number}", "_manifest.json").is_file()
        changed = _newer_input(run_dir, number) if finished else None
        if changed:
            say(f"{label} running again: stage-{changed} finished after it (its input changed)")
            finished = False
        elif not finished:
            say(f"{label} running…")
        started = time.perf_counter()
        try:
            manifest = run_stage(number, run_dir, config, force=bool(changed), progress=True)
        except PipelineError as exc:
            say(f"{label} failed: {exc}")
            failed.append(f"stage-{number} ({name})")
            continue
        dropped = sum(manifest["dropped"].values())
        took = "already finished" if finished else f"{time.perf_counter() - started:.0f} s"
        say(f"{label} {manifest['rows_in']:>7,} in {manifest['rows_out']:>7,} out {dropped:>6,} dropped  ({took})")
    return failed


INPUTS = {2: (1,), 3: (2,), 4: (3,), 5: (4,), 8: (3, 4, 5, 6, 7)}  # stages each one reads (demo config)


def _newer_input(run_dir: str, number: int) -> int | None:
    """A stage this finished stage reads that finished after it started (e.g. stage 7, built
    since the last demo, before stage 8): this stage's output is stale."""
    mine = io.read_json(str(Path(run_dir, f"stage-{number}", "_manifest.json")))
    for upstream in INPUTS.get(number, ()):
        path = Path(run_dir, f"stage-{upstream}", "_manifest.json")
        if path.is_file() and io.read_json(str(path))["finished"] > mine["started"]:
            return upstream
    return None
