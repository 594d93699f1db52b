"""Real clusters on loopback for tests: a Spark standalone master + worker, and a Ray head.

Both are started from the installed packages (spark-class, ray start), bound to 127.0.0.1, and
stopped when the test session ends.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(log: Path, text: str, proc: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited early; log:\n{log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.3)
    raise RuntimeError(f"timed out waiting for '{text}' in {log}")


@contextmanager
def spark_standalone(workdir: Path, cores: int = 2, memory: str = "3g") -> Iterator[str]:
    """Yield spark://127.0.0.1:PORT of a running master with one registered worker."""
    with spark_workers(workdir, 1, cores, memory) as (url, _):
        yield url


@contextmanager
def spark_workers(workdir: Path, workers: int, cores: int, memory: str) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """A master with `workers` registered workers: (its URL, the worker processes). Each worker
    leads its own process group (its executors and their Python workers are in it), so
    `os.killpg(worker.pid, SIGKILL)` loses a machine's worth of executors at once."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=sys.executable)
    env.pop("SPARK_CONF_DIR", None)  # the pipeline's log4j config hides the INFO lines awaited here
    port = free_port()
    url = f"spark://127.0.0.1:{port}"
    klass = str(BIN / "spark-class")
    master_log = workdir / "master.log"
    master = subprocess.Popen(
        [klass, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
         "--webui-port", str(free_port())],
        stdout=master_log.open("w"), stderr=subprocess.STDOUT, env=env, start_new_session=True)
    started: list[subprocess.Popen] = []
    try:
        _wait_for(master_log, "I have been elected leader", master)
        for i in range(workers):
            log = workdir / f"worker-{i}.log"
            worker = subprocess.Popen(
                [klass, "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1",
                 "--cores", str(cores), "--memory", memory, "--webui-port", str(free_port())],
                stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
                env=dict(env, SPARK_WORKER_DIR=str(workdir / f"work-{i}")))
            started.append(worker)
            _wait_for(log, "Successfully registered with master", worker)
        yield url, started
    finally:
        for proc in (*started, master):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()


RAY_ENV = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled")


@contextmanager
def ray_head(num_cpus: int = 2) -> Iterator[str]:
    """Yield the address (127.0.0.1:PORT) of a Ray head started with `ray start --head`."""
    import shutil
    import tempfile

    workdir = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's unix sockets live under it
    port = free_port()
    _ray_start(["--head", "--port", str(port), "--include-dashboard", "false", "--disable-usage-stats",
                "--temp-dir", workdir], num_cpus)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        _stop_ray_under(workdir)
        shutil.rmtree(workdir, ignore_errors=True)


def ray_worker_node(address: str, num_cpus: int = 1) -> int:
    """Join a second node (its own raylet and workers) to the head at `address`; return its
    node-manager port, which names its processes for `kill_ray_node`."""
    port = free_port()
    _ray_start(["--address", address, "--node-manager-port", str(port)], num_cpus, skip=("--node-manager-port",))
    return port


def kill_ray_node(node_manager_port: int) -> int:
    """SIGKILL one node's raylet and every process under it (its workers): a machine lost.
    Returns how many processes were killed."""
    import psutil

    flag = f"--node_manager_port={node_manager_port}"
    raylets = [p for p in psutil.process_iter(["cmdline"]) if flag in (p.info["cmdline"] or [])]
    doomed = [*raylets, *(c for r in raylets for c in r.children(recursive=True))]
    for proc in doomed:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(doomed, timeout=30)
    return len(doomed)


def _ray_start(args: list[str], num_cpus: int, skip: tuple[str, ...] = ()) -> None:
    cmd = [str(BIN / "ray"), "start", "--node-ip-address", "127.0.0.1", "--num-cpus", str(num_cpus), *args]
    # every listening port chosen free, so a second Ray on the machine (the default ports) is no clash
    for flag in ("--dashboard-agent-listen-port", "--dashboard-agent-grpc-port", "--metrics-export-port",
                 "--node-manager-port", "--object-manager-port", "--runtime-env-agent-port"):
        if flag not in skip:
            cmd += [flag, str(free_port())]
    started = subprocess.run(cmd, env=RAY_ENV, capture_output=True, text=True, timeout=180)
    if started.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[1:4])} failed ({started.returncode}): {started.stderr[-2000:]}")


def _stop_ray_under(workdir: str) -> None:
    """Kill this head's processes only: every one names its session folder under `workdir` (or
    is a child of one that does). `ray stop` would stop every Ray on the machine."""
    import psutil

    ours = []
    for proc in psutil.process_iter(["cmdline"]):
        if any(workdir in part for part in proc.info["cmdline"] or []):
            ours.append(proc)
    for proc in list(ours):
        try:
            ours += proc.children(recursive=True)
        except psutil.NoSuchProcess:
            pass
    for proc in ours:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(ours, timeout=30)
