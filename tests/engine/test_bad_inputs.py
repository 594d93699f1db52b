"""Corrupt and wrong inputs end in one clear line naming the file and what is wrong, never a
traceback and never wrong rows: truncated, bit-flipped, empty, wrong-schema and non-parquet parts,
repeated ids, and a run folder written by another schema version."""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from pipeline import io
from pipeline.config import load_config
from pipeline.errors import PipelineError
from pipeline.runner import run_stage

ROOT = Path(__file__).resolve().parents[2]
FAST = ["run.progress=false", "spark.conf={spark.sql.shuffle.partitions: 2}",
        "quality.scorers=[gopher_quality, gopher_repetition, lines]"]


@pytest.fixture(scope="module")
def good_table(shared_data) -> pa.Table:
    rows = []
    for path in sorted((shared_data / "cc-text" / "dolma-ccnet").glob("*.jsonl.gz")):
        with gzip.open(path, "rt") as fh:
            rows += [{"id": f"{path.stem}-{i}", "text": json.loads(line)["text"]} for i, line in enumerate(fh)]
    return pa.Table.from_pylist(rows)


def _damaged(kind: str, table: pa.Table, path: Path) -> Path:
    io.write_parquet_atomic(str(path), table)  # what our stages write: zstd pages with CRC checksums
    data = bytearray(path.read_bytes())
    if kind == "truncated":
        path.write_bytes(bytes(data[: len(data) // 2]))
    elif kind == "bit_flipped":
        rng = random.Random(4)
        for _ in range(3):
            data[rng.randrange(200, len(data) - 2000)] ^= 0x5A
        path.write_bytes(bytes(data))
    elif kind == "zero_bytes":
        path.write_bytes(b"")
    elif kind == "not_parquet":
        path.write_bytes(gzip.compress(b'{"id": "x", "text": "y"}\n'))
    elif kind == "no_text_column":
        io.write_parquet_atomic(str(path), table.drop_columns(["text"]))
    elif kind == "repeated_ids":
        io.write_parquet_atomic(str(path), pa.concat_tables([table, table.slice(0, 3)]))
    return path


WHAT = {"truncated": "not a readable parquet file", "bit_flipped": "cannot read parquet",
        "zero_bytes": "not a readable parquet file", "not_parquet": "not a readable parquet file",
        "no_text_column": "lacks required column 'text'", "repeated_ids": "column 'id' repeats"}


CASES = ([(4, "dedup.inputs", kind) for kind in WHAT]  # every damage on stage 4; the others share its input layer
         + [(3, "quality.inputs", "bit_flipped"), (3, "quality.inputs", "repeated_ids"),
            (8, "tokenize.inputs", "truncated"), (8, "tokenize.inputs", "no_text_column")])


@pytest.mark.parametrize("stage,key,kind", CASES)
def test_a_damaged_input_part_is_one_line_naming_the_file(good_table, tmp_path, stage, key, kind):
    good = tmp_path / "good.parquet"
    io.write_parquet_atomic(str(good), good_table)
    bad = _damaged(kind, good_table, tmp_path / f"{kind}.parquet")
    config = load_config(None, [*FAST, f"{key}=[{good}, {bad}]"])
    with pytest.raises(PipelineError) as caught:
        run_stage(stage, str(tmp_path / "run"), config)
    message = str(caught.value)
    assert str(bad) in message and WHAT[kind] in message, message
    assert "\n" not in message and "Traceback" not in message
    assert not (tmp_path / "run" / f"stage-{stage}" / "_manifest.json").exists()


def test_the_cli_answers_a_truncated_upstream_part_in_one_line(good_table, tmp_path):
    """The reported case: `make stage-4` on a run whose stage-3 part was cut."""
    run = tmp_path / "run"
    good = tmp_path / "in.parquet"
    io.write_parquet_atomic(str(good), good_table)
    run_stage(3, str(run), load_config(None, [*FAST, f"quality.inputs=[{good}]",
                                              "quality.keep_tiers=[high, medium_high, medium, medium_low, low]"]))
    part = next((run / "stage-3").glob("part-*.parquet"))
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    out = subprocess.run([sys.executable, "-m", "pipeline", "run", "stage-4", "--run", str(run), *sum(
        (["--set", s] for s in FAST), [])], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 2
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(part) in errors[0] and "not a readable parquet file" in errors[0]
    assert "Traceback" not in out.stderr


def test_a_run_folder_of_another_schema_version_is_refused_with_the_way_out(good_table, tmp_path):
    run = tmp_path / "run"
    good = tmp_path / "in.parquet"
    io.write_parquet_atomic(str(good), good_table)
    config = load_config(None, [*FAST, f"quality.inputs=[{good}]"])
    run_stage(3, str(run), config)
    manifest = run / "stage-3" / "_manifest.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "schema_version": "0"}))
    with pytest.raises(PipelineError, match="stage-3 .* schema version '0'.*re-run stage 3 with --force"):
        run_stage(4, str(run), config)
    with pytest.raises(PipelineError, match="schema version '0'.*--force"):
        run_stage(3, str(run), config)
    assert run_stage(3, str(run), config, force=True)["schema_version"] != "0"
