"""Kill a stage at seeded random points and check the resumed result.

`Forks` talks to the fork server (zygote.py). `kill_chains` runs a stage again and again in one run
folder, SIGKILLing the whole process tree each time at a seeded point, until a run completes; then
it checks the run folder against an uninterrupted reference (`check_resumed`). Two kinds of kill:

- at a commit point: the Nth atomic write (temporary file written, or renamed into place), WARC
  record or frontier transaction, counted by pipeline/faults.py across the driver and workers;
- timed: after a seeded delay within the reference run's duration, wherever the run then is
  (inside Spark, in a model, between writes).
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.faults import kill_tree

ROOT = Path(__file__).resolve().parents[2]


class Forks:
    """Client of the fork server: start a run, wait for it, kill its tree."""

    def __init__(self, modules: list[str]):
        # a local Ray started by a run (stage 5's embedding pool) keeps its sockets and logs here,
        # so a test can tell that run's Ray processes from any other Ray on the machine
        self.ray_dir = tempfile.mkdtemp(prefix="chaos-ray-", dir="/tmp")
        env = dict(os.environ, PYTHONPATH=str(ROOT), PIPELINE_LOG="quiet", RAY_TMPDIR=self.ray_dir)
        env.pop("PIPELINE_FAULTS", None)
        self.cpu, self.runs = 0.0, 0  # CPU seconds of the finished runs' own processes (not their JVMs)
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.reliability.zygote", *modules],
                                     cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)

    def _ask(self, request: dict) -> dict:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the fork server died")
        return json.loads(line)

    def start(self, stage: int, run_dir: Path, sets: list[str], log: Path, faults: Path | None = None,
              engine: str = "inline") -> int:
        return self._ask({"op": "run", "stage": stage, "run_dir": str(run_dir), "sets": sets,
                          "faults": str(faults) if faults else None, "engine": engine,
                          "log": str(log)})["pid"]

    def wait(self, pid: int, timeout: float) -> int | None:
        answer = self._ask({"op": "wait", "pid": pid, "timeout": timeout})
        if answer["status"] is not None:
            self.cpu += answer["cpu"] or 0.0
            self.runs += 1
        return answer["status"]

    def kill(self, pid: int) -> int:
        kill_tree(pid)
        status = self.wait(pid, 60)
        assert status is not None, f"run {pid} survived SIGKILL"
        return status

    def run(self, stage: int, run_dir: Path, sets: list[str], log: Path, engine: str = "inline",
            faults: Path | None = None, timeout: float = 900) -> int:
        pid = self.start(stage, run_dir, sets, log, faults, engine)
        status = self.wait(pid, timeout)
        if status is None:
            self.kill(pid)
            raise AssertionError(f"stage {stage} did not finish in {timeout} s; log {log}")
        return status

    def ray_processes(self) -> list[str]:
        """Live processes of a Ray the runs started (none should outlive its run, killed or not):
        every process but this server that inherited its RAY_TMPDIR (Ray's workers rename
        themselves, their environment stays)."""
        import psutil

        found = []
        for proc in psutil.process_iter(["pid", "cmdline"]):
            try:
                mine = proc.pid != self.proc.pid and proc.environ().get("RAY_TMPDIR") == self.ray_dir
            except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
                continue
            if mine:
                found.append(f"{proc.pid} {' '.join(proc.info['cmdline'] or [])[:120]}")
        return found

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(30)
        shutil.rmtree(self.ray_dir, ignore_errors=True)


def read_points(faults: Path) -> list[str]:
    log = faults / "points.log"
    if not log.exists():
        return []
    return [line.split("\t", 2)[2] for line in log.read_text().splitlines() if line.count("\t") >= 2]


def point_kind(label: str) -> str:
    """Where a commit point is, for the figures: manifest, partition commit, global step, …"""
    verb, _, path = label.partition(" ")
    name = path.rsplit("/", 1)[-1]
    if name == "_manifest.json":
        where = "manifest"
    elif "/_parts/" in path:
        where = "partition commit"
    elif "/_rejects/" in path:
        where = "rejects sample"
    elif name.startswith("part-") and path.rsplit("/", 2)[-2].startswith("stage-"):
        where = "shard write"
    elif verb == "half-written":
        where = "WARC record, half written"
    elif verb == "appended":
        where = "WARC record"
    elif label == "committed frontier":
        where = "frontier commit"
    elif name in ("_state.json", "config.yaml"):
        where = "run start"
    elif "/embeddings/" in path:
        where = "global step (k-means)" if "/kmeans-" in path else "global step (embeddings)"
    elif "/stage-5/knowledge/" in path:
        where = "map (knowledge subset)"
    elif "/decisions/" in path or name == "_stats.json":
        where = "global step (selection)" if "stage-5/" in path else "global step"
    else:
        where = "global step"
    return where


@dataclass
class Chaos:
    """What the kill chains of one stage did: the figures RELIABILITY.md lists."""

    stage: int
    kills: int = 0
    completed_chains: int = 0
    where: Counter = field(default_factory=Counter)
    engines: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {"stage": self.stage, "kills": self.kills, "chains": self.completed_chains,
                "where": dict(sorted(self.where.items())), "engines": dict(sorted(self.engines.items()))}


def reference_points(forks: Forks, stage: int, run_dir: Path, sets: list[str], work: Path,
                     engine: str = "inline") -> tuple[list[str], float]:
    """Run uninterrupted, counting commit points (none kills). Returns the points, with the run
    folder's path left out of their labels, and the run's duration."""
    faults = work / "reference-faults"
    faults.mkdir(parents=True)
    started = time.monotonic()
    status = forks.run(stage, run_dir, sets, work / "reference.log", engine, faults)
    assert status == 0, (work / "reference.log").read_text()[-3000:]
    return [p.replace(f"{run_dir}/", "") for p in read_points(faults)], time.monotonic() - started


def remaining(points: list[str], run_dir: Path) -> int:
    """About how many commit points a run in `run_dir` has left: those of files not there yet,
    and the run folder's config.yaml (every run writes it again)."""
    done = sum(1 for p in points if p.startswith("renamed ") and not p.endswith("/config.yaml")
               and (run_dir / p.split(" ", 1)[1]).exists())
    return max(1, len(points) - 2 * done)


def kill_chains(forks: Forks, stage: int, sets: list[str], work: Path, reference: Path, seed: int,
                kills: int, points: list[str], duration: float, real_kills: int = 0,
                timed_share: float = 0.25, check=None, on_kill=None, targets: tuple[str, ...] = ()) -> Chaos:
    """Kill runs of `stage` `kills` times in all, resuming each run folder until it completes and
    checking every completed folder against `reference` (with `check`, default check_resumed).
    The first chains use the configured engine (Spark local: its JVM and python workers are in the
    killed tree) until `real_kills` kills are done, the others the in-process map (zygote.py). A
    chain ends when a run completes (its kill point lay beyond the run's end, or the timed kill
    came too late). `on_kill(run_dir)` runs after each kill (stage 1 notes what its WARCs hold).
    `targets` make sure given steps are hit: each starts a chain killed at the first reference
    point whose label starts with it (a fresh run folder numbers its points as the reference did)."""
    check = check or check_resumed
    rng = random.Random(seed)
    chaos = Chaos(stage)
    chain = 0
    aimed = []
    for target in targets:
        hits = [i for i, p in enumerate(points, 1) if p.startswith(target)]
        assert hits, f"no commit point {target!r} in the reference run of stage {stage}"
        aimed.append(hits[0])
    while chaos.kills < kills:
        chain += 1
        run_dir = work / f"chain-{chain}"
        attempt = 0
        while True:
            attempt += 1
            engine = "real" if chaos.engines["real"] < real_kills else "inline"
            faults = work / f"chain-{chain}-faults-{attempt}"
            faults.mkdir(parents=True)
            log = work / f"chain-{chain}-{attempt}.log"
            out_of_kills = chaos.kills >= kills
            timed = not out_of_kills and rng.random() < timed_share
            if attempt == 1 and aimed and not out_of_kills:
                timed = False
                (faults / "kill_at").write_text(str(aimed.pop(0)))
            elif not out_of_kills and not timed:
                (faults / "kill_at").write_text(str(rng.randint(1, remaining(points, run_dir))))
            pid = forks.start(stage, run_dir, sets, log, faults, engine)
            if timed:
                status = forks.wait(pid, rng.uniform(0.05, duration))
                if status is None:
                    status = forks.kill(pid)
            else:
                status = forks.wait(pid, 900)
                assert status is not None, f"stage {stage} hung; log {log}"
            reached = read_points(faults)
            if status == 0:
                break
            assert status == -9, f"stage {stage} failed (status {status}) after a kill:\n" + log.read_text()[-3000:]
            chaos.kills += 1
            chaos.engines[engine] += 1
            if on_kill is not None:
                on_kill(run_dir)
            last = point_kind(reached[-1]) if reached else "run start"
            chaos.where[f"timed, after {last}" if timed else last] += 1
        check(run_dir, reference, stage)
        chaos.completed_chains += 1
    return chaos


# ---- checks -------------------------------------------------------------------------------------
def stage_rows(stage_dir: Path, files: list[dict]) -> pa.Table:
    tables = [pq.read_table(stage_dir / f["path"]) for f in files]
    return pa.concat_tables(tables) if tables else pa.table({})


def comparable(manifest: dict) -> dict:
    return {k: v for k, v in manifest.items() if k not in ("started", "finished")}


def check_consistent(stage_dir: Path, manifest: dict) -> None:
    """The manifest agrees with the folder: every file it lists exists with its sha256 and row
    count, no part outside it, every row counted once, no temporary file left."""
    import hashlib

    listed = {f["path"] for f in manifest["files"]}
    on_disk = {p.name for p in stage_dir.glob("part-*.parquet")}
    assert on_disk == listed, f"parts on disk {sorted(on_disk - listed)} / missing {sorted(listed - on_disk)}"
    for f in manifest["files"]:
        data = (stage_dir / f["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"], f"{f['path']} is not the file the manifest lists"
        assert pq.read_metadata(stage_dir / f["path"]).num_rows == f["rows"]
    assert manifest["rows_written"] == sum(f["rows"] for f in manifest["files"])
    assert manifest["rows_in"] == manifest["rows_out"] + sum(manifest["dropped"].values())
    markers = sorted((stage_dir / "_parts").glob("*.json"))
    assert len(markers) == len(manifest["files"])
    leftovers = [p for p in stage_dir.rglob(".tmp-*")]
    assert not leftovers, f"temporary files left: {leftovers[:3]}"


def check_resumed(run_dir: Path, reference: Path, stage: int) -> None:
    """Identical to the uninterrupted run: byte-identical parts, the same manifest (times aside),
    the same rejects; ids unique (none duplicated) and all there (none lost)."""
    stage_dir, ref_dir = run_dir / f"stage-{stage}", reference / f"stage-{stage}"
    manifest = json.loads((stage_dir / "_manifest.json").read_text())
    expected = json.loads((ref_dir / "_manifest.json").read_text())
    check_consistent(stage_dir, manifest)
    assert comparable(manifest) == comparable(expected)
    rows = stage_rows(stage_dir, manifest["files"])
    assert rows.equals(stage_rows(ref_dir, expected["files"]))
    rejects = sorted(p.name for p in (stage_dir / "_rejects").glob("*.parquet"))
    assert rejects == sorted(p.name for p in (ref_dir / "_rejects").glob("*.parquet"))
    for name in rejects:
        assert pq.read_table(stage_dir / "_rejects" / name).equals(pq.read_table(ref_dir / "_rejects" / name))


# Stage 5's manifest says what this run did, beside what it decided: how many partitions it
# embedded (0 when an earlier, killed run embedded them), whether it reused a saved k-means tree,
# the CPU the embedding took, where the tree lives (in the run folder). Those differ between a
# resumed and an uninterrupted run by design; every decision figure must not.
RUN_WORK = {("rebalance",): ("partitions_embedded", "passages_embedded", "embed_cpu_seconds"),
            ("rebalance", "kmeans"): ("reused", "centroids")}


def _without_run_work(manifest: dict) -> dict:
    out = json.loads(json.dumps(comparable(manifest)))
    for keys, names in RUN_WORK.items():
        section = out
        for key in keys:
            section = section.get(key, {})
        for name in names:
            section.pop(name, None)
    return out


def check_rebalanced(run_dir: Path, reference: Path, stage: int = 5) -> None:
    """Stage 5 resumed: check_resumed's promises (the run-work figures aside), plus the same
    decisions and knowledge subset, the same embeddings and k-means tree, and no temporary file
    left in the embeddings folder (it lives beside the stage folder, outside DIR/stage-5/)."""
    stage_dir, ref_dir = run_dir / "stage-5", reference / "stage-5"
    manifest = json.loads((stage_dir / "_manifest.json").read_text())
    expected = json.loads((ref_dir / "_manifest.json").read_text())
    check_consistent(stage_dir, manifest)
    assert _without_run_work(manifest) == _without_run_work(expected)
    assert stage_rows(stage_dir, manifest["files"]).equals(stage_rows(ref_dir, expected["files"]))
    for folder in ("decisions", "knowledge", "_rejects"):
        names = sorted(p.name for p in (stage_dir / folder).glob("*.parquet"))
        assert names == sorted(p.name for p in (ref_dir / folder).glob("*.parquet")), folder
        for name in names:
            assert pq.read_table(stage_dir / folder / name).equals(pq.read_table(ref_dir / folder / name)), name
    mine = {p.relative_to(run_dir): p.read_bytes() for p in sorted((run_dir / "embeddings").rglob("*")) if p.is_file()}
    theirs = {p.relative_to(reference): p.read_bytes() for p in sorted((reference / "embeddings").rglob("*"))
              if p.is_file()}
    assert sorted(mine) == sorted(theirs), f"embeddings folder differs: {sorted(set(mine) ^ set(theirs))[:3]}"
    for name in mine:  # an .npz is a zip with its entries' write times: compare its arrays
        if name.suffix == ".npz":
            a, b = np.load(io.BytesIO(mine[name])), np.load(io.BytesIO(theirs[name]))
            assert a.files == b.files and all(np.array_equal(a[k], b[k]) for k in a.files), f"{name} differs"
        else:
            assert mine[name] == theirs[name], f"{name} differs from the uninterrupted run's"
