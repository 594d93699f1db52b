"""Small helpers shared by the bilingual tests."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def read_parts(stage_dir: Path, folder: str = "") -> pa.Table | None:
    """Every kept (or, with folder="_rejects", sampled dropped) row of a stage, in part order;
    None when there is none (a stage that dropped nothing writes no rejects)."""
    parts = sorted((stage_dir / folder).glob("part-*.parquet"))
    if not parts:
        return None
    return pa.concat_tables([pq.read_table(p) for p in parts], promote_options="default")
