"""Spark engine: `local[*]` by default, a cluster when engine=spark (spark.master or spark-submit)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.engines import guarded, raise_failures
from pipeline.engines.class_archive import conf_dir, java_options
from pipeline.errors import ConfigError

PROJECT_ROOT = str(Path(__file__).resolve().parents[2])


def _export_python_env() -> None:
    """Workers must run this venv's python and find the project's packages."""
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if PROJECT_ROOT not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([PROJECT_ROOT, *paths])


def spark_session(config: dict, master: str | None):
    """Create (or join, under spark-submit) the SparkSession with the pipeline's settings."""
    _export_python_env()
    archive_dir = config["spark"].get("class_archive_dir")
    # an empty conf directory (our log4j2 settings go in as a JVM option; see class_archive.py)
    os.environ.setdefault("SPARK_CONF_DIR", conf_dir(archive_dir))
    from pyspark.sql import SparkSession

    if "PYSPARK_GATEWAY_PORT" in os.environ:  # under spark-submit: the driver JVM runs already
        archive_dir = None
    driver_options, launcher_options = java_options(archive_dir)
    os.environ["SPARK_LAUNCHER_OPTS"] = launcher_options  # the JVM spark-submit starts to build the command

    if master and (master.startswith("local") or "127.0.0.1" in master or "localhost" in master):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.appName("crawl-to-tokens")
    if master:
        builder = builder.master(master)
    settings = {
        "spark.driver.memory": config["spark"]["driver_memory"],
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "8",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        # The driver JVM (all the work in local mode) runs short batch jobs: the C1 compiler alone
        # costs ~40% less CPU for start-up and a stage's few dozen queries (measured in BENCHMARKS.md);
        # the class archive roughly halves what is left of start-up (class_archive.py).
        "spark.driver.extraJavaOptions": driver_options,
        "spark.executorEnv.PYTHONPATH": os.environ["PYTHONPATH"],
        "spark.pyspark.python": sys.executable,
        "spark.task.maxFailures": "1" if (master or "").startswith("local") else "4",
    }
    settings.update({k: str(v) for k, v in (config["spark"].get("conf") or {}).items()})
    for key, value in settings.items():
        builder = builder.config(key, value)
    active = SparkSession.getActiveSession()
    if active is not None and master and active.sparkContext.master != master:
        active.stop()  # a different master was asked for in this process (tests switch masters)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


class SparkEngine:
    def __init__(self, config: dict):
        self.config = config
        self.name = config["engine"]
        if self.name == "spark":
            self.master = config["spark"]["master"] or os.environ.get("SPARK_MASTER_URL")
            if not self.master and "SPARK_ENV_LOADED" not in os.environ:
                raise ConfigError("engine=spark needs config key 'spark.master' (spark://HOST:PORT)")
        else:
            self.master = "local[*]"
        self._session = None

    def spark(self):
        if self._session is None:
            self._session = spark_session(self.config, self.master)
        return self._session

    def map(self, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        if not items:
            return []
        sc = self.spark().sparkContext
        rdd = sc.parallelize(list(enumerate(items)), numSlices=len(items))
        pairs = rdd.map(lambda pair: (pair[0], guarded(fn, pair[1]))).collect()
        return raise_failures([result for _, result in sorted(pairs, key=lambda p: p[0])])

    def close(self) -> None:
        # The session is kept for the process (getOrCreate would return a stopped one otherwise);
        # the JVM exits with the process.
        pass
