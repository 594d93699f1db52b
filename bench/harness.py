"""Benchmark harness: our code and the peers' on the same input, side by side.

Every side runs in its own fresh process (ours in .venv, each peer in bench/.venvs/<peer>/),
sides alternate within each repetition, and we keep medians. "Per core" throughput is
items / CPU seconds (user + system, all threads and child processes), so it does not depend on
how many cores a side happens to use; wall-clock throughput is reported beside it. The ratio is
ours per-core throughput / the peer's (>1 means we are faster per core).

A stage benchmark is a module `bench/bench_<stage>.py` with `run(quick: bool) -> list[Result]`;
`python -m bench [--quick] [--only STAGE]` finds, runs and tabulates them. Example:

    # bench/bench_dedup.py
    from pathlib import Path
    from bench.harness import Goal, call, compare, peer_job
    from bench.inputs import documents

    HERE = Path(__file__).parent

    def run(quick: bool):
        corpus = documents(10_000 if quick else 100_000)       # cached real-text parquet
        n = corpus.docs
        ours = call("dedup.minhash:bench_signatures", str(corpus.parquet))  # a function, our venv
        rensa = peer_job("rensa", HERE / "peer_scripts/rensa_sig.py", [str(corpus.jsonl)])
        return [compare("dedup.signatures", ours, {"rensa": rensa}, items=n, unit="docs",
                        input_desc=corpus.description, goals=[Goal(3.0, peer="rensa")])]

Inside any timed script or function (any venv: this module is standard library only) `timed`
restricts the measurement to the work itself (no imports, no model loading) and carries metrics:

    from bench.harness import timed
    with timed(items=len(docs)) as probe:
        ...work...
        probe.metrics["f1"] = 0.91

Without `timed`, the whole process is measured. Functions given to `call()` are timed around the
call (imports excluded); they may return an item count or a dict of metrics (with "items").
Peak RSS is always the whole process tree's peak. `scaling()` runs one job at 1x, 4x, 16x input;
a stage module that defines `scale(factor, quick) -> (job, items)` (and optionally SCALE_UNIT,
SCALE_INPUT) gets its scaling run from `python -m bench` as "<stage>.scaling":

    def scale(factor: int, quick: bool):
        corpus = documents((2_000 if quick else 10_000) * factor)
        return call("dedup.bench:whole_stage", str(corpus.parquet)), corpus.docs

Quick mode (`--quick`) should keep a stage's benchmarks to about a minute: small inputs, 1-2 reps.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.peers import BENCH_DIR, peer_python, peer_versions  # noqa: F401  (re-exported)

REPO = BENCH_DIR.parent
OURS_PYTHON = REPO / ".venv" / "bin" / "python"
RESULTS = BENCH_DIR / "results"
PROBE_ENV = "BENCH_PROBE_FILE"

# Set by `python -m bench` around each stage module's run(); recorded in every result.
# `reps` (from --reps) overrides every comparison's repetitions when set.
CONTEXT: dict[str, Any] = {"stage": None, "quick": False, "reps": None}


# ---------------------------------------------------------------- inside the measured process

@dataclass
class Probe:
    """One timed section: filled by `timed`, written for the harness to read."""

    items: int | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_rss_bytes: int = 0  # this process's VmHWM at the end of the section


_probes_written = 0


def _tree_cpu() -> float:
    """CPU seconds of this process, its reaped children and (with psutil) its live descendants."""
    t = os.times()
    total = time.process_time() + t.children_user + t.children_system
    try:
        import psutil
    except ImportError:
        return total
    for child in psutil.Process().children(recursive=True):
        try:
            c = child.cpu_times()
            total += c.user + c.system
        except psutil.Error:
            pass
    return total


def _vm_hwm(pid: int | str = "self") -> int:
    """Peak RSS in bytes of one process since its exec (VmHWM). Unlike ru_maxrss it does not
    inherit the RSS of the parent that forked it (here: the harness itself)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _write_probe(probe: Probe) -> None:
    global _probes_written
    _probes_written += 1
    line = json.dumps(asdict(probe), default=str)
    target = os.environ.get(PROBE_ENV)
    if target:
        with open(target, "a") as f:
            f.write(line + "\n")
    else:
        print(f"[bench probe] {line}", file=sys.stderr)


@contextmanager
def timed(items: int | None = None):
    """Measure only the enclosed work; several sections in one process are summed."""
    probe = Probe(items=items)
    wall, cpu = time.perf_counter(), _tree_cpu()
    try:
        yield probe
    finally:
        probe.seconds = time.perf_counter() - wall
        probe.cpu_seconds = _tree_cpu() - cpu
        probe.peak_rss_bytes = _vm_hwm()
        _write_probe(probe)


def _invoke(spec: str, args: list) -> None:
    """Entry used by `call()`: import `module:function`, time the call, record what it returns."""
    module, _, name = spec.partition(":")
    fn = importlib.import_module(module)
    for part in name.split("."):
        fn = getattr(fn, part)
    before = _probes_written
    wall, cpu = time.perf_counter(), _tree_cpu()
    out = fn(*args)
    probe = Probe(seconds=time.perf_counter() - wall, cpu_seconds=_tree_cpu() - cpu,
                  peak_rss_bytes=_vm_hwm())
    if _probes_written > before:  # the function timed its own work: keep that
        return
    if isinstance(out, dict):
        probe.items = out.pop("items", None)
        probe.metrics = out
    elif isinstance(out, int):
        probe.items = out
    _write_probe(probe)


# ---------------------------------------------------------------- running and measuring

@dataclass
class Measurement:
    """One run of one side. `timing` says whether wall/cpu are the timed section or the process."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    returncode: int
    timing: str  # "section" (from timed/call) or "process"
    process_wall_s: float
    process_cpu_s: float
    items: int | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    stdout_tail: str = ""
    stderr_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass
class Job:
    """A command for one side: `target` is a script Path or a string of Python code.
    Ours runs from the repo root; a peer from an empty folder (use absolute paths in args)."""

    python: Path | str
    target: Path | str
    args: Sequence[str] = ()
    env: dict[str, str] | None = None
    versions: dict[str, Any] | None = None  # filled automatically for ours and for peer venvs
    cwd: Path | str | None = None

    def argv(self) -> list[str]:
        head = [str(self.target)] if isinstance(self.target, Path) else ["-c", self.target]
        return [str(self.python), *head, *map(str, self.args)]

    def describe(self) -> str:
        if isinstance(self.target, Path):
            return " ".join(_short(a) for a in [self.python, self.target, *self.args])
        return f"{_short(self.python)} -c {self.target[:120]!r} {' '.join(map(_short, self.args))}"

    def run(self, timeout: float | None = None) -> Measurement:
        return run_python(self.python, self.target, self.args, self.env, timeout, self.cwd)


def _short(x) -> str:
    s = str(x)
    return s[len(str(REPO)) + 1:] if s.startswith(str(REPO) + "/") else s


def call(fn: Callable | str, *args) -> Job:
    """A Job running `fn(*args)` (a module-level function or "module:function") in our venv."""
    spec = fn if isinstance(fn, str) else f"{fn.__module__}:{fn.__qualname__}"
    code = f"from bench.harness import _invoke; _invoke({spec!r}, {list(args)!r})"
    return Job(OURS_PYTHON, code)


def stage_run(number: int, sets: Sequence[str]) -> Job:
    """A Job running pipeline stage `number` end to end through the runner (engine, commits,
    manifest) in a fresh run folder, with config overrides `sets`; items = the stage's rows_in."""
    return call("bench.harness:_run_stage", number, list(sets))


def _run_stage(number: int, sets: list[str]) -> dict:
    from pipeline.config import load_config
    from pipeline.runner import run_stage

    with tempfile.TemporaryDirectory(prefix="bench-run-") as run_dir:
        manifest = run_stage(number, run_dir, load_config(None, sets), progress=False)
    return {"items": manifest["rows_in"], "rows_out": manifest["rows_out"],
            "engine": manifest.get("engine")}


def peer_job(peer: str, target: Path | str, args: Sequence[str] = (),
             env: dict[str, str] | None = None) -> Job:
    """A Job in `peer`'s venv (built on first use). If the venv cannot be built here, the Job
    fails with that reason, so the comparison reports the peer as failed instead of crashing."""
    try:
        return Job(peer_python(peer), target, args, env)
    except Exception as exc:  # pip or venv failure: recorded on that side of the table
        reason = f"peer venv {peer} unavailable: {exc}"
        return Job(OURS_PYTHON, f"raise SystemExit({reason!r})", versions={"unavailable": reason})


def _is_ours(python: Path | str) -> bool:
    """Whether `python` is our venv's. Paths are compared unresolved: every venv's python is a
    symlink to the same base interpreter, so resolving would make each peer look like ours."""
    return Path(os.path.abspath(python)) == Path(os.path.abspath(OURS_PYTHON))


def _pythonpath_for(python: Path | str) -> str:
    """Ours sees the repo; a peer venv sees only the `bench` package (nothing of ours shadows it)."""
    if _is_ours(python):
        return str(REPO)
    shim = BENCH_DIR / ".cache" / "pypath"
    link = shim / "bench"
    if not link.exists():
        shim.mkdir(parents=True, exist_ok=True)
        try:
            link.symlink_to(BENCH_DIR)
        except FileExistsError:
            pass
    return str(shim)


def run_python(python: Path | str, target: Path | str, args: Sequence[str] = (),
               env: dict[str, str] | None = None, timeout: float | None = None,
               cwd: Path | str | None = None) -> Measurement:
    """Run `python target args` in a fresh process; measure wall, CPU and peak RSS of its tree.

    CPU comes from wait4() (the process and its reaped descendants). Peak memory is sampled
    every 50 ms: the tree's summed RSS (shared pages counted per process) and each process's
    VmHWM, plus the VmHWM a timed section reports at its end. ru_maxrss counts only when above
    the harness's own peak: a child inherits the forking parent's peak in it, so otherwise every
    side would look as big as the harness. A short process without a timed section may peak
    between samples: time the work with `timed` for exact peaks.
    """
    import psutil  # the harness runs in our venv, which has it

    job = Job(python, target, args)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        probe_file, out_file, err_file = (Path(tmp) / n for n in ("probe", "out", "err"))
        full_env = {**os.environ, "PYTHONPATH": _pythonpath_for(python), PROBE_ENV: str(probe_file),
                    "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
        own_hwm = _vm_hwm()  # what a child's ru_maxrss inherits from us (see below)
        with open(out_file, "w") as out, open(err_file, "w") as err:
            start = time.perf_counter()
            # A peer starts in an empty folder: `-c` code puts the cwd on sys.path, and the repo's
            # packages must not be importable from a peer's venv.
            cwd = cwd or (REPO if _is_ours(python) else tmp)
            proc = subprocess.Popen(job.argv(), env=full_env, stdout=out, stderr=err, cwd=cwd)
            peak, status, usage, timed_out = 0, None, None, False
            ps = psutil.Process(proc.pid)
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                peak = max(peak, _tree_peak(ps))
                if timeout and time.perf_counter() - start > timeout:
                    timed_out = True
                    _kill_tree(ps)
                time.sleep(0.05)
            wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        cpu = usage.ru_utime + usage.ru_stime
        probes = [json.loads(line) for line in _read(probe_file).splitlines() if line.strip()]
        peak = max([peak, *(p.get("peak_rss_bytes", 0) for p in probes)])
        if usage.ru_maxrss * 1024 > own_hwm * 1.05:  # above what it inherited: its own peak
            peak = max(peak, usage.ru_maxrss * 1024)
        peak_mb = peak / 2**20
        m = Measurement(wall, cpu, round(peak_mb, 1), proc.returncode, "process", wall, cpu,
                        stdout_tail=_read(out_file)[-2000:], stderr_tail=_read(err_file)[-3000:])
        if timed_out:
            m.stderr_tail += f"\n[bench] killed: timed out after {timeout:.0f}s"
        if probes:
            m.timing = "section"
            m.wall_s = sum(p["seconds"] for p in probes)
            m.cpu_s = sum(p["cpu_seconds"] for p in probes)
            counted = [p["items"] for p in probes if p["items"] is not None]
            m.items = sum(counted) if counted else None
            for p in probes:
                m.metrics.update(p["metrics"])
        return m


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _tree_peak(ps) -> int:
    """Peak memory of a process tree so far: the larger of the summed current RSS of all its
    processes and the highest single-process VmHWM (which also catches peaks between samples)."""
    import psutil

    total, hwm = 0, 0
    try:
        procs = [ps, *ps.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
        hwm = max(hwm, _vm_hwm(p.pid))
    return max(total, hwm)


def _kill_tree(ps) -> None:
    import psutil

    try:
        procs = [*ps.children(recursive=True), ps]
    except psutil.Error:
        return
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass


# ---------------------------------------------------------------- comparisons

@dataclass
class Goal:
    """A goal for ours. Speed: ratio >= target vs `peer`, or per-core items/s >= target.
    With `metric`: ours' metric >= target (x the peer's metric when `peer` is set);
    `higher_is_better=False` flips the comparison (e.g. bytes per URL <= target)."""

    target: float
    peer: str | None = None
    metric: str | None = None
    higher_is_better: bool = True

    def describe(self, unit: str) -> str:
        op = ">=" if self.higher_is_better else "<="
        if self.metric and self.peer:
            return f"{self.metric} {op} {self.target:g}x {self.peer}"
        if self.metric:
            return f"{self.metric} {op} {self.target:g}"
        if self.peer:
            return f">= {self.target:g}x {self.peer} per core"
        return f">= {self.target:,.0f} {unit}/s per core"


@dataclass
class Side:
    """Medians of one side over the repetitions."""

    command: str
    runs: list[dict]
    versions: dict[str, Any]
    ok: bool
    error: str = ""
    items: int | None = None
    median_wall_s: float | None = None
    median_cpu_s: float | None = None
    per_core: float | None = None  # items per CPU second
    per_wall_s: float | None = None  # items per wall second
    cores_used: float | None = None
    peak_rss_mb: float | None = None
    rss_kb_per_item: float | None = None
    timing: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class Result:
    name: str
    unit: str
    input_desc: str
    reps: int
    sides: dict[str, Side]  # "ours" first, then peers (or "1x", "4x", "16x" for scaling)
    ratios: dict[str, float | None]  # peer -> ours per-core / peer per-core
    goals: list[dict]
    below_goal: bool | None
    stage: str | None
    quick: bool
    command: str
    date: str
    machine: dict[str, Any]
    notes: str = ""
    scaling: list[dict] | None = None

    def to_json(self) -> dict:
        return asdict(self)

    def save(self) -> Path:
        folder = RESULTS / "quick" if self.quick else RESULTS
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.name}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2, default=str) + "\n")
        tmp.replace(path)
        return path


def default_timeout() -> float:
    """Per-run limit so one hanging side cannot stall `make bench`: 15 min quick, 1 h full."""
    return 900.0 if CONTEXT["quick"] else 3600.0


def _as_job(side: Job | Callable | str) -> Job:
    return side if isinstance(side, Job) else call(side)


def _versions_for(job: Job) -> dict[str, Any]:
    if job.versions is not None:
        return job.versions
    if _is_ours(job.python):
        return {"ours": git_commit(), **_our_packages()}
    venv = Path(os.path.abspath(job.python)).parent.parent
    if venv.parent == BENCH_DIR / ".venvs":
        return peer_versions(venv.name)
    return {"python": str(job.python)}


def _summarise(job: Job, runs: list[Measurement], default_items: int | None) -> Side:
    side = Side(command=job.describe(), runs=[asdict(r) for r in runs],
                versions=_versions_for(job), ok=all(r.ok for r in runs) and bool(runs))
    for r in side.runs:  # keep result files small
        r["stdout_tail"] = r["stdout_tail"][-300:]
        r["stderr_tail"] = r["stderr_tail"][-300:] if r["returncode"] == 0 else r["stderr_tail"]
    if not side.ok:
        bad = next((r for r in runs if not r.ok), None)
        side.error = (bad.stderr_tail.strip().splitlines() or ["no output"])[-1] if bad else "no run"
        return side
    side.timing = runs[0].timing
    side.median_wall_s = statistics.median(r.wall_s for r in runs)
    side.median_cpu_s = statistics.median(r.cpu_s for r in runs)
    side.items = runs[0].items if runs[0].items is not None else default_items
    side.peak_rss_mb = max(r.peak_rss_mb for r in runs)
    side.cores_used = round(side.median_cpu_s / side.median_wall_s, 2) if side.median_wall_s else None
    if side.items:
        side.per_core = side.items / side.median_cpu_s if side.median_cpu_s else None
        side.per_wall_s = side.items / side.median_wall_s if side.median_wall_s else None
        side.rss_kb_per_item = side.peak_rss_mb * 1024 / side.items
    for key in runs[0].metrics:
        values = [r.metrics.get(key) for r in runs]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            side.metrics[key] = statistics.median(values)
        else:
            side.metrics[key] = values[-1]
    return side


def _check(goal: Goal, sides: dict[str, Side], ratios: dict, unit: str) -> dict:
    ours = sides["ours"]
    value = None
    if goal.metric is None and goal.peer:
        value, reference = ratios.get(goal.peer), goal.target
    elif goal.metric is None:
        value, reference = ours.per_core, goal.target
    else:
        value = ours.metrics.get(goal.metric)
        reference = goal.target
        if goal.peer:
            peer_value = sides.get(goal.peer, Side("", [], {}, False)).metrics.get(goal.metric)
            reference = goal.target * peer_value if isinstance(peer_value, int | float) else None
    met = None
    if isinstance(value, int | float) and isinstance(reference, int | float):
        met = value >= reference if goal.higher_is_better else value <= reference
    return {"goal": goal.describe(unit), "metric": goal.metric, "value": value,
            "reference": reference, "met": met}


def compare(name: str, ours: Job | Callable | str, peers: dict[str, Job | Callable | str], *,
            items: int | None = None, unit: str = "docs", input_desc: str = "", reps: int = 3,
            warmup: int = 0, goals: Goal | list[Goal] | None = None, notes: str = "",
            timeout: float | None = None, save: bool = True, log=sys.stderr) -> Result:
    """Run ours and each peer `reps` times, alternating (the order rotates every repetition).

    `items` is the number of units in the input (a side's timed section may report its own).
    Returns a Result (also written to bench/results/<name>.json) with medians, per-core and
    wall throughput, ratios ours/peer per core, peak RSS, goal checks, versions and machine.
    """
    reps = CONTEXT["reps"] or reps
    timeout = timeout or default_timeout()
    jobs = {"ours": _as_job(ours), **{k: _as_job(v) for k, v in peers.items()}}
    order = list(jobs)
    runs: dict[str, list[Measurement]] = {k: [] for k in jobs}
    failed: set[str] = set()
    for rep in range(-warmup, reps):
        shift = rep % len(order)
        for key in order[shift:] + order[:shift]:
            if key in failed:
                continue
            m = jobs[key].run(timeout)
            print(f"[bench] {name} {key} rep {rep}: wall {m.wall_s:.2f}s cpu {m.cpu_s:.2f}s "
                  f"rss {m.peak_rss_mb:.0f}MB rc {m.returncode}", file=log, flush=True)
            if not m.ok:
                failed.add(key)
                runs[key] = [m]
                print(f"[bench]   {key} failed: {m.stderr_tail.strip()[-800:]}", file=log)
            elif rep >= 0:
                runs[key].append(m)
    sides = {k: _summarise(jobs[k], runs[k], items) for k in jobs}
    for key, side in sides.items():
        if side.ok and not side.items:
            print(f"[bench] {name} {key}: no item count (pass items= or set probe.items)", file=log)
    ours_pc = sides["ours"].per_core
    ratios = {k: (ours_pc / s.per_core if ours_pc and s.per_core else None)
              for k, s in sides.items() if k != "ours"}
    result = _result(name, unit, input_desc, reps, sides, ratios, goals, notes)
    if save:
        result.save()
    return result


def _result(name, unit, input_desc, reps, sides, ratios, goals, notes, scaling=None) -> Result:
    goals = [goals] if isinstance(goals, Goal) else list(goals or [])
    checks = [_check(g, sides, ratios, unit) for g in goals] if "ours" in sides else []
    verdicts = [c["met"] for c in checks]
    below = (True if False in verdicts else None if None in verdicts else False) if checks else None
    stage, quick = CONTEXT["stage"], bool(CONTEXT["quick"])
    command = "make bench" + (" QUICK=1" if quick else "")
    if stage:
        flags = ("--quick " if quick else "") + (f"--reps {reps} " if CONTEXT["reps"] else "")
        command = f".venv/bin/python -m bench {flags}--only {stage}"
    return Result(name=name, unit=unit, input_desc=input_desc, reps=reps, sides=sides,
                  ratios={k: (round(v, 3) if v else v) for k, v in ratios.items()}, goals=checks,
                  below_goal=below, stage=stage, quick=quick, command=command,
                  date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), machine=machine_info(),
                  notes=notes, scaling=scaling)


def scaling(name: str, job_for: Callable[[int], tuple[Job | Callable | str, int]],
            factors: Sequence[int] = (1, 4, 16), *, unit: str = "docs", input_desc: str = "",
            reps: int = 1, notes: str = "", timeout: float | None = None, save: bool = True,
            log=sys.stderr) -> Result:
    """Run the same job at growing input sizes: `job_for(factor) -> (job, items)`.

    Per factor: CPU seconds, peak RSS, and the *marginal* costs from the previous factor — CPU
    ms and peak-RSS KB per extra item — so a fixed start-up (a JVM, a model load) does not hide
    how cost grows. `growth` = marginal CPU per item / the first marginal (1.0 = linear cost;
    1.3 = each item 30% costlier at that size); it needs three factors or more.
    """
    reps = CONTEXT["reps"] or reps
    timeout = timeout or default_timeout()
    sides: dict[str, Side] = {}
    for f in factors:
        job, items = job_for(f)
        job = _as_job(job)
        runs = []
        for rep in range(reps):
            m = job.run(timeout)
            print(f"[bench] {name} {f}x rep {rep}: wall {m.wall_s:.2f}s cpu {m.cpu_s:.2f}s "
                  f"rss {m.peak_rss_mb:.0f}MB rc {m.returncode}", file=log, flush=True)
            runs.append(m)
            if not m.ok:
                break
        sides[f"{f}x"] = _summarise(job, runs, items)
    points, previous, first_marginal = [], None, None
    for f in factors:
        s = sides[f"{f}x"]
        point = {"factor": f, "items": s.items, "cpu_s": s.median_cpu_s, "wall_s": s.median_wall_s,
                 "peak_rss_mb": s.peak_rss_mb, "rss_kb_per_item": s.rss_kb_per_item,
                 "marginal_cpu_ms_per_item": None, "marginal_rss_kb_per_item": None,
                 "growth": None}
        if s.ok and s.items and previous and previous.ok and previous.items and \
                s.items > previous.items:
            extra = s.items - previous.items
            marginal = (s.median_cpu_s - previous.median_cpu_s) / extra
            point["marginal_cpu_ms_per_item"] = round(marginal * 1000, 4)
            point["marginal_rss_kb_per_item"] = round(
                (s.peak_rss_mb - previous.peak_rss_mb) * 1024 / extra, 2)
            if first_marginal is None:
                first_marginal = marginal
            elif first_marginal > 0:
                point["growth"] = round(marginal / first_marginal, 3)
        points.append(point)
        previous = s
    result = _result(name, unit, input_desc, reps, sides, {}, None, notes, scaling=points)
    if save:
        result.save()
    return result


# ---------------------------------------------------------------- machine and versions

def git_commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                             capture_output=True, text=True).stdout.strip()
        return sha or "unknown"
    except OSError:
        return "unknown"


OUR_PACKAGES = ("pyarrow", "pyspark", "numpy", "trafilatura", "selectolax", "tiktoken", "tokenizers",
                "rensa", "fasttext-numpy2", "sentence-transformers", "torch")


def _our_packages() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in OUR_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


_MACHINE: dict[str, Any] = {}


def machine_info() -> dict[str, Any]:
    if not _MACHINE:
        model = ""
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
            mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        except OSError:
            mem_kb = 0
        _MACHINE.update(cpu=model, cores=os.cpu_count(), mem_gib=round(mem_kb / 2**20, 1),
                        python=platform.python_version(), os=platform.platform(),
                        commit=git_commit())
    return _MACHINE
