"""Stage 4 -> stage 5 -> stage 8 in one run folder: stage 5 reads stage 4's parts by default, and
stage 8's mixture honours rebalance_weight in the phases rebalance.phases names, only there."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from pipeline import io
from pipeline.config import load_config
from pipeline.runner import run_stage

SETS = ["rebalance.embed.model=minilm-static", "ray.num_cpus=2", "rebalance.knowledge.enabled=false",
        "rebalance.kmeans.clusters=40", "rebalance.cap=6", "rebalance.mode=weight", "rebalance.phases=[annealing]",
        "tokenize.mixture.tier={}", "tokenize.shard_tokens=200000", "run.progress=false"]


def test_stage_4_then_5_then_8_honours_the_rebalance_weight_in_its_phase_only(planted, tmp_path):
    run = str(tmp_path / "run")
    config = load_config(None, [f"dedup.inputs=[{','.join(map(str, planted))}]", *SETS])
    four = run_stage(4, run, config)
    assert 0 < four["rows_out"] < four["rows_in"]  # the templated copies are near-duplicates
    five = run_stage(5, run, config)
    assert five["rows_in"] == four["rows_out"] and five["rows_out"] == five["rows_in"]
    out = pa.concat_tables([io.read_parquet(io.join(run, "stage-5", f["path"])) for f in five["files"]])
    zero = int(pc.sum(pc.equal(out.column("rebalance_weight"), 0.0)).as_py())
    assert zero == five["rows_in"] - five["rebalance"]["rows_kept"] > 0

    annealing = run_stage(8, run, load_config(None, [*SETS, "tokenize.mixture.profile=annealing"]))
    assert annealing["rows_in"] == five["rows_out"]
    assert annealing["dropped"].get("tokenize:mixture", 0) == zero  # weight 0: not sampled
    # the meta header's domain field is stage 5's topic
    topics = dict(zip(out.column("id").to_pylist(), out.column("topic").to_pylist(), strict=True))
    samples = pa.concat_tables([io.read_parquet(io.join(run, "stage-8", f["path"]), ["id", "meta"])
                                for f in annealing["files"]])
    assert samples.num_rows > 0
    for sample_id, meta in zip(samples.column("id").to_pylist(), samples.column("meta").to_pylist(), strict=True):
        assert f"domain: {topics[sample_id]}" in meta, meta
    default = run_stage(8, run, load_config(None, [*SETS, "tokenize.mixture.profile=default"]), force=True)
    assert default["dropped"].get("tokenize:mixture", 0) == 0  # not its phase: every row at weight 1
