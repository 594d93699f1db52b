"""Stage 4: exact and MinHash-LSH near-duplicate removal.

    prepare: signatures per partition (engine.map, numba) → LSH buckets (one Spark shuffle) →
             verification + connected components (driver or Spark, see clusters.py)
             → DIR/stage-4/clusters/part-XXXXX.parquet (id, dup_cluster_id, dup_cluster_size, dup_type)
    score:   the partition's rows + their cluster columns
    decide:  drop every row but its cluster's survivor ("exact_duplicate" / "near_duplicate")
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filters.dedup.minhash import MinhashParams, bands_for_threshold
from filters.dedup.signatures import signature_rows, write_signatures
from pipeline import io
from pipeline.errors import ConfigError, InputError
from pipeline.log import log
from pipeline.stage import Partition, Stage
from schemas.base import DOC_FIELDS
from schemas.dedup import CLUSTER_FILE_SCHEMA, SCHEMA, VERSION

DROP_TYPES = ("exact_duplicate", "near_duplicate")


def _write_cluster_part(job: dict) -> dict:
    """One partition's clusters file, in row order: Spark's rows for cluster members, every other
    row unique (its own cluster of one)."""
    if io.exists(job["output"]):
        return {"rows": -1}
    ids = io.read_parquet(job["signatures"], columns=["row", "id"])
    if ids.num_rows != job["rows"] or not np.array_equal(ids.column("row").to_numpy(), np.arange(ids.num_rows)):
        return {"error": f"dedup: signatures of partition {job['part']} do not cover its {job['rows']} rows"}
    folder = job["assign"]
    files = [io.join(folder, n) for n in io.listdir(folder) if n.endswith(".parquet")] if io.exists(folder) else []
    members = pa.concat_tables([io.read_parquet(f, columns=["row", *CLUSTER_FILE_SCHEMA.names[1:]])
                                for f in files]) if files else None
    own_id = ids.column("id").combine_chunks()
    columns = {"id": own_id, "dup_cluster_id": own_id,
               "dup_cluster_size": pa.array(np.ones(ids.num_rows, dtype=np.int64)),
               "dup_type": pa.array(np.full(ids.num_rows, "unique", dtype=object), pa.string())}
    if members is not None and members.num_rows:
        rows = members.column("row").to_numpy()
        position = np.full(ids.num_rows, -1, dtype=np.int64)
        position[rows] = np.arange(len(rows))
        is_member = pa.array(position >= 0)
        take = pa.array(np.maximum(position, 0))
        for name in ("dup_cluster_id", "dup_cluster_size", "dup_type"):
            values = members.column(name).combine_chunks().take(take)
            columns[name] = pc.if_else(is_member, values, columns[name])
    io.write_parquet_atomic(job["output"], pa.table(columns).cast(CLUSTER_FILE_SCHEMA))
    return {"rows": ids.num_rows}


def _with_document_fields(table: pa.Table) -> pa.Table:
    """A `dedup.input` table needs only id and text: the other document fields are added empty."""
    for field in DOC_FIELDS:
        if field.name not in table.column_names:
            value = "table" if field.name == "source" else None
            table = table.append_column(field.name, pa.array([value] * table.num_rows, field.type))
    return table


def _raise_errors(results: list[dict]) -> None:
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        raise InputError(errors[0] + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))


class DedupStage(Stage):
    number = 4
    name = "dedup"
    schema = SCHEMA
    schema_version = VERSION

    # ---- configuration -------------------------------------------------------------------
    @functools.cached_property
    def params(self) -> MinhashParams:
        s = self.settings
        threshold = s["threshold"]
        if threshold is not None:
            if not 0.0 < float(threshold) < 1.0:
                raise ConfigError(f"config key 'dedup.threshold' must be in (0, 1), got {threshold}")
            bands, rows = bands_for_threshold(float(threshold), int(s["max_perm"]))
        else:
            bands, rows = int(s["bands"]), int(s["rows"])
        if bands < 1 or rows < 1 or int(s["ngram"]) < 1:
            raise ConfigError("config keys 'dedup.bands', 'dedup.rows', 'dedup.ngram' must be ≥ 1")
        # with a threshold, the whole permutation budget is hashed: bands × rows feed LSH, and all
        # max_perm values the estimated-Jaccard checks (smaller error, fewer false merges)
        extra = max(int(s["max_perm"]) - bands * rows, 0) if threshold is not None else 0
        return MinhashParams(ngram=int(s["ngram"]), bands=bands, rows=rows, seed=int(s["seed"]), extra_perm=extra)

    @property
    def target_jaccard(self) -> float:
        """The Jaccard the run deduplicates at: dedup.threshold, else the S-curve's midpoint."""
        threshold = self.settings["threshold"]
        return float(threshold) if threshold is not None else self.params.implied_threshold

    @property
    def similarity_cut(self) -> float:
        """Estimated-Jaccard cut: 2 standard errors of the estimate below the target, so true
        pairs at the target pass and chance band collisions do not (or dedup.verify_threshold)."""
        if self.settings["verify_threshold"] is not None:
            return float(self.settings["verify_threshold"])
        t = self.target_jaccard
        return max(0.0, t - 2.0 * math.sqrt(t * (1.0 - t) / self.params.num_perm))

    @property
    def verify_threshold(self) -> float | None:
        return self.similarity_cut if self.settings["verify"] else None

    @property
    def survivor_check(self) -> float | None:
        return self.similarity_cut if self.survivor_check_mode else None

    @property
    def survivor_check_mode(self) -> str | None:
        """"exact" (true Jaccard from the texts), "estimate" (from the signatures) or None (disabled)."""
        mode = self.settings["survivor_check"]
        if mode not in ("exact", "estimate", "disabled"):
            raise ConfigError(f"config key 'dedup.survivor_check' must be exact, estimate or disabled, got {mode!r}")
        return None if mode == "disabled" else mode

    # ---- paths ----------------------------------------------------------------------------
    @property
    def stage_dir(self) -> str:
        return self.ctx.stage_dir(self.number)

    def _path(self, *parts: str) -> str:
        return io.join(self.stage_dir, *parts)

    def inputs(self) -> list[str]:
        if self.settings["input"]:
            return io.expand_inputs(self.settings["input"], "dedup.input")
        return self.ctx.stage_parts(3)

    def partitions(self) -> list[Partition]:
        return [Partition(index=i, inputs=(path,)) for i, path in enumerate(self.inputs())]

    # ---- global step ----------------------------------------------------------------------
    def prepare(self, engine) -> None:
        done = self._path("clusters", "_done.json")
        if io.exists(done):
            return
        parts = self.partitions()
        if not parts:
            io.write_json_atomic(self._path("_stats.json"), {"documents": 0})
            io.write_json_atomic(done, {"partitions": 0})
            return
        jobs = [{"input": p.inputs[0], "output": self._path("_signatures", f"part-{p.index:05d}.parquet"),
                 "part": p.index, "params": self.params, "tier_order": list(self.settings["tier_order"])}
                for p in parts]
        log("dedup.signatures", partitions=len(jobs), bands=self.params.bands, rows=self.params.rows)
        _raise_errors(engine.map(write_signatures, jobs))
        row_counts = {p.index: signature_rows(job["output"]) for p, job in zip(parts, jobs, strict=True)}

        from filters.dedup.clusters import ClusterSettings, cluster
        from filters.dedup.precision import precision_estimate

        spark = engine.spark()
        work = self._path("_work")
        settings = ClusterSettings(exact=bool(self.settings["exact"]),
                                   near=bool(self.settings["near"]), verify_threshold=self.verify_threshold,
                                   survivor_check=self.survivor_check,
                                   survivor_check_ngram=self.params.ngram if self.survivor_check_mode == "exact"
                                   else None,
                                   driver_components_max_edges=int(self.settings["driver_components_max_edges"]))
        log("dedup.cluster", documents=sum(row_counts.values()))
        sample = 0 if self.survivor_check_mode == "exact" else int(self.settings["precision_sample"])
        stats, pairs = cluster(spark, [(job["output"], p.index) for p, job in zip(parts, jobs, strict=True)],
                               {p.index: p.inputs[0] for p in parts}, sum(row_counts.values()), work, settings,
                               (sample, self.params.seed))
        cluster_jobs = [{"assign": io.join(work, "assign", f"part={p.index}"), "part": p.index,
                         "rows": row_counts[p.index], "signatures": job["output"],
                         "output": self._path("clusters", f"part-{p.index:05d}.parquet")}
                        for p, job in zip(parts, jobs, strict=True)]
        _raise_errors(engine.map(_write_cluster_part, cluster_jobs))

        if "precision" not in stats:  # the exact survivor check measured every removal already
            stats["precision"] = precision_estimate(pairs, [p.inputs[0] for p in parts], self.params.ngram,
                                                    self.similarity_cut)
        stats["params"] = {"ngram": self.params.ngram, "bands": self.params.bands, "rows": self.params.rows,
                           "num_perm": self.params.num_perm, "target_jaccard": round(self.target_jaccard, 4),
                           "verify_threshold": None if self.verify_threshold is None
                           else round(self.verify_threshold, 4),
                           "survivor_check": None if self.survivor_check is None
                           else round(self.survivor_check, 4),
                           "survivor_check_mode": self.survivor_check_mode}
        io.write_json_atomic(self._path("_stats.json"), stats)
        io.remove(work, recursive=True)
        io.write_json_atomic(done, {"partitions": len(parts)})

    # ---- per partition --------------------------------------------------------------------
    def score(self, part: Partition) -> pa.Table:
        table = _with_document_fields(io.read_parquet(part.inputs[0]))
        clusters = io.read_parquet(self._path("clusters", f"part-{part.index:05d}.parquet"))
        if clusters.num_rows != table.num_rows or not clusters.column("id").equals(
                table.column("id").cast(pa.string())):
            raise InputError(f"dedup: clusters of partition {part.index} do not match its input "
                             f"{part.inputs[0]} (was the input changed? re-run with --force)")
        for name in ("dup_cluster_id", "dup_cluster_size", "dup_type"):
            if name in table.column_names:
                table = table.drop_columns([name])
            table = table.append_column(name, clusters.column(name))
        return table

    def decide(self, table: pa.Table) -> pa.Array:
        kind = table.column("dup_type")
        drop = pc.is_in(kind, value_set=pa.array(DROP_TYPES))
        return pc.if_else(drop, kind, pa.scalar(None, pa.string())).combine_chunks()

    def finish(self, engine) -> dict:
        return {"dedup": io.read_json(self._path("_stats.json"))}
