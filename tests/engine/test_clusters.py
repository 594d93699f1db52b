"""The same stage on a real Spark standalone cluster and a real Ray head gives the local rows."""

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.config import load_config
from pipeline.runner import run_stage
from tests.engine.helpers import stage_rows, word_config
from tests.engine.wordstage import WordStage

pytestmark = pytest.mark.slow


def _file_hashes(manifest: dict) -> list[str]:
    return [f["sha256"] for f in manifest["files"]]


def test_spark_standalone_cluster_matches_local(shared_data, spark_cluster, tmp_path):
    local = run_stage(WordStage, str(tmp_path / "local"), word_config(shared_data))
    cluster = run_stage(
        WordStage, str(tmp_path / "cluster"),
        word_config(shared_data, "engine=spark", f"spark.master={spark_cluster}"),
    )
    assert cluster["engine"] == "spark"
    assert _file_hashes(cluster) == _file_hashes(local)
    assert cluster["dropped"] == local["dropped"]


def test_ray_head_matches_local(shared_data, ray_cluster, tmp_path):
    local = run_stage(WordStage, str(tmp_path / "local"), word_config(shared_data))
    on_ray = run_stage(
        WordStage, str(tmp_path / "ray-run"),
        word_config(shared_data, "engine=ray", f"ray.address={ray_cluster}"),
    )
    assert on_ray["engine"] == "ray"
    assert _file_hashes(on_ray) == _file_hashes(local)
    assert stage_rows(tmp_path / "ray-run" / "stage-90").equals(stage_rows(tmp_path / "local" / "stage-90"))


def test_stage_3_with_its_models_on_a_ray_head_matches_local(shared_data, ray_cluster, tmp_path):
    """The model-heavy stage (fastText, the edu embedder, the n-gram LM) on Ray workers: the same
    scores, tiers and kept rows as the local run."""
    rows = []
    for path in sorted((shared_data / "cc-text" / "dolma-ccnet").glob("*.jsonl.gz")):
        with gzip.open(path, "rt") as fh:
            rows += [{"id": f"{path.stem}-{i}", "text": json.loads(line)["text"]} for i, line in enumerate(fh)]
    for part in range(2):
        pq.write_table(pa.Table.from_pylist(rows[part::2]), tmp_path / f"in-{part}.parquet")
    sets = [f"quality.inputs={tmp_path}/in-*.parquet", "run.progress=false"]
    local = run_stage(3, str(tmp_path / "local"), load_config(None, sets))
    on_ray = run_stage(3, str(tmp_path / "ray-run"), load_config(None, [*sets, "engine=ray",
                                                                        f"ray.address={ray_cluster}"]))
    assert on_ray["engine"] == "ray" and local["rows_in"] == len(rows)
    assert set(local["quality_scorers"]) >= {"fasttext_quality", "edu", "perplexity"}
    assert _file_hashes(on_ray) == _file_hashes(local)
    scores = stage_rows(tmp_path / "ray-run" / "stage-3")
    assert scores.num_rows == local["rows_out"] > 0
