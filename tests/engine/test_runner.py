"""The runner on Spark local: manifest contract, rejects with reasons, determinism, resume, errors."""

import json

import pyarrow.parquet as pq
import pytest

from pipeline.errors import PipelineError
from pipeline.runner import run_stage
from tests.engine.helpers import stage_rows, word_config
from tests.engine.wordstage import WordStage

MANIFEST_KEYS = {"stage", "name", "schema_version", "config_sha256", "rows_in", "rows_out",
                 "dropped", "files", "started", "finished"}


def test_manifest_rejects_and_rows_follow_the_contract(shared_data, run_dir):
    manifest = run_stage(WordStage, str(run_dir), word_config(shared_data))
    stage_dir = run_dir / "stage-90"
    on_disk = json.loads((stage_dir / "_manifest.json").read_text())
    assert on_disk == manifest
    assert MANIFEST_KEYS <= set(manifest)
    assert manifest["rows_in"] == 20  # the two real CCNet files hold 10 documents each
    rows = stage_rows(stage_dir)
    assert manifest["rows_out"] == rows.num_rows
    assert all(n >= 200 for n in rows["n_words"].to_pylist())
    assert manifest["dropped"] == {"words:too_short": 20 - rows.num_rows}
    assert sum(f["rows"] for f in manifest["files"]) == rows.num_rows
    rejects = pq.read_table(stage_dir / "_rejects").to_pylist()
    assert rejects and all(r["reason"] == "words:too_short" and r["n_words"] < 200 for r in rejects)
    assert (run_dir / "config.yaml").is_file()


def test_same_input_gives_identical_files_across_runs(shared_data, tmp_path):
    first = run_stage(WordStage, str(tmp_path / "a"), word_config(shared_data))
    second = run_stage(WordStage, str(tmp_path / "b"), word_config(shared_data))
    assert [f["sha256"] for f in first["files"]] == [f["sha256"] for f in second["files"]]


def test_finished_stage_is_not_recomputed_and_config_change_is_refused(shared_data, run_dir):
    config = word_config(shared_data)
    first = run_stage(WordStage, str(run_dir), config)
    again = run_stage(WordStage, str(run_dir), config)
    assert again["finished"] == first["finished"]
    changed = word_config(shared_data, min_words=10)
    with pytest.raises(PipelineError, match="different config.*--force"):
        run_stage(WordStage, str(run_dir), changed)
    forced = run_stage(WordStage, str(run_dir), changed, force=True)
    assert forced["rows_out"] > first["rows_out"]


def test_resume_skips_committed_partitions(shared_data, run_dir):
    config = word_config(shared_data)
    run_stage(WordStage, str(run_dir), config)
    stage_dir = run_dir / "stage-90"
    (stage_dir / "_manifest.json").unlink()
    (stage_dir / "_parts" / "part-00003.json").unlink()
    kept_mtime = (stage_dir / "part-00000.parquet").stat().st_mtime_ns
    manifest = run_stage(WordStage, str(run_dir), config)
    assert (stage_dir / "part-00000.parquet").stat().st_mtime_ns == kept_mtime
    assert (stage_dir / "_parts" / "part-00003.json").is_file()
    assert manifest["rows_in"] == 20


def test_a_failing_partition_is_one_clear_error(shared_data, run_dir):
    config = word_config(shared_data)
    config["words"]["files"] = [*config["words"]["files"][:1], str(run_dir.parent / "missing.jsonl.gz")]
    with pytest.raises(Exception, match="missing.jsonl.gz"):
        run_stage(WordStage, str(run_dir), config)
    assert not (run_dir / "stage-90" / "_manifest.json").exists()
