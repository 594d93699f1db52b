"""Executor loss on a real cluster: a Spark standalone master with two workers on loopback, or a
Ray head with a second node; one worker machine (Spark: its worker JVM, executor and Python
workers; Ray: its raylet and workers) is SIGKILLed while stage 8 runs. The engine reschedules the
lost tasks on what is left, and the output equals the local run's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.runner import run_stage
from tests.clusters import kill_ray_node, ray_head, ray_worker_node, spark_workers
from tests.reliability.inputs import config, write_parts
from tests.tokenize.corpus import web_rows

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SHARDS = 12  # stage 8's partitions are its shards


def _rows(shared: Path, copies: int) -> list[dict]:
    """Real CCNet documents, repeated under new ids, so each shard takes a few seconds of a core."""
    rows = web_rows(shared)
    return [dict(row, id=f"{row['id']}-{k}") for k in range(copies) for row in rows]


def _submit(run: Path, master: str, settings: list[str]) -> subprocess.Popen:
    sets = [a for s in settings for a in ("--set", s)]
    return subprocess.Popen([sys.executable, "-m", "pipeline", "submit", "stage-8", "--run", str(run),
                             "--master", master, *sets], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _wait_for_first_part(run: Path, job: subprocess.Popen, timeout: float = 600) -> int:
    """Block until the first shard commits; return how many had committed (the kill comes next)."""
    markers = run / "stage-8" / "_parts"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        committed = len(list(markers.glob("*.json"))) if markers.is_dir() else 0
        if committed:
            return committed
        assert job.poll() is None, job.stdout.read()[-3000:]
        time.sleep(0.1)
    raise AssertionError("no partition committed in time")


@pytest.fixture(scope="module")
def stage_8(shared_data, tmp_path_factory) -> tuple[list[str], dict]:
    """Stage 8's settings on ~12,000 real documents in ~12 shards, and its local run's manifest."""
    folder = tmp_path_factory.mktemp("executor-loss")
    rows = _rows(shared_data, copies=max(1, 12_000 // len(web_rows(shared_data))))
    shard_tokens = sum(len(r["text"]) for r in rows) // 4 // SHARDS  # ~4 characters a token: ~12 shards
    settings = config(f"tokenize.inputs=[{write_parts(rows, folder / 'in', 4)}]", "tokenize.mixture.tier={}",
                      f"tokenize.shard_tokens={shard_tokens}")
    expected = run_stage(8, str(folder / "local"), load_config(None, settings))
    assert expected["rows_in"] == len(rows)
    return settings, expected


def _same_output(run: Path, expected: dict, engine: str) -> None:
    manifest = json.loads((run / "stage-8" / "_manifest.json").read_text())
    assert manifest["engine"] == engine
    assert len(list((run / "stage-8" / "_parts").glob("*.json"))) == len(expected["files"]) >= SHARDS // 2
    assert manifest["rows_in"] == expected["rows_in"]
    assert manifest["rows_out"] == expected["rows_out"] > 0
    assert [f["sha256"] for f in manifest["files"]] == [f["sha256"] for f in expected["files"]]
    assert manifest["dropped"] == expected["dropped"]


def test_a_spark_worker_killed_mid_stage_changes_nothing(stage_8, tmp_path):
    settings, expected = stage_8

    with spark_workers(tmp_path / "cluster", workers=2, cores=1, memory="2g") as (master, workers):
        job = _submit(tmp_path / "cluster-run", master, settings)
        assert _wait_for_first_part(tmp_path / "cluster-run", job) < len(expected["files"])
        victim = workers[1]
        assert any((tmp_path / "cluster" / "work-1").rglob("stderr")), "the second worker ran no executor"
        os.killpg(victim.pid, signal.SIGKILL)
        log = job.communicate(timeout=900)[0]
        assert job.returncode == 0, log[-3000:]

    assert victim.poll() is not None
    lost = [line for line in log.splitlines() if "lost" in line.lower() and "executor" in line.lower()]
    print("\n".join(lost))
    assert lost, log[-3000:]
    _same_output(tmp_path / "cluster-run", expected, "spark")


def test_a_ray_node_killed_mid_stage_changes_nothing(stage_8, tmp_path):
    settings, expected = stage_8
    run = tmp_path / "ray-run"
    with ray_head(num_cpus=1) as address:
        node = ray_worker_node(address, num_cpus=1)
        try:
            job = subprocess.Popen(
                [sys.executable, "-m", "pipeline", "run", "stage-8", "--run", str(run),
                 *(a for s in [*settings, "engine=ray", f"ray.address={address}"] for a in ("--set", s))],
                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            assert _wait_for_first_part(run, job) < len(expected["files"])
            killed = kill_ray_node(node)
            log = job.communicate(timeout=900)[0]
        finally:
            kill_ray_node(node)
    assert killed >= 2, "the second node's raylet and at least one worker of it"
    assert job.returncode == 0, log[-3000:]
    _same_output(run, expected, "ray")
