"""An AppCDS archive of the classes Spark's driver JVM loads at start-up, built once per machine.

Starting the embedded Spark driver costs ~7–8 s of CPU, most of it loading and verifying some
20,000 classes; a stage on 100k documents needs only a few seconds more. A dynamic class-data
sharing archive (JDK 13+, `-XX:ArchiveClassesAtExit`) holds those classes already parsed and
verified, and roughly halves that start-up (measured in BENCHMARKS.md / filters/dedup/README.md).

The archive is valid only for the exact JVM and class path it was dumped with, and the JVM
refuses it when a class-path directory is not empty, so Spark's conf directory is an empty one
here and our log4j2 settings are passed as a system property. A JVM that cannot use the archive
(another Java, a user's own SPARK_CONF_DIR) falls back to loading classes as usual
(`-Xshare:auto`): the archive never changes results, only start-up time.

Built on first use by a short child process (~15–40 s, ~180 MB) under a file lock, named after
the Java binary, pyspark, Spark's conf directory and this interpreter, so a changed installation
builds a new one.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from pipeline.log import log

LOG4J2 = Path(__file__).with_name("spark_conf") / "log4j2.properties"
QUIET_CDS = "-Xshare:auto -Xlog:cds=off -Xlog:cds+dynamic=off"
BUILD_TIMEOUT_S = 300
DUMP_ENV = "CTT_SPARK_ARCHIVE_DUMP"  # "driver file:launcher file" in the build process

# the child process: the classes of a session, an RDD shuffle, a SQL aggregation and parquet I/O
_WORKLOAD = """
import tempfile
from pipeline.engines.spark_engine import spark_session
spark = spark_session({"spark": {"driver_memory": "1g", "conf": {}}}, "local[1]")
spark.sparkContext.parallelize([(i % 3, i) for i in range(100)], 2).partitionBy(2).glom().collect()
frame = spark.range(1000).selectExpr("id % 7 AS k", "id AS v").groupBy("k").count()
with tempfile.TemporaryDirectory() as tmp:
    frame.write.parquet(tmp + "/t")
    spark.read.parquet(tmp + "/t").join(frame, "k").orderBy("k").collect()
"""


def _key(spark_conf_dir: str) -> str:
    """What the archive depends on: the Java binary, the class path (pyspark's version and
    location, Spark's conf directory) and this python."""
    import pyspark

    java = os.path.realpath(shutil.which("java") or "java")
    stamp = os.stat(java).st_mtime_ns if os.path.exists(java) else 0
    text = "|".join([java, str(stamp), pyspark.__version__, os.path.dirname(pyspark.__file__), spark_conf_dir,
                     sys.executable])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def conf_dir(folder: str | None) -> str:
    """An empty directory to serve as SPARK_CONF_DIR (class-path directories must be empty)."""
    for base in ([Path(folder).expanduser()] if folder else []) + [Path(tempfile.gettempdir()) / "crawl-to-tokens"]:
        try:
            (base / "empty-conf").mkdir(parents=True, exist_ok=True)
            return str(base / "empty-conf")
        except OSError:
            continue  # the archive folder cannot be written: there is no archive to match either
    raise OSError(f"no writable folder for an empty Spark conf directory (tried {folder} and the temp dir)")


def java_options(folder: str | None) -> tuple[str, str]:
    """(driver, launcher) JVM options: our log4j2 settings, and the archive when there is one; in
    the build process (DUMP_ENV set), the options that write the archives at exit instead."""
    driver = f"-XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile=file:{LOG4J2}"
    launcher = "-XX:TieredStopAtLevel=1"
    dump_to = os.environ[DUMP_ENV].split(os.pathsep) if DUMP_ENV in os.environ else None
    if dump_to is not None:
        return (f"{driver} {QUIET_CDS} -XX:ArchiveClassesAtExit={dump_to[0]}",
                f"{launcher} {QUIET_CDS} -XX:ArchiveClassesAtExit={dump_to[1]}")
    paths = ensure_archives(folder) if folder else None
    if paths is None:
        return driver, launcher
    return (f"{driver} {QUIET_CDS} -XX:SharedArchiveFile={paths[0]}",
            f"{launcher} {QUIET_CDS} -XX:SharedArchiveFile={paths[1]}")


def ensure_archives(folder: str) -> tuple[str, str] | None:
    """The (driver, launcher) archive files, built first if missing; None if they cannot be built
    (logged: Spark then starts without them)."""
    base = Path(folder).expanduser()
    spark_conf_dir = os.environ.get("SPARK_CONF_DIR") or conf_dir(folder)
    key = _key(spark_conf_dir)
    final = (base / f"spark-driver-{key}.jsa", base / f"spark-launcher-{key}.jsa")
    if all(p.exists() for p in final):
        return str(final[0]), str(final[1])
    try:
        base.mkdir(parents=True, exist_ok=True)
        lock = open(base / f".{key}.lock", "w")  # noqa: SIM115 (held for the whole build below)
    except OSError as err:
        log("spark.class_archive_failed", detail=f"cannot write {base}: {err}")
        return None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build per machine; others wait and reuse it
        if all(p.exists() for p in final):
            return str(final[0]), str(final[1])
        tmp = tuple(p.with_suffix(f".{os.getpid()}.tmp") for p in final)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_GATEWAY_")}  # its own JVM
        env.update({DUMP_ENV: f"{tmp[0]}{os.pathsep}{tmp[1]}", "SPARK_CONF_DIR": spark_conf_dir})
        log("spark.class_archive", building=str(final[0]))
        try:
            done = subprocess.run([sys.executable, "-c", _WORKLOAD], env=env, capture_output=True,
                                  timeout=BUILD_TIMEOUT_S, cwd=str(Path(__file__).resolve().parents[2]))
            failed = done.returncode != 0 or not all(p.exists() and p.stat().st_size for p in tmp)
            detail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] if failed else []
        except subprocess.TimeoutExpired:
            failed, detail = True, [f"timed out after {BUILD_TIMEOUT_S} s"]
        if failed:
            for p in tmp:
                p.unlink(missing_ok=True)
            log("spark.class_archive_failed", detail=" ".join(detail) or "no archive written")
            return None
        for t, f in zip(tmp, final, strict=True):
            os.replace(t, f)
    return str(final[0]), str(final[1])
