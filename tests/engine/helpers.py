"""Shared bits of the engine tests: a config for the word stage and reading a stage's rows."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.config import load_config


def word_config(shared_data: Path, *overrides: str, **words) -> dict:
    config = load_config(None, ["run.progress=false", *overrides])
    files = sorted(str(p) for p in (shared_data / "cc-text" / "dolma-ccnet").glob("*.jsonl.gz"))
    config["words"] = {"files": files, "lines_per_partition": 2, "min_words": 200, "sleep": 0, **words}
    return config


def stage_rows(stage_dir: Path) -> pa.Table:
    parts = sorted(stage_dir.glob("part-*.parquet"))
    return pa.concat_tables([pq.read_table(p) for p in parts]) if parts else pa.table({})
