"""The one partition runner: score → decide → write kept rows and sampled rejects → commit → manifest.

Resumability: each partition commits by writing its part file, its rejects sample, and last its
marker `_parts/part-XXXXX.json` (all atomic renames). A re-run skips partitions with a marker and
rewrites the others from scratch, so a run killed at any point ends with the same rows as an
uninterrupted one. `_manifest.json` is written after every partition has committed.
"""

from __future__ import annotations

import functools
import threading
import time
import traceback
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from pipeline import io
from pipeline.config import config_sha256, dump_config
from pipeline.engines import make_engine
from pipeline.errors import PipelineError
from pipeline.log import log
from pipeline.profile import merge as merge_profiles
from pipeline.profile import partition_profile
from pipeline.registry import stage_class
from pipeline.stage import Kind, Partition, Stage, StageContext, pop_counters
from pipeline.tables import conform, part_name


def _marker(stage_dir: str, index: int) -> str:
    return io.join(stage_dir, "_parts", part_name(index, ".json"))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def run_partition(stage: Stage, stage_dir: str, rejects_per_reason: int, part: Partition) -> dict:
    """Run one partition end to end; returns its stats, or {"error": one line} (never raises)."""
    where = f"stage-{stage.number} ({stage.name}) partition {part.index}"
    try:
        table, counters = pop_counters(stage.score(part))
        reasons = stage.decide(table)
        if len(reasons) != table.num_rows:
            raise PipelineError(f"{where}: decide() returned {len(reasons)} reasons for {table.num_rows} rows")
        keep = pc.is_null(reasons)
        kept = table.filter(keep)
        written = conform(stage.assemble(kept, part), stage.schema, where)
        sha = io.write_parquet_atomic(io.join(stage_dir, part_name(part.index)), written)
        dropped_counts = _write_rejects(stage, stage_dir, part.index, table, reasons, keep, rejects_per_reason)
        profile = partition_profile(table, reasons, keep, f"{stage.name}:", stage.profile_columns,
                                    stage.sample_columns)
        stats = {
            "index": part.index,
            "path": part_name(part.index),
            "rows_in": table.num_rows,
            "rows_out": kept.num_rows,
            "rows_written": written.num_rows,
            "dropped": dropped_counts,
            "sha256": sha,
            "counters": counters,
            "profile": profile,
        }
        io.write_json_atomic(_marker(stage_dir, part.index), stats)
        return stats
    except PipelineError as exc:
        return {"index": part.index, "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - reported with its traceback, never swallowed
        trace = traceback.format_exc()
        io.write_bytes_atomic(io.join(stage_dir, "_errors", part_name(part.index, ".txt")), trace.encode())
        first = str(exc).splitlines()[0] if str(exc) else ""
        return {"index": part.index, "error": f"{where}: {type(exc).__name__}: {first}"}


def _write_rejects(
    stage: Stage, stage_dir: str, index: int, table: pa.Table, reasons: pa.Array, keep, per_reason: int
) -> dict[str, int]:
    dropped_mask = pc.invert(keep)
    dropped_reasons = pc.filter(reasons, dropped_mask)
    if len(dropped_reasons) == 0:
        return {}
    qualified = pc.binary_join_element_wise(f"{stage.name}:", dropped_reasons.cast(pa.string()), "")
    counts = {
        row["values"]: row["counts"] for row in pc.value_counts(qualified).to_pylist()
    }
    dropped = table.filter(dropped_mask)
    if "reason" in dropped.column_names:
        dropped = dropped.drop_columns(["reason"])
    dropped = dropped.append_column("reason", qualified)
    picks: list[int] = []
    seen: dict[str, int] = {}
    for i, reason in enumerate(qualified.to_pylist()):
        if seen.get(reason, 0) < per_reason:
            seen[reason] = seen.get(reason, 0) + 1
            picks.append(i)
    io.write_parquet_atomic(io.join(stage_dir, "_rejects", part_name(index)), dropped.take(picks))
    return dict(sorted(counts.items()))


def run_stage(
    stage: int | type[Stage],
    run_dir: str,
    config: dict,
    force: bool = False,
    progress: bool | None = None,
) -> dict:
    """Run (or resume) one stage for a run folder and return its manifest."""
    cls = stage_class(stage) if isinstance(stage, int) else stage
    ctx = StageContext(config=config, run_dir=str(run_dir))
    stage_dir = ctx.stage_dir(cls.number)
    sha = config_sha256(config, cls.sections())
    manifest_path = io.join(stage_dir, "_manifest.json")
    state_path = io.join(stage_dir, "_state.json")

    if force:
        io.remove(stage_dir, recursive=True)
    for existing in (manifest_path, state_path):
        if io.exists(existing):
            previous = io.read_json(existing)
            if previous.get("schema_version", cls.schema_version) != cls.schema_version:
                raise PipelineError(
                    f"stage-{cls.number} in {run_dir} was written with schema version "
                    f"{previous['schema_version']!r}, this code writes {cls.schema_version!r}; "
                    "pass --force to recompute it"
                )
            if previous.get("config_sha256") != sha:
                raise PipelineError(
                    f"stage-{cls.number} in {run_dir} was started with a different config "
                    f"(sections {', '.join(cls.sections())}); pass --force to recompute it"
                )
    if io.exists(manifest_path):
        log("stage.already_complete", stage=cls.number, run=str(run_dir))
        return io.read_json(manifest_path)

    io.makedirs(stage_dir)
    _remove_partial_writes(stage_dir)
    state = io.read_json(state_path) if io.exists(state_path) else None
    if state is None:
        state = {"config_sha256": sha, "schema_version": cls.schema_version, "started": _now()}
        io.write_json_atomic(state_path, state)
    io.write_bytes_atomic(io.join(str(run_dir), "config.yaml"), dump_config(config).encode())

    instance = cls(ctx)
    engine = make_engine(config)
    try:
        log("stage.start", stage=cls.number, name=cls.name, engine=engine.name, run=str(run_dir))
        _global_step(instance, stage_dir, "prepare", lambda: instance.prepare(engine))
        partitions = instance.partitions()
        indices = [p.index for p in partitions]
        if len(set(indices)) != len(indices):
            raise PipelineError(f"stage-{cls.number}: partitions() returned duplicate indices")
        todo = [p for p in partitions if not io.exists(_marker(stage_dir, p.index))]
        log("stage.partitions", stage=cls.number, total=len(partitions), todo=len(todo))
        work = functools.partial(run_partition, instance, stage_dir, int(config["run"]["rejects_per_reason"]))
        show = config["run"]["progress"] if progress is None else progress
        with _Progress(stage_dir, len(partitions), len(partitions) - len(todo), cls.name, show):
            if cls.kind is Kind.DRIVER:
                results = [work(p) for p in todo]
            else:
                results = engine.map(work, todo)
        errors = [r["error"] for r in results if "error" in r]
        if errors:
            raise PipelineError(errors[0] + (f" (and {len(errors) - 1} more partitions)" if len(errors) > 1 else ""))
        stats = [io.read_json(_marker(stage_dir, i)) for i in sorted(indices)]
        extra = _global_step(instance, stage_dir, "finish", lambda: instance.finish(engine)) or {}
    finally:
        engine.close()

    dropped: dict[str, int] = {}
    counters: dict[str, dict[str, int]] = {}
    for s in stats:
        for reason, count in s["dropped"].items():
            dropped[reason] = dropped.get(reason, 0) + count
        for name, counts in s.get("counters", {}).items():
            total = counters.setdefault(name, {})
            for key, count in counts.items():
                total[key] = total.get(key, 0) + count
    manifest = {
        "stage": cls.number,
        "name": cls.name,
        "schema_version": cls.schema_version,
        "config_sha256": sha,
        "engine": config["engine"],
        "rows_in": sum(s["rows_in"] for s in stats),
        "rows_out": sum(s["rows_out"] for s in stats),
        "dropped": dict(sorted(dropped.items())),
        "rows_written": sum(s.get("rows_written", s["rows_out"]) for s in stats),
        "files": [{"path": s["path"], "rows": s.get("rows_written", s["rows_out"]), "sha256": s["sha256"]}
                  for s in stats],
        **{name: dict(sorted(counts.items())) for name, counts in sorted(counters.items())},
        "profile": merge_profiles([s["profile"] for s in stats if "profile" in s]),
        "environment": _environment(),
        "started": state["started"],
        "finished": _now(),
        **extra,
    }
    io.write_json_atomic(manifest_path, manifest)
    log("stage.done", stage=cls.number, rows_in=manifest["rows_in"], rows_out=manifest["rows_out"])
    return manifest


def _environment() -> dict:
    """Where the stage ran (for the report's run metadata): machine, python, key package versions."""
    import os
    import platform
    from importlib import metadata

    versions = {}
    for package in ("pyarrow", "pyspark", "ray", "numpy", "torch"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else 0
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "memory_gib": round(memory / 2**30, 1), "versions": versions}


def _global_step(stage: Stage, stage_dir: str, name: str, step):
    """Run prepare() or finish(): a PipelineError passes as is; anything else (a bug, or a library
    error nobody turned into a reason) becomes one line, its traceback kept in _errors/NAME.txt."""
    try:
        return step()
    except PipelineError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported with its traceback, never swallowed
        where = io.join(stage_dir, "_errors", f"{name}.txt")
        io.write_bytes_atomic(where, traceback.format_exc().encode())
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise PipelineError(f"stage-{stage.number} ({stage.name}) {name}: {type(exc).__name__}: {first} "
                            f"(traceback in {where})") from None


def _remove_partial_writes(stage_dir: str) -> None:
    """Temporary files of writes a killed run never renamed, anywhere in the stage folder (parts,
    markers, rejects, a stage's own work folders): garbage, never read."""
    for path in io.find(stage_dir):
        if path.rsplit("/", 1)[-1].startswith(".tmp-"):
            io.remove(path)


class _Progress:
    """A progress bar fed by the commit markers, so it works whatever engine runs the partitions."""

    def __init__(self, stage_dir: str, total: int, done: int, name: str, enabled: bool):
        self.stage_dir, self.total, self.done, self.name = stage_dir, total, done, name
        self.enabled = enabled and total > 1
        self._stop = threading.Event()

    def __enter__(self):
        if self.enabled:
            import sys

            from tqdm import tqdm

            self.enabled = sys.stderr.isatty()
            if self.enabled:
                self.bar = tqdm(total=self.total, initial=self.done, desc=self.name, unit="part")
                self.thread = threading.Thread(target=self._poll, daemon=True)
                self.thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.wait(0.5):
            committed = len([n for n in io.listdir(io.join(self.stage_dir, "_parts")) if n.endswith(".json")])
            self.bar.update(max(0, committed - self.bar.n))

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self._stop.set()
            self.thread.join()
            self.bar.close()
        time.sleep(0)
