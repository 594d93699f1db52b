"""The same stage on a real Spark standalone cluster and a real Ray head gives the local rows."""

import pytest

from pipeline.runner import run_stage
from tests.clusters import ray_head
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


def test_ray_head_matches_local(shared_data, tmp_path):
    local = run_stage(WordStage, str(tmp_path / "local"), word_config(shared_data))
    with ray_head() as address:
        on_ray = run_stage(
            WordStage, str(tmp_path / "ray-run"),
            word_config(shared_data, "engine=ray", f"ray.address={address}"),
        )
    assert on_ray["engine"] == "ray"
    assert _file_hashes(on_ray) == _file_hashes(local)
    assert stage_rows(tmp_path / "ray-run" / "stage-90").equals(stage_rows(tmp_path / "local" / "stage-90"))
