"""Stage 8 — tokenized parquet shards with meta headers and loss masks, for the trainer.

prepare(): one engine map over the input files collects light metadata (id, source, tier,
content_type, kind, text bytes, a tokens-per-byte calibration) and the driver writes the plan:
mixture copies, a seeded global shuffle, shards of about `tokenize.shard_tokens` tokens.
Each partition is then one shard: gather its rows, run the decontamination gate, build headers,
encode, mask, optionally pack to `tokenize.seq_len`, and return the rows (the runner writes
`part-XXXXX.parquet` = the shard and commits it). finish() writes `_index.json`.
"""

from __future__ import annotations

import functools
from collections import defaultdict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from filters import decontam
from filters.tokenize.config import TokenizeConfig
from filters.tokenize.encode import HeaderPolicy, build_headers, encode_documents, pack
from filters.tokenize.plan import WEIGHTED_COLUMNS, make_plan
from filters.tokenize.tokenizer import ENDOFTEXT, load_tokenizer
from pipeline import io
from pipeline.errors import ConfigError, InputError
from pipeline.stage import Partition, Stage
from pipeline.tables import part_name, read_documents
from schemas.tokenize import INPUT_COLUMNS, SCHEMA, VERSION

WEB_STAGES = (5, 4, 3)
CALIBRATION_BYTES = 64_000
INDEX_KEYS = ("source", "tier", "language", "content_type")
STRING = pa.string()


def _file_metadata(tokenizer_setting: str, markers: tuple[str, ...], weight_columns: tuple[str, ...],
                   item: tuple[int, str]) -> bytes:
    """Per input file: the planning columns, text bytes and a tokens-per-byte estimate (IPC bytes)."""
    file_index, path = item
    columns = {c: INPUT_COLUMNS[c] for c in ("id", "text", *WEIGHTED_COLUMNS)}
    table = read_documents(path, columns={**columns, **{c: pa.float64() for c in weight_columns}})
    text = table.column("text").fill_null("")
    n_bytes = pc.binary_length(text.cast(pa.binary())).to_numpy().astype(np.int64)
    sample, size = [], 0
    for value in text.to_pylist():
        if size >= CALIBRATION_BYTES:
            break
        sample.append(value[:CALIBRATION_BYTES])
        size += len(sample[-1].encode())
    tokens = sum(map(len, load_tokenizer(tokenizer_setting, markers).encode_batch(sample)))
    ratio = tokens / size if size else 0.25
    meta = table.drop_columns(["text"]).append_column("n_bytes", pa.array(n_bytes))
    meta = meta.append_column("file", pa.array(np.full(meta.num_rows, file_index, np.int32)))
    meta = meta.append_column("row", pa.array(np.arange(meta.num_rows, dtype=np.int64)))
    meta = meta.append_column("ratio", pa.array(np.full(meta.num_rows, ratio)))
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, meta.schema) as writer:
        writer.write_table(meta)
    return sink.getvalue().to_pybytes()


class TokenizeStage(Stage):
    number = 8
    name = "tokenize"
    schema = SCHEMA
    schema_version = VERSION
    settings_model = TokenizeConfig
    config_sections = ("tokenize", "github.benchmarks")

    # --- configuration -------------------------------------------------------------------------
    @property
    def policy(self) -> HeaderPolicy:
        return HeaderPolicy.from_settings(self.settings.header)

    def upstream_files(self) -> list[str]:
        """The latest web stage (5, else 4, else 3), then code (6) and GitHub (7) when finished."""
        files: list[str] = []
        web = next((n for n in WEB_STAGES if self.ctx.stage_finished(n)), None)
        for number in ([web] if web else []) + [6, 7]:
            if self.ctx.stage_finished(number):
                files.extend(self.ctx.stage_parts(number))
        if not files:
            raise InputError(
                f"tokenize: nothing to read in {self.ctx.run_dir} (no finished stage 3/4/5, 6 or 7) "
                "and tokenize.inputs is not set")
        return files

    def weight_columns(self) -> tuple[str, ...]:
        """tokenize.mixture.weight_columns, without rebalance_weight when this run's stage 5 limits
        its weights to phases (rebalance.phases) that do not include this profile."""
        columns = tuple(self.settings.mixture.weight_columns)
        manifest = io.join(self.ctx.stage_dir(5), "_manifest.json")
        if "rebalance_weight" in columns and io.exists(manifest):
            phases = (io.read_json(manifest).get("rebalance") or {}).get("phases")
            if phases is not None and self.settings.mixture.profile not in phases:
                columns = tuple(c for c in columns if c != "rebalance_weight")
        return columns

    def _plan_dir(self) -> str:
        return io.join(self.ctx.stage_dir(self.number), "_plan")

    # --- global planning -----------------------------------------------------------------------
    def prepare(self, engine) -> None:
        """Write the plan once (a resumed run reuses it; it is deterministic anyway)."""
        self.benchmark_files = self._benchmark_files()  # in the driver: workers get the resolved paths
        done = io.join(self._plan_dir(), "plan.json")
        if io.exists(done):
            return
        tokenizer = load_tokenizer(self.settings.tokenizer, self.policy.markers())
        if self.settings.append_eos and tokenizer.special_id(ENDOFTEXT) is None:
            raise ConfigError(f"tokenize.append_eos: tokenizer {tokenizer.name} has no {ENDOFTEXT} token")
        files = self.input_files()
        fn = functools.partial(_file_metadata, self.settings.tokenizer, self.policy.markers(),
                               self.weight_columns())
        blobs = engine.map(fn, list(enumerate(files)))
        meta = pa.concat_tables([pa.ipc.open_stream(b).read_all() for b in blobs])
        header_tokens = 24 if self.policy.enabled else 0
        est = np.ceil(meta.column("n_bytes").to_numpy() * meta.column("ratio").to_numpy()) + header_tokens + 1
        meta = meta.append_column("est_tokens", pa.array(est.astype(np.int64)))
        plan = make_plan(meta, self.settings.mixture, self.ctx.seed, self.settings.shard_tokens)
        n_shards = int(pc.max(plan.column("shard")).as_py()) + 1 if plan.num_rows else 0
        shard = plan.column("shard").to_numpy()
        for index in range(n_shards):
            rows = plan.filter(pa.array(shard == index))
            io.write_parquet_atomic(io.join(self._plan_dir(), f"shard-{index:05d}.parquet"), rows)
        io.write_json_atomic(done, {"inputs": files, "shards": n_shards, "rows": plan.num_rows,
                                    "documents": meta.num_rows})

    def partitions(self) -> list[Partition]:
        plan = io.read_json(io.join(self._plan_dir(), "plan.json"))
        return [Partition(index=i, inputs=tuple(plan["inputs"])) for i in range(plan["shards"])]

    # --- one shard -----------------------------------------------------------------------------
    def _gather(self, part: Partition) -> tuple[pa.Table, pa.Table]:
        """The shard's plan rows and their input rows, in plan order."""
        plan = io.read_parquet(io.join(self._plan_dir(), f"shard-{part.index:05d}.parquet"))
        files = plan.column("file").to_numpy()
        rows = plan.column("row").to_numpy()
        pieces, order = [], []
        for file_index in np.unique(files):
            picks = np.flatnonzero(files == file_index)
            pieces.append(self.read_documents(part.inputs[file_index], INPUT_COLUMNS, rows[picks]))
            order.append(picks)
        table = pa.concat_tables(pieces)
        position = np.empty(table.num_rows, np.int64)
        position[np.concatenate(order)] = np.arange(table.num_rows)
        return plan, table.take(pa.array(position))

    def score(self, part: Partition) -> pa.Table:
        """One row per planned sample: its tokens, header and the evidence decide() reads.

        Rows the mixture plan dropped are not samples: they keep no tokens.
        """
        plan, table = self._gather(part)
        settings = self.settings
        planned_drop = plan.column("drop")
        samples = np.flatnonzero(pc.is_null(planned_drop).to_numpy(zero_copy_only=False))
        keys = [f"{i}\x00{c}" for i, c in zip(table.column("id").to_pylist(),
                                               plan.column("copy").to_numpy(), strict=True)]
        policy = self.policy
        headers = build_headers(table, policy, self.ctx.seed, keys)
        docs = table.take(pa.array(samples))
        texts, spans = phase_payload(docs, settings.phase)
        tokenizer = load_tokenizer(settings.tokenizer, policy.markers())
        encoded = encode_documents(
            tokenizer, texts, spans if any(spans) else None,
            [headers[i] for i in samples], policy, settings.meta_loss == "masked", settings.append_eos)
        lengths = np.zeros(table.num_rows, np.int64)
        lengths[samples] = encoded.lengths
        header = np.zeros(table.num_rows, np.int64)
        header[samples] = encoded.header_lengths
        encoded.lengths = lengths
        input_ids, loss_mask = encoded.list_arrays()
        scored = table.drop_columns(["text", "no_loss_spans", "chat_text", "chat_no_loss_spans"])  # tokens replace text
        for name, column in (("copy", plan.column("copy")), ("meta", pa.array(headers)),
                             ("decontam_evidence", self._decontaminate(table)),
                             ("input_ids", input_ids), ("loss_mask", loss_mask),
                             ("n_tokens", pa.array(lengths.astype(np.int32))),
                             ("n_header_tokens", pa.array(header.astype(np.int32))),
                             ("n_chars", pc.fill_null(pc.utf8_length(table.column("text")), 0)),
                             ("planned_drop", planned_drop)):
            scored = scored.append_column(name, column)
        return scored

    def _benchmark_files(self) -> tuple[str, ...]:
        """github.benchmarks resolved; a missing or empty list is an error unless the gate is off."""
        if not self.settings.decontam.enabled:
            return ()
        files = decontam.resolve_benchmark_files(self.config.get("github", {}).get("benchmarks"))
        if not files:
            raise ConfigError("github.benchmarks is empty: the decontamination gate would check nothing; "
                              "set tokenize.decontam.enabled=false to run without it")
        return tuple(files)

    def _gate(self) -> decontam.BenchmarkIndex | None:
        files = getattr(self, "benchmark_files", None)
        files = self._benchmark_files() if files is None else files
        gate = self.settings.decontam
        return decontam.cached_index(files, gate.ngram, gate.min_words) if files else None

    def _decontaminate(self, table: pa.Table) -> pa.Array:
        index = self._gate()
        if index is None:
            return pa.nulls(table.num_rows, pa.string())
        return index.check(table.column("text"), table.column("repo"), table.column("number"),
                           table.column("url"))

    def decide(self, table: pa.Table) -> pa.Array:
        """The plan's drop ("mixture"), then "contaminated", then "empty"."""
        reason = pc.if_else(pc.equal(table.column("n_chars"), 0), "empty", None)
        reason = pc.if_else(pc.is_valid(table.column("decontam_evidence")), "contaminated", reason)
        planned = table.column("planned_drop")
        return pc.if_else(pc.is_valid(planned), planned, reason).combine_chunks().cast(pa.string())

    def assemble(self, kept: pa.Table, part: Partition) -> pa.Table:
        """The shard's rows: one per sample, or packed into seq_len rows (tokenize.pack)."""
        kept = kept.drop_columns(["n_chars", "planned_drop"])
        if not self.settings.pack:
            return kept
        return self._packed(kept, self.settings.seq_len, part.index)

    def _packed(self, docs: pa.Table, seq_len: int, shard: int) -> pa.Table:
        """Rows of at most seq_len tokens with the documents they hold; a document continued into
        the next row carries its header again (encode.pack)."""
        ids_column = docs.column("input_ids").combine_chunks()
        lengths = pc.list_value_length(ids_column).to_numpy(zero_copy_only=False).astype(np.int64)
        headers = docs.column("n_header_tokens").to_numpy().astype(np.int64)
        layout = pack(lengths, headers, seq_len)
        take = pa.array(layout["index"])
        offsets = pa.array(layout["row_offsets"].astype(np.int32))
        n_rows = len(layout["row_offsets"]) - 1
        piece_doc, piece_row = layout["piece_doc"], layout["piece_row"]
        piece_offsets = pa.array(np.searchsorted(piece_row, np.arange(n_rows + 1)).astype(np.int32))

        def per_piece(values, kind: pa.DataType = STRING) -> pa.ListArray:
            if isinstance(values, str):
                values = docs.column(values).take(pa.array(piece_doc)).combine_chunks().cast(kind)
            else:
                values = pa.array(values.astype(np.int32))
            return pa.ListArray.from_arrays(piece_offsets, values)

        first = docs.take(pa.array(piece_doc[np.searchsorted(piece_row, np.arange(n_rows))]))
        return pa.table({
            "id": pa.array([f"pack-{shard:05d}-{r:07d}" for r in range(n_rows)], pa.string()),
            "source": first.column("source"), "content_type": first.column("content_type"),
            "tier": first.column("tier"), "language": first.column("language"),
            "meta": first.column("meta"),
            "input_ids": pa.ListArray.from_arrays(offsets, pc.list_flatten(ids_column).take(take)),
            "loss_mask": pa.ListArray.from_arrays(
                offsets, pc.list_flatten(docs.column("loss_mask").combine_chunks()).take(take)),
            "n_tokens": pa.array(np.diff(layout["row_offsets"]).astype(np.int32)),
            "doc_ids": per_piece("id"), "doc_sources": per_piece("source"),
            "doc_tiers": per_piece("tier"), "doc_languages": per_piece("language"),
            "doc_content_types": per_piece("content_type"), "doc_copies": per_piece("copy", pa.int32()),
            "doc_starts": per_piece(layout["piece_start"]), "doc_n_tokens": per_piece(layout["piece_tokens"]),
            "doc_header_tokens": per_piece(layout["piece_header"]),
            "doc_payload_offsets": per_piece(layout["piece_offset"]),
        })

    # --- index ---------------------------------------------------------------------------------
    def finish(self, engine) -> dict:
        """`_index.json`: shard → rows, tokens; token totals by source / tier / language / type."""
        stage_dir = self.ctx.stage_dir(self.number)
        plan = io.read_json(io.join(self._plan_dir(), "plan.json"))
        shards, totals = [], {key: defaultdict(int) for key in INDEX_KEYS}
        for index in range(plan["shards"]):
            name = part_name(index)
            path = io.join(stage_dir, name)
            with io.open_input(path) as fh:
                names = pq.read_schema(fh).names
            packed = "doc_n_tokens" in names
            columns = (["n_tokens", "doc_n_tokens", *map(_doc_column, INDEX_KEYS)] if packed
                       else ["n_tokens", *INDEX_KEYS])
            table = io.read_parquet(path, columns)
            shards.append({"path": name, "rows": table.num_rows,
                           "tokens": int(pc.sum(table.column("n_tokens")).as_py() or 0)})
            if packed:
                counts = pc.list_flatten(table.column("doc_n_tokens")).to_numpy()
                groups = {k: pc.list_flatten(table.column(_doc_column(k))).to_pylist() for k in INDEX_KEYS}
            else:
                counts = table.column("n_tokens").to_numpy()
                groups = {k: table.column(k).to_pylist() for k in INDEX_KEYS}
            for key in INDEX_KEYS:
                for value, count in zip(groups[key], counts.tolist(), strict=True):
                    totals[key][str(value) if value is not None else "unknown"] += int(count)
        index = {
            "tokenizer": self.settings.tokenizer,
            "seq_len": self.settings.seq_len, "packed": self.settings.pack,
            "shards": shards, "total_rows": sum(s["rows"] for s in shards),
            "total_tokens": sum(s["tokens"] for s in shards),
            "tokens_by": {k: dict(sorted(v.items())) for k, v in totals.items()},
        }
        io.write_json_atomic(io.join(stage_dir, "_index.json"), index)
        gate = self._gate()
        extra = {"total_tokens": index["total_tokens"], "shards": len(shards),
                 "input_documents": plan.get("documents"),
                 "token_shares": {key: {value: round(count / max(index["total_tokens"], 1), 4)
                                        for value, count in index["tokens_by"][key].items()}
                                  for key in ("tier", "source")},
                 "decontam": gate.summary() if gate else {"enabled": False}}
        if self.settings.pack:
            extra["packed_rows"] = index["total_rows"]
        return extra


def phase_payload(docs: pa.Table, phase: str) -> tuple[list[str], list]:
    """The text and no-loss spans to encode: stage 7 stores both phases' renderings (schemas/github.py);
    midtrain takes the chat dialogue where a row has one, every other row keeps its text."""
    text, spans = docs.column("text"), docs.column("no_loss_spans")
    if phase == "midtrain":
        chat = pc.is_valid(docs.column("chat_text"))
        text = pc.if_else(chat, docs.column("chat_text"), text)
        spans = pc.if_else(chat, docs.column("chat_no_loss_spans"), spans)
    return text.fill_null("").to_pylist(), spans.to_pylist()


def _doc_column(key: str) -> str:
    return {"source": "doc_sources", "tier": "doc_tiers", "language": "doc_languages",
            "content_type": "doc_content_types"}[key]
