"""Stage 4's global work as named steps, each resumable.

    signatures       per input partition on the workers → _signatures/part-*.parquet
    candidate_pairs  LSH buckets → candidate pairs, one Spark shuffle (candidates.py)
    components       candidate nodes numbered in survivor order; pairs verified; connected components
    survivor_check   a member that does not resemble its survivor itself leaves its cluster
    assignment       cluster rows per input partition (survivor id, size, duplicate type)
    cluster_files    clusters/part-*.parquet: every input row's cluster, in row order
    precision        the true Jaccard of removals with their survivor (census or sample)

A step's outputs go to DIR/stage-4/_work/ (work.py) and its figures to a marker written last, so a
run killed anywhere resumes at the step it was in. The steps after candidate_pairs run in the
driver (driver_path.py) when the candidates are few, else on Spark (spark_path.py): the same rules
and the same result; `components` records which, and the later steps follow it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filters.dedup import candidates, driver_path
from filters.dedup.cluster_settings import ClusterSettings
from filters.dedup.minhash import MinhashParams
from filters.dedup.precision import precision_estimate
from filters.dedup.rules import spark_xxhash64
from filters.dedup.signatures import signature_rows, write_signatures
from filters.dedup.work import WorkDir
from pipeline import io
from pipeline.errors import InputError
from pipeline.log import log
from pipeline.tables import part_name
from schemas.dedup import CLUSTER_FILE_SCHEMA


def _raise_errors(results: list[dict]) -> None:
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        raise InputError(errors[0] + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))


class DedupSteps:
    """The steps of one stage-4 run. `inputs`: input file per partition index."""

    def __init__(self, stage_dir: str, inputs: dict[int, str], params: MinhashParams,
                 settings: ClusterSettings, tier_order: list[str], engine):
        self.stage_dir, self.inputs, self.params = stage_dir, inputs, params
        self.settings, self.tier_order, self.engine = settings, tier_order, engine
        self.work = WorkDir(io.join(stage_dir, "_work"))

    def signature_file(self, part: int) -> str:
        return io.join(self.stage_dir, "_signatures", part_name(part))

    def run(self) -> dict:
        """Every step not finished yet, in order; the figures of all of them."""
        figures: dict = {}
        for name, step in (("signatures", self.signatures), ("candidate_pairs", self.candidate_pairs),
                           ("components", self.components), ("survivor_check", self.survivor_check),
                           ("assignment", self.assignment), ("cluster_files", self.cluster_files),
                           ("precision", lambda: self.precision(figures))):
            figures.update(self._step(name, step))
        figures["unique"] = figures["documents"] - figures.pop("members")
        if not figures["clusters"]:
            figures["largest_cluster"] = min(figures["documents"], 1)
        return figures

    def _step(self, name: str, step: Callable[[], dict]) -> dict:
        done = self.work.finished(name)
        if done is None:
            log("dedup.step", step=name)
            done = step()
            self.work.finish(name, done)
        return done

    # ---- the steps ---------------------------------------------------------------------------
    def signatures(self) -> dict:
        jobs = [{"input": path, "output": self.signature_file(part), "part": part, "params": self.params,
                 "tier_order": self.tier_order} for part, path in sorted(self.inputs.items())]
        log("dedup.signatures", partitions=len(jobs), bands=self.params.bands, rows=self.params.rows)
        _raise_errors(self.engine.map(write_signatures, jobs))
        rows = {part: signature_rows(self.signature_file(part)) for part in sorted(self.inputs)}
        return {"documents": sum(rows.values()), "partition_rows": {str(p): n for p, n in rows.items()}}

    def candidate_pairs(self) -> dict:
        files = [(self.signature_file(part), part) for part in sorted(self.inputs)]
        candidates.candidate_pairs(self.engine.spark(), files, self.work.path("pairs"), self.settings)
        return {}

    def _files(self) -> dict[int, str]:
        return {part: self.signature_file(part) for part in self.inputs}

    def components(self) -> dict:
        pairs = driver_path.read_pairs(self.work.path("pairs"), self.settings.driver_components_max_edges)
        if pairs is not None:
            return {"clustering": "driver", **driver_path.components(pairs, self._files(), self.work, self.settings)}
        from filters.dedup import spark_path

        return {"clustering": "spark",
                **spark_path.components(self.engine.spark(), self.work, self._files(), self.settings)}

    def _on_spark(self) -> bool:
        return self.work.finished("components")["clustering"] == "spark"

    def survivor_check(self) -> dict:
        if self._on_spark():
            from filters.dedup import spark_path

            return spark_path.survivor_check(self.engine.spark(), self.work, self.inputs, self.settings)
        return driver_path.survivor_check(self.work, self.inputs, self.settings)

    def assignment(self) -> dict:
        if self._on_spark():
            from filters.dedup import spark_path

            return spark_path.assignment(self.engine.spark(), self.work)
        return driver_path.assignment(self.work)

    def cluster_files(self) -> dict:
        rows = self.work.finished("signatures")["partition_rows"]
        jobs = [{"assign": self.work.path("assign", f"part={part}"), "part": part, "rows": rows[str(part)],
                 "signatures": self.signature_file(part),
                 "output": io.join(self.stage_dir, "clusters", part_name(part))} for part in sorted(self.inputs)]
        _raise_errors(self.engine.map(write_cluster_file, jobs))
        return {}

    def precision(self, figures: dict) -> dict:
        """A census when the exact survivor check measured every removal, else a sample."""
        if "precision" in figures:
            return {}
        pairs = removed_sample(self.work.read_assignment(), self.settings.precision_sample, self.settings.seed)
        return {"precision": precision_estimate(pairs, [self.inputs[p] for p in sorted(self.inputs)],
                                                self.settings.ngram, self.settings.similarity_cut,
                                                self.settings.tokens)}


def removed_sample(members: pa.Table | None, size: int, seed: int) -> list[dict]:
    """A deterministic sample of near-duplicate rows with where their survivor is: the first `size`
    by (xxhash64 of the id, id, part, row)."""
    if size <= 0 or members is None:
        return []
    removed = members.filter(pc.equal(members.column("dup_type"), "near_duplicate")).to_pylist()
    picked = sorted(removed, key=lambda r: (spark_xxhash64(r["id"], seed), r["id"], r["part"], r["row"]))[:size]
    survivors = {r["id"]: r for r in members.filter(pc.equal(members.column("dup_type"), "survivor")).to_pylist()}
    return [{"id": r["id"], "part": r["part"], "row": r["row"], "survivor_part": survivors[r["dup_cluster_id"]]["part"],
             "survivor_row": survivors[r["dup_cluster_id"]]["row"]} for r in picked]


def write_cluster_file(job: dict) -> dict:
    """One partition's clusters file, in row order: the assignment's rows for cluster members,
    every other row unique (its own cluster of one)."""
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
