"""README's "Writing a stage" example is a complete stage: run it on real text, as written."""

import gzip
import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.config import load_config
from pipeline.runner import run_stage
from tests.engine.helpers import stage_rows

README = Path(__file__).resolve().parents[2] / "README.md"


def _example() -> dict:
    text = README.read_text()
    block = re.search(r"<!-- example-stage:start -->\n```python\n(.*?)```\n<!-- example-stage:end -->", text, re.S)
    assert block, "README lost its example stage"
    assert len(block.group(1).splitlines()) <= 40
    namespace: dict = {}
    exec(compile(block.group(1), "README example", "exec"), namespace)  # noqa: S102 - our own README
    return namespace


def test_the_readme_stage_runs_and_drops_with_its_reason(shared_data, tmp_path):
    stage = _example()["ShortStage"]
    rows = []
    for path in sorted((shared_data / "cc-text" / "dolma-ccnet").glob("*.jsonl.gz")):
        with gzip.open(path, "rt") as fh:
            rows += [{"id": f"{path.stem}-{i}", "text": json.loads(line)["text"]} for i, line in enumerate(fh)]
    table = pa.Table.from_pylist(rows)
    pq.write_table(table, tmp_path / "docs.parquet")
    config = {**load_config(None, ["run.progress=false"]),
              "short": {"inputs": [str(tmp_path / "docs.parquet")], "min_chars": 2000}}
    manifest = run_stage(stage, str(tmp_path / "run"), config)
    kept = stage_rows(tmp_path / "run" / "stage-41")
    short = sum(len(r["text"]) < 2000 for r in rows)
    assert 0 < short < len(rows)
    assert manifest["rows_in"] == len(rows) and manifest["rows_out"] == len(rows) - short
    assert manifest["dropped"] == {"short:too_short": short}
    assert min(kept["n_chars"].to_pylist()) >= 2000
    assert kept.column("source").null_count == kept.num_rows  # document fields the table lacks are nulls
