"""The gate is never silently off: missing benchmark files are an error, stage 8 records what it checked."""

import pytest

from filters.decontam import resolve_benchmark_files
from filters.tokenize.stage import TokenizeStage
from pipeline.config import load_config
from pipeline.errors import ConfigError
from pipeline.runner import run_stage
from pipeline.stage import StageContext
from tests.tokenize.corpus import web_rows, write_table


@pytest.fixture(scope="module")
def inputs(shared_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("gate-inputs")
    write_table(web_rows(shared_data)[:4], folder / "web.parquet")
    return str(folder / "web.parquet")


def _config(inputs, *extra):
    return load_config(None, [f"tokenize.inputs=[{inputs}]", "run.progress=false", *extra])


def test_a_missing_benchmark_file_is_an_error(shared_data, tmp_path):
    with pytest.raises(ConfigError, match="not_there.jsonl"):
        resolve_benchmark_files(["humaneval/HumanEval.jsonl.gz", "humaneval/not_there.jsonl"])
    with pytest.raises(ConfigError, match="github.benchmarks"):
        resolve_benchmark_files([str(tmp_path / "absent.txt")])


def _stage(inputs, run_dir, *extra) -> TokenizeStage:
    return TokenizeStage(StageContext(config=_config(inputs, *extra), run_dir=str(run_dir)))


def test_stage_8_refuses_to_run_without_its_gate(inputs, tmp_path):
    """prepare() fails before any work (no engine is touched); only an explicit switch turns it off."""
    with pytest.raises(ConfigError, match="not_there"):
        _stage(inputs, tmp_path, "github.benchmarks=[humaneval/not_there.jsonl]").prepare(engine=None)
    with pytest.raises(ConfigError, match="tokenize.decontam.enabled=false"):
        _stage(inputs, tmp_path, "github.benchmarks=[]").prepare(engine=None)
    assert _stage(inputs, tmp_path, "github.benchmarks=[]", "tokenize.decontam.enabled=false")._gate() is None


def test_stage_8_manifest_names_the_sets_it_checked(inputs, tmp_path):
    manifest = run_stage(8, str(tmp_path / "run"), _config(inputs))
    checked = manifest["decontam"]
    assert {"HumanEval", "mbpp", "swe_bench_verified", "swe_bench_multilingual"} <= set(checked["sets"])
    assert checked["sets"]["swe_bench_verified"]["instances"] == 500
    assert checked["sets"]["swe_bench_multilingual"]["instances"] == 300
    assert checked["sets"]["HumanEval"]["texts"] > 164 and checked["gold_patches"] > 400
