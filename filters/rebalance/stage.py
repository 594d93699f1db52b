"""Stage 5: embeddings, hierarchical k-means, cluster and domain caps, topic/format, knowledge.

    prepare (global, resumable; see steps.py):
      embed      a Ray actor pool embeds every partition → DIR/embeddings/<model>-c<chars>-p<n>/ (float16)
      rows       per partition on the engine: id, tier, score, host, registered domain, bytes,
                 knowledge density, topic and format → small arrays for the driver
      kmeans     hierarchical faiss k-means of the document vectors (or assignment to saved centroids)
                 → DIR/embeddings/<…>/kmeans-…/ (the tree, reusable; each row's leaf)
      select     best-first order; SemDeDup, cluster caps, host/domain caps
      knowledge  inventory → faiss search over every passage → coverage, score, flag
      → DIR/stage-5/decisions/part-*.parquet (every input row, in order) and _stats.json
    score:  the partition's rows with their decision columns; knowledge rows also go to
            DIR/stage-5/knowledge/part-*.parquet (the subset for mixing)
    decide: mode drop: the cap that drops the row ("cluster_cap", "semdedup", "host_cap",
            "domain_cap"); mode weight: keep every row, `rebalance_weight` says which stage 8 samples

Embeddings and clusters live outside DIR/stage-5/, so a `--force` re-run with other caps,
thresholds or an other inventory re-decides in seconds, without re-embedding or re-clustering.
"""

from __future__ import annotations

import functools

import pyarrow as pa

from filters.rebalance.config import RebalanceConfig
from filters.rebalance.steps import RebalanceSteps
from pipeline import io
from pipeline.errors import InputError
from pipeline.stage import Partition, Stage
from pipeline.tables import part_name
from schemas import rebalance as rebalance_schema


class RebalanceStage(Stage):
    number = 5
    name = "rebalance"
    schema = rebalance_schema.SCHEMA
    schema_version = rebalance_schema.VERSION
    settings_model = RebalanceConfig
    upstream = (4,)

    @property
    def stage_dir(self) -> str:
        return self.ctx.stage_dir(self.number)

    def _path(self, *parts: str) -> str:
        return io.join(self.stage_dir, *parts)

    @functools.cached_property
    def steps(self) -> RebalanceSteps:
        inputs = {p.index: p.inputs[0] for p in self.partitions()}
        return RebalanceSteps(self.ctx, self.settings, inputs, self.stage_dir)

    def prepare(self, engine) -> None:
        if io.exists(self._path("decisions", "_done.json")):
            return
        stats = self.steps.run(engine)
        io.write_json_atomic(self._path("_stats.json"), stats)
        io.write_json_atomic(self._path("decisions", "_done.json"), {"partitions": len(self.steps.inputs)})

    def score(self, part: Partition) -> pa.Table:
        table = self.read_documents(part.inputs[0])
        decisions = io.read_parquet(self._path("decisions", part_name(part.index)))
        if decisions.num_rows != table.num_rows or not decisions.column("id").equals(
                table.column("id").cast(pa.string())):
            raise InputError(f"rebalance: decisions of partition {part.index} do not match its input "
                             f"{part.inputs[0]} (was the input changed? re-run with --force)")
        for name in decisions.column_names[1:]:
            if name in table.column_names:
                table = table.drop_columns([name])
            table = table.append_column(name, decisions.column(name))
        knowledge = table.filter(table.column("knowledge"))
        io.write_parquet_atomic(self._path("knowledge", part_name(part.index)), knowledge)
        return table

    def decide(self, table: pa.Table) -> pa.Array:
        if self.settings.mode == "weight":
            return pa.nulls(table.num_rows, pa.string())
        return table.column("rebalance_reason").combine_chunks()

    def finish(self, engine) -> dict:
        stats = io.read_json(self._path("_stats.json"))
        folder = self._path("knowledge")
        files = sorted(n for n in io.listdir(folder) if n.endswith(".parquet"))
        rows = sum(io.read_parquet(io.join(folder, n), ["id"]).num_rows for n in files)
        stats.setdefault("knowledge", {"enabled": False})["subset"] = {"path": "stage-5/knowledge", "files": len(files),
                                                                      "rows": rows}
        return {"rebalance": stats}
