"""Stage 4: exact and MinHash-LSH near-duplicate removal.

    prepare: the named steps of steps.py (signatures → candidate pairs → components → survivor
             check → assignment → cluster files → precision), each resumable
             → DIR/stage-4/clusters/part-XXXXX.parquet (id, dup_cluster_id, dup_cluster_size, dup_type)
    score:   the partition's rows + their cluster columns
    decide:  drop every row but its cluster's survivor ("exact_duplicate" / "near_duplicate")
"""

from __future__ import annotations

import functools
import math

import pyarrow as pa
import pyarrow.compute as pc

from filters.dedup.cluster_settings import ClusterSettings
from filters.dedup.config import DedupConfig
from filters.dedup.minhash import MinhashParams, bands_for_threshold
from filters.dedup.steps import DedupSteps
from pipeline import io
from pipeline.errors import InputError
from pipeline.stage import Partition, Stage
from pipeline.tables import part_name
from schemas.dedup import SCHEMA, VERSION

DROP_TYPES = ("exact_duplicate", "near_duplicate")


class DedupStage(Stage):
    number = 4
    name = "dedup"
    schema = SCHEMA
    schema_version = VERSION
    settings_model = DedupConfig
    upstream = (3,)

    # ---- configuration -------------------------------------------------------------------
    @functools.cached_property
    def params(self) -> MinhashParams:
        s = self.settings
        if s.threshold is not None:
            bands, rows = bands_for_threshold(s.threshold, s.max_perm)
        else:
            bands, rows = s.bands, s.rows
        # with a threshold, the whole permutation budget is hashed: bands × rows feed LSH, and all
        # max_perm values the estimated-Jaccard checks (smaller error, fewer false merges)
        extra = max(s.max_perm - bands * rows, 0) if s.threshold is not None else 0
        return MinhashParams(ngram=s.ngram, bands=bands, rows=rows, seed=s.seed, extra_perm=extra)

    @property
    def target_jaccard(self) -> float:
        """The Jaccard the run deduplicates at: dedup.threshold, else the S-curve's midpoint."""
        threshold = self.settings.threshold
        return threshold if threshold is not None else self.params.implied_threshold

    @property
    def similarity_cut(self) -> float:
        """Estimated-Jaccard cut: 2 standard errors of the estimate below the target, so true
        pairs at the target pass and chance band collisions do not (or dedup.verify_threshold)."""
        if self.settings.verify_threshold is not None:
            return self.settings.verify_threshold
        t = self.target_jaccard
        return max(0.0, t - 2.0 * math.sqrt(t * (1.0 - t) / self.params.num_perm))

    @property
    def verify_threshold(self) -> float | None:
        return self.similarity_cut if self.settings.verify else None

    @property
    def survivor_check(self) -> float | None:
        return self.similarity_cut if self.survivor_check_mode else None

    @property
    def survivor_check_mode(self) -> str | None:
        """"exact" (true Jaccard from the texts), "estimate" (from the signatures) or None (disabled)."""
        mode = self.settings.survivor_check
        return None if mode == "disabled" else mode

    # ---- paths ----------------------------------------------------------------------------
    @property
    def stage_dir(self) -> str:
        return self.ctx.stage_dir(self.number)

    def _path(self, *parts: str) -> str:
        return io.join(self.stage_dir, *parts)

    # ---- global step ----------------------------------------------------------------------
    def cluster_settings(self) -> ClusterSettings:
        exact_check = self.survivor_check_mode == "exact"
        return ClusterSettings(
            exact=self.settings.exact, near=self.settings.near, verify_threshold=self.verify_threshold,
            survivor_check=self.survivor_check, survivor_check_ngram=self.params.ngram if exact_check else None,
            driver_components_max_edges=self.settings.driver_components_max_edges,
            precision_sample=0 if exact_check else self.settings.precision_sample, seed=self.params.seed,
            ngram=self.params.ngram, similarity_cut=self.similarity_cut)

    def prepare(self, engine) -> None:
        """The named steps of steps.py, each resumable, then the figures for the manifest."""
        done = self._path("clusters", "_done.json")
        if io.exists(done):
            return
        inputs = {p.index: p.inputs[0] for p in self.partitions()}
        if inputs:
            stats = DedupSteps(self.stage_dir, inputs, self.params, self.cluster_settings(),
                               list(self.settings.tier_order), engine).run()
        else:
            stats = {"documents": 0}
        stats.pop("partition_rows", None)
        stats["params"] = {"ngram": self.params.ngram, "bands": self.params.bands, "rows": self.params.rows,
                           "num_perm": self.params.num_perm, "target_jaccard": round(self.target_jaccard, 4),
                           "verify_threshold": None if self.verify_threshold is None
                           else round(self.verify_threshold, 4),
                           "survivor_check": None if self.survivor_check is None
                           else round(self.survivor_check, 4),
                           "survivor_check_mode": self.survivor_check_mode}
        io.write_json_atomic(self._path("_stats.json"), stats)
        io.remove(self._path("_work"), recursive=True)
        io.write_json_atomic(done, {"partitions": len(inputs)})

    # ---- per partition --------------------------------------------------------------------
    def score(self, part: Partition) -> pa.Table:
        table = self.read_documents(part.inputs[0])
        clusters = io.read_parquet(self._path("clusters", part_name(part.index)))
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
        return {"dedup": {**io.read_json(self._path("_stats.json")), "cluster_sizes": self._cluster_sizes()}}

    def _cluster_sizes(self) -> dict[str, int]:
        """Clusters by size ("1", "2", "3-4", "5-8", …), from the clusters files' size column."""
        rows_by_size: dict[int, int] = {}
        for name in sorted(io.listdir(self._path("clusters"))):
            if name.endswith(".parquet"):
                sizes = io.read_parquet(self._path("clusters", name), ["dup_cluster_size"]).column(0)
                for row in pc.value_counts(sizes).to_pylist():
                    rows_by_size[row["values"]] = rows_by_size.get(row["values"], 0) + row["counts"]
        bins: dict[int, int] = {}
        for size, rows in rows_by_size.items():  # a cluster of size s has s rows
            top = 1 << max(0, int(size) - 1).bit_length()
            bins[top] = bins.get(top, 0) + rows // int(size)
        return {(str(top) if top <= 2 else f"{top // 2 + 1}-{top}"): n for top, n in sorted(bins.items())}
