"""Stage 8 end to end on Spark: shards, index, readers, determinism, rejects, packing, resume."""

import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from filters.tokenize.tokenizer import ENDOFTEXT, load_tokenizer
from pipeline.config import load_config
from pipeline.reader import TokenReader
from pipeline.runner import run_stage
from tests.kill import kill_tree
from tests.tokenize.corpus import code_rows, page_rows, web_rows, write_table

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def inputs(shared_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    web = web_rows(shared_data)
    humaneval = json.loads(gzip.open(shared_data / "benchmarks/humaneval/HumanEval.jsonl.gz").readline())
    tainted = dict(web[5], id="tainted", text=web[5]["text"] + "\n" + humaneval["prompt"])
    write_table(web[:5] + [tainted] + web[6:], folder / "web.parquet")
    write_table(page_rows(shared_data) + code_rows(), folder / "mixed.parquet")
    pr = dict(web[6], id="pr-with-masked-span", source="github", kind="pr",
              no_loss_spans=[[0, 120], [400, 650]])
    write_table([pr], folder / "github.parquet")
    return str(folder / "*.parquet")


def _config(inputs, *extra, mixture_defaults: bool = False):
    """Stage 8 on these inputs; tier weights neutral unless the test is about the default mixture."""
    neutral = [] if mixture_defaults else ["tokenize.mixture.tier={}"]
    return load_config(None, [f"tokenize.inputs=[{inputs}]", "tokenize.shard_tokens=15000",
                              "run.progress=false", *neutral, *extra])


@pytest.fixture(scope="module")
def run(inputs, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    manifest = run_stage(8, str(run_dir), _config(inputs, "tokenize.mixture.content_type={Code: 2.0}"))
    return run_dir / "stage-8", manifest


def _rows(stage_dir):
    return pq.read_table(sorted(stage_dir.glob("part-*.parquet")))


def test_shards_index_and_rejects_follow_the_contract(run):
    stage_dir, manifest = run
    index = json.loads((stage_dir / "_index.json").read_text())
    assert len(index["shards"]) == len(manifest["files"]) > 1
    table = _rows(stage_dir)
    assert [s["rows"] for s in index["shards"]] == [f["rows"] for f in manifest["files"]]
    assert index["total_tokens"] == sum(table.column("n_tokens").to_pylist())
    for key in ("source", "tier", "language", "content_type"):
        assert sum(index["tokens_by"][key].values()) == index["total_tokens"]
    assert table.schema.field("input_ids").type.value_type.bit_width == 32
    lengths = [len(x) for x in table.column("input_ids").to_pylist()]
    assert lengths == [len(x) for x in table.column("loss_mask").to_pylist()]
    assert lengths == table.column("n_tokens").to_pylist()
    assert "text" not in table.column_names
    # code was weighted 2.0: every code document appears twice, as copies 0 and 1
    code = table.filter(pc.equal(table.column("content_type"), "Code"))
    assert sorted(code.column("copy").to_pylist()) == [0, 0, 0, 1, 1, 1]
    assert manifest["dropped"] == {"tokenize:contaminated": 1}
    assert manifest["rows_in"] == 20 + 5 + 3 + 1 + 3  # web, pages, code, github + 3 code copies
    rejects = pq.read_table(stage_dir / "_rejects").to_pylist()
    assert rejects[0]["id"] == "tainted" and rejects[0]["decontam_evidence"].startswith("HumanEval:")
    assert "tainted" not in table.column("id").to_pylist()


def test_rows_decode_back_to_their_input_text(run, inputs):
    stage_dir, _ = run
    texts = {}
    for path in sorted(Path(inputs).parent.glob("*.parquet")):
        texts.update(zip(*pq.read_table(path, columns=["id", "text"]).to_pydict().values(), strict=True))
    pr = texts["pr-with-masked-span"]  # stage-7 span [0,120) and [400,650) carry no loss
    texts["pr-with-masked-span"] = pr[120:400] + pr[650:]
    tokenizer = load_tokenizer("default", ("<|meta|>", "<|/meta|>"))
    for row in _rows(stage_dir).to_pylist():
        ids, mask = np.array(row["input_ids"]), np.array(row["loss_mask"])
        assert tokenizer.decode(ids[:row["n_header_tokens"]]) == row["meta"]
        assert not mask[:row["n_header_tokens"]].any()
        assert tokenizer.decode(ids[mask == 1]) == texts[row["id"]] + ENDOFTEXT
    assert "pr-with-masked-span" in _rows(stage_dir).column("id").to_pylist()


def test_default_inputs_are_the_latest_web_stage_plus_code_and_github(tmp_path):
    from filters.tokenize.stage import TokenizeStage
    from pipeline.errors import InputError
    from pipeline.stage import StageContext, current_schema_version

    stage = TokenizeStage(StageContext(config=load_config(None, []), run_dir=str(tmp_path)))
    with pytest.raises(InputError, match="tokenize.inputs"):
        stage.input_files()
    for number in (3, 4, 6, 7):
        folder = tmp_path / f"stage-{number}"
        folder.mkdir()
        (folder / "_manifest.json").write_text(json.dumps({"files": [{"path": "part-00000.parquet"}],
                                                           "schema_version": current_schema_version(number)}))
    assert stage.input_files() == [str(tmp_path / f"stage-{n}" / "part-00000.parquet") for n in (4, 6, 7)]


def test_shards_are_plain_parquet_for_every_reader(run):
    stage_dir, _ = run
    import datasets
    import duckdb
    import pandas
    import polars

    path = str(sorted(stage_dir.glob("part-*.parquet"))[0])
    expected = pq.read_table(path).select(["id", "input_ids", "loss_mask"]).to_pylist()
    frame = pandas.read_parquet(path)
    assert [list(x) for x in frame["input_ids"]] == [r["input_ids"] for r in expected]
    pl = polars.read_parquet(path)
    assert pl["loss_mask"].to_list() == [r["loss_mask"] for r in expected]
    rows = duckdb.sql(f"SELECT id, input_ids, loss_mask FROM read_parquet('{path}')").fetchall()
    assert [list(r[1]) for r in rows] == [r["input_ids"] for r in expected]
    ds = datasets.load_dataset("parquet", data_files=path, split="train",
                               cache_dir=str(stage_dir.parent / "hf-cache"))
    assert ds["input_ids"] == [r["input_ids"] for r in expected]


def test_reader_resumes_exactly_and_feeds_torch(run):
    stage_dir, _ = run
    full = list(TokenReader(str(stage_dir), batch_size=3))
    reader = TokenReader(str(stage_dir), batch_size=3)
    iterator = iter(reader)
    head = [next(iterator) for _ in range(4)]
    resumed = list(TokenReader(str(stage_dir), batch_size=3, start=reader.state()))
    assert len(head) + len(resumed) == len(full)
    for (a_ids, a_mask), (b_ids, b_mask) in zip(head + resumed, full, strict=True):
        assert (a_ids == b_ids).all() and (a_mask == b_mask).all()
    import torch

    from pipeline.reader import TokenDataset

    loader = torch.utils.data.DataLoader(TokenDataset(str(stage_dir), batch_size=2), batch_size=None)
    batches = list(loader)
    assert sum(int(m.sum()) for _, m in batches) == sum(int(m.sum()) for _, m in full)
    assert batches[0][0].dtype == torch.int32


def test_same_input_and_seed_give_identical_shards(run, inputs, tmp_path):
    _, manifest = run
    again = run_stage(8, str(tmp_path / "again"), _config(inputs, "tokenize.mixture.content_type={Code: 2.0}"))
    assert [f["sha256"] for f in again["files"]] == [f["sha256"] for f in manifest["files"]]
    other = run_stage(8, str(tmp_path / "seed"), _config(inputs, "seed=99", "tokenize.mixture.content_type={Code: 2.0}"))
    assert [f["sha256"] for f in other["files"]] != [f["sha256"] for f in manifest["files"]]


def test_packed_rows_hold_seq_len_tokens_with_document_boundaries(inputs, tmp_path):
    manifest = run_stage(8, str(tmp_path / "packed"), _config(inputs, "tokenize.pack=true",
                                                              "tokenize.seq_len=2048"))
    table = _rows(tmp_path / "packed" / "stage-8")
    index = json.loads((tmp_path / "packed" / "stage-8" / "_index.json").read_text())
    lengths = table.column("n_tokens").to_pylist()
    assert max(lengths) == 2048 and sum(length == 2048 for length in lengths) >= len(lengths) - len(index["shards"])
    for row in table.to_pylist():
        assert len(row["input_ids"]) == len(row["loss_mask"]) == row["n_tokens"]
        assert sum(row["doc_n_tokens"]) == row["n_tokens"]
        assert row["doc_starts"][0] == 0 and row["doc_starts"] == sorted(row["doc_starts"])
    assert index["total_tokens"] == sum(lengths)
    assert manifest["dropped"] == {"tokenize:contaminated": 1}


DRIVER = """
import json, sys
from pipeline.config import load_config
from pipeline.runner import run_stage
run_stage(8, sys.argv[1], load_config(None, json.loads(sys.argv[2])))
"""


@pytest.mark.slow
def test_sigkill_mid_stage_then_resume_gives_identical_shards(inputs, tmp_path):
    sets = [f"tokenize.inputs=[{inputs}]", "tokenize.shard_tokens=4000", "run.progress=false",
            "tokenize.mixture.source={cc-text: 6.0}"]
    reference = run_stage(8, str(tmp_path / "reference"), load_config(None, sets))
    assert len(reference["files"]) > 20
    run_dir = tmp_path / "killed"
    env = dict(os.environ, PYTHONPATH=str(ROOT), PIPELINE_LOG="quiet")
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(run_dir), json.dumps(sets)],
                            cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 150
    while not list((run_dir / "stage-8" / "_parts").glob("*.json")) and proc.poll() is None:
        assert time.monotonic() < deadline, "the stage made no progress"
        time.sleep(0.01)
    kill_tree(proc)  # the driver, its Spark JVM and the python workers
    assert not (run_dir / "stage-8" / "_manifest.json").exists()
    resumed = run_stage(8, str(run_dir), load_config(None, sets))
    assert [f["sha256"] for f in resumed["files"]] == [f["sha256"] for f in reference["files"]]
    assert resumed["dropped"] == reference["dropped"]


@pytest.mark.parametrize("packed", [False, True])
def test_both_header_loss_phases_from_one_tokenization(inputs, tmp_path, packed):
    """Shards written with the header masked; the reader finds every header (packed rows included,
    where continued documents repeat theirs) and trains on it or not, switching at a token count,
    and resumes with the same masks. Payload masks (no_loss_spans) are never touched."""
    sets = ["tokenize.pack=true", "tokenize.seq_len=1024"] if packed else []
    run_stage(8, str(tmp_path / "run"), _config(inputs, *sets))
    stage_dir = tmp_path / "run" / "stage-8"
    tokenizer = load_tokenizer("default", ("<|meta|>", "<|/meta|>"))
    opening, closing = tokenizer.special_id("<|meta|>"), tokenizer.special_id("<|/meta|>")

    def batches(**options):
        return [(ids, mask) for ids, mask in TokenReader(stage_dir, batch_size=4, **options)]

    written, full, masked = batches(), batches(meta_loss="full"), batches(meta_loss="masked")
    header_tokens = 0
    for (ids, mask), (_, trained), (_, silent) in zip(written, full, masked, strict=True):
        for row in range(len(ids)):
            inside = np.zeros(ids.shape[1], bool)
            depth = 0
            for k, token in enumerate(ids[row]):  # headers lie between <|meta|> and <|/meta|>
                depth += token == opening
                inside[k] = depth > 0
                depth -= token == closing
            header_tokens += inside.sum()
            assert (mask[row][inside] == 0).all() and (silent[row][inside] == 0).all()
            assert (trained[row][inside] == 1).all()
            assert (trained[row][~inside] == mask[row][~inside]).all()  # payload as written
    assert header_tokens > 0
    if packed:
        rows = _rows(stage_dir)
        assert any(offset > 0 for row in rows.column("doc_payload_offsets").to_pylist() for offset in row)

    rows_full = [m for _, m in TokenReader(stage_dir, batch_size=1, meta_loss="full")]
    rows_masked = [m for _, m in TokenReader(stage_dir, batch_size=1, meta_loss="masked")]
    switch = sum(m.size for m in rows_full) // 3
    scheduled = TokenReader(stage_dir, batch_size=1, masked_after_tokens=switch)
    stream = iter(scheduled)
    head = [next(stream)[1] for _ in range(3)]
    resumed = TokenReader(stage_dir, batch_size=1, masked_after_tokens=switch, start=scheduled.state())
    tail = [m for _, m in resumed]
    assert [m.tolist() for m in tail] == [m.tolist() for _, m in stream]  # the same masks after a resume
    before = 0
    for got, full_mask, masked_mask in zip(head + tail, rows_full, rows_masked, strict=True):
        assert (got == (full_mask if before < switch else masked_mask)).all()
        before += got.size
    assert any(not (f == m).all() for f, m in zip(rows_full, rows_masked, strict=True))


def test_the_default_mixture_prefers_higher_tiers_and_honours_upstream_weights(shared_data, tmp_path):
    """Real CCNet documents, alternately high and low tier, some with stage 3's STEM sample_weight:
    by default high-tier rows get more copies than low-tier ones, sample_weight multiplies in, and
    the manifest shows the token share per tier."""
    rows = [dict(r, id=f"{r['id']}-{k}") for k in range(6) for r in web_rows(shared_data)]  # 120 rows
    for i, row in enumerate(rows):
        row["sample_weight"] = 3.0 if i % 5 == 0 else 1.0
    write_table(rows, tmp_path / "in.parquet")
    manifest = run_stage(8, str(tmp_path / "run"), _config(str(tmp_path / "in.parquet"),
                                                            "tokenize.decontam.enabled=false", mixture_defaults=True))
    table = _rows(tmp_path / "run" / "stage-8")
    copies: dict[str, int] = {}
    for doc_id in table.column("id").to_pylist():
        copies[doc_id] = copies.get(doc_id, 0) + 1
    tier = {r["id"]: r["tier"] for r in rows}
    weight = {r["id"]: r["sample_weight"] for r in rows}
    mean = {t: np.mean([copies.get(i, 0) for i in tier if tier[i] == t and weight[i] == 1.0])
            for t in ("high", "low")}
    assert mean["high"] == pytest.approx(2.0, abs=0.35) and mean["low"] == pytest.approx(0.5, abs=0.25)
    heavy = np.mean([copies.get(i, 0) for i in tier if tier[i] == "high" and weight[i] == 3.0])
    assert heavy == pytest.approx(6.0, abs=0.01)  # 2 (tier) × 3 (sample_weight): whole copies
    shares = manifest["token_shares"]["tier"]
    assert shares["high"] > 0.7 and shares["high"] + shares["low"] == pytest.approx(1.0, abs=1e-3)
