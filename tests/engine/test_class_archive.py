"""The driver JVM's class archive (pipeline/engines/class_archive.py): built once, then mapped by
every new driver JVM; a folder that cannot hold it costs a logged line, never the session."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SESSION = """
import json, sys
from pipeline.config import load_config
from pipeline.engines.spark_engine import SparkEngine
engine = SparkEngine(load_config(None, ["run.progress=false", *sys.argv[1:]]))
spark = engine.spark()
total = spark.sparkContext.parallelize(range(100), 2).map(lambda x: x * 2).sum()
pid = spark.sparkContext._gateway.proc.pid
maps = open(f"/proc/{pid}/maps").read()
print(json.dumps({"total": total, "mapped": sorted({line.split()[-1] for line in maps.splitlines()
                                                     if line.endswith(".jsa")})}))
"""


def _session(*settings: str) -> tuple[dict, str]:
    done = subprocess.run([sys.executable, "-c", SESSION, *settings], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def test_a_new_driver_jvm_maps_the_archive_built_for_it(tmp_path):
    folder = tmp_path / "cds"
    first, log = _session(f"spark.class_archive_dir={folder}")
    assert '"event": "spark.class_archive"' in log  # built on first use
    archives = sorted(p.name for p in folder.glob("spark-*.jsa"))
    assert [a.split("-")[1] for a in archives] == ["driver", "launcher"]
    second, log = _session(f"spark.class_archive_dir={folder}")
    assert '"spark.class_archive"' not in log  # reused, not rebuilt
    assert str(folder / archives[0]) in second["mapped"]  # the driver JVM loads its classes from it
    assert first["total"] == second["total"] == 9900


def test_an_unwritable_archive_folder_is_logged_and_spark_starts_without_it(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result, log = _session(f"spark.class_archive_dir={blocker / 'cds'}")
    assert result["total"] == 9900
    assert '"event": "spark.class_archive_failed"' in log and str(blocker) in log
    assert not any(str(blocker) in path for path in result["mapped"])
