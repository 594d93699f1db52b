"""Run-folder IO goes through fsspec: the same calls work on file:// and memory:// URIs."""

import pyarrow as pa
import pytest

from pipeline import io
from pipeline.errors import InputError
from pipeline.runner import run_stage
from tests.engine.helpers import stage_rows, word_config
from tests.engine.wordstage import WordStage


@pytest.mark.parametrize("base", ["memory://io-test", "file://{tmp}"])
def test_atomic_writes_reads_and_listing(base, tmp_path):
    root = base.format(tmp=tmp_path)
    table = pa.table({"id": ["a", "b"], "n": [1, 2]})
    sha = io.write_parquet_atomic(io.join(root, "x", "part-00000.parquet"), table)
    assert len(sha) == 64
    assert io.read_parquet(io.join(root, "x", "part-00000.parquet")).equals(table)
    io.write_json_atomic(io.join(root, "x", "m.json"), {"k": 1})
    assert io.read_json(io.join(root, "x", "m.json")) == {"k": 1}
    assert io.listdir(io.join(root, "x")) == ["m.json", "part-00000.parquet"]  # no temp leftovers
    assert io.expand_inputs(io.join(root, "x", "*.parquet"), "test")[0].endswith("part-00000.parquet")


def test_missing_inputs_are_named(tmp_path):
    with pytest.raises(InputError, match=r"extract\.inputs: no input file matches '.*nothing-\*\.warc'"):
        io.expand_inputs([str(tmp_path / "nothing-*.warc")], "extract.inputs")
    with pytest.raises(InputError, match="file not found: .*absent.parquet"):
        io.read_parquet(str(tmp_path / "absent.parquet"))


def test_a_stage_runs_into_a_file_uri_run_folder(shared_data, tmp_path):
    manifest = run_stage(WordStage, f"file://{tmp_path}/run", word_config(shared_data))
    assert manifest["rows_out"] == stage_rows(tmp_path / "run" / "stage-90").num_rows > 0
