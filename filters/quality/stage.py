"""Stage 3: score every document with six scorers, bin into tiers, keep by content type.

    prepare: calibrate token-weighted cut points on a sample (saved, re-used on re-run)
    score:   rule scorers + model scorers → quality_scores; stored for every row (Dolma-style
             attributes in DIR/quality-scores/) → buckets → ensemble bucket → tier
    decide:  keep rule per (profile, content_type), optional hard rules, domain cap

`quality.rethreshold: true` re-reads the stored scores instead of running any scorer, so changed
tier ranges, keep rules or ensemble method apply in seconds. The scores and the calibration live
outside DIR/stage-3/ so that `--force` (which clears the stage folder) keeps them.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filters.quality import ensemble
from filters.quality.config import QualityConfig
from filters.quality.scorers import SCORERS, score_texts
from filters.registry import Registry
from pipeline import io
from pipeline.errors import ConfigError, InputError
from pipeline.stage import Partition, Stage
from pipeline.tables import part_name
from schemas import quality as quality_schema


class QualityStage(Stage):
    number = 3
    name = "quality"
    schema = quality_schema.SCHEMA
    schema_version = quality_schema.VERSION
    settings_model = QualityConfig
    upstream = (2,)
    # the report: buckets per scorer (a histogram on the calibrated cut points), documents per tier
    profile_columns = (*Stage.profile_columns, "quality_buckets")
    sample_columns = ("tier",)

    # ------------------------------------------------------------------ inputs
    @property
    def scores_dir(self) -> str:
        return io.join(self.ctx.run_dir, "quality-scores")

    @property
    def calibration_path(self) -> str:
        return io.join(self.scores_dir, "_calibration.json")

    def scorers(self) -> list[str]:
        """The scorers the ensemble combines (checked against the registry)."""
        Registry.import_modules(self.settings.scorer_modules, "quality.scorer_modules")
        SCORERS.check(self.settings.scorers)
        return list(self.settings.scorers)

    # ------------------------------------------------------------------ calibration
    def prepare(self, engine) -> None:
        self.scorers()
        if self.settings.rethreshold:
            if not io.exists(self.calibration_path):
                raise InputError(f"quality.rethreshold: no stored scores in {self.scores_dir}; run stage 3 first")
            return
        if io.exists(self.calibration_path) and not self.settings.calibration.recalibrate:
            return
        paths = self.input_files()
        per_file = max(1, math.ceil(self.settings.calibration.sample_rows / max(len(paths), 1)))
        settings, scorers = self.settings, self.scorers()
        read = self.read_documents

        def calibrate_one(path: str) -> dict:
            Registry.import_modules(settings.scorer_modules, "quality.scorer_modules")
            table = read(path, {"text": pa.string()}).slice(0, per_file)
            texts = table.column("text").to_pylist()
            scores, _ = score_texts(texts, settings)
            weights = pc.binary_length(pc.cast(table.column("text"), pa.binary())).to_numpy(zero_copy_only=False)
            return {"scores": {k: v.tolist() for k, v in scores.items()}, "weights": weights.tolist()}

        parts = engine.map(calibrate_one, paths)
        weights = np.concatenate([np.asarray(p["weights"], dtype=np.float64) for p in parts]) if parts else np.zeros(0)
        if len(weights) == 0:
            raise InputError("quality: no input rows to calibrate on")
        names = sorted(parts[0]["scores"])
        sample = {name: np.concatenate([np.asarray(p["scores"][name], dtype=np.float64) for p in parts])
                  for name in names}
        cut_points = {name: ensemble.weighted_cut_points(sample[name], weights) for name in names}
        per_scorer = np.stack([ensemble.buckets(sample[n], cut_points[n]) for n in scorers], axis=1)
        # mean and vote are re-calibrated so ensemble buckets again hold ≈5% of tokens each
        ensemble_cut_points = {method: ensemble.weighted_cut_points(ensemble.combine(per_scorer, method), weights)
                               for method in ("mean", "vote")}
        calibration = {"cut_points": cut_points, "ensemble_cut_points": ensemble_cut_points,
                       "sample_rows": int(len(weights)), "scorers": scorers}
        if self.settings.domain_cap > 0:
            calibration["domain_keep"] = self._domain_keep(engine, paths)
        io.write_json_atomic(self.calibration_path, calibration)

    def _domain_keep(self, engine, paths: list[str]) -> dict[str, float]:
        """Keep fraction per domain so that no domain holds more than domain_cap of the kept bytes."""
        read = self.read_documents

        def domain_bytes(path: str) -> dict[str, int]:
            table = read(path)
            domains = _domains(table)
            sizes = pc.binary_length(pc.cast(table.column("text"), pa.binary())).to_numpy(zero_copy_only=False)
            out: dict[str, int] = {}
            for domain, size in zip(domains, sizes.tolist(), strict=True):
                out[domain] = out.get(domain, 0) + int(size)
            return out

        totals: dict[str, int] = {}
        for part in engine.map(domain_bytes, paths):
            for domain, size in part.items():
                totals[domain] = totals.get(domain, 0) + size
        budget = capped_domain_bytes(totals, self.settings.domain_cap)
        return {d: budget / s for d, s in sorted(totals.items()) if s > budget}

    def _calibration(self) -> dict:
        if not hasattr(self, "_cached_calibration"):
            self._cached_calibration = io.read_json(self.calibration_path)
        return self._cached_calibration

    # ------------------------------------------------------------------ score
    def score(self, part: Partition) -> pa.Table:
        stored = io.join(self.scores_dir, part_name(part.index))
        if self.settings.rethreshold:
            if not io.exists(stored):
                raise InputError(f"quality.rethreshold: {stored} is missing; run stage 3 without it first")
            table = io.read_parquet(stored)
        else:
            Registry.import_modules(self.settings.scorer_modules, "quality.scorer_modules")
            table = self.read_documents(part.inputs[0])
            for name in ("quality_scores", "quality_buckets", "quality_bucket", "tier",
                         "rule_failures", "sample_weight"):
                if name in table.column_names:
                    table = table.drop_columns([name])
            texts = table.column("text").to_pylist()
            scores, failures = score_texts(texts, self.settings)
            names = sorted(scores)
            table = table.append_column("quality_scores", pa.array(
                [[(n, float(scores[n][i])) for n in names] for i in range(len(texts))],
                pa.map_(pa.string(), pa.float64())))
            table = table.append_column("rule_failures", pa.array(failures, pa.list_(pa.string())))
            io.write_parquet_atomic(stored, table)
        return self._add_tiers(table)

    def _add_tiers(self, table: pa.Table) -> pa.Table:
        """Buckets, ensemble bucket, tier and sample weight from stored scores + calibration + config."""
        cut_points = self._calibration()["cut_points"]
        scorers = self.scorers()
        stored = table.column("quality_scores").to_pylist()
        n = table.num_rows
        per_scorer = np.zeros((n, len(scorers)), dtype=np.int32)
        for j, name in enumerate(scorers):
            if name not in cut_points:
                raise InputError(f"quality: no calibration for scorer {name!r}; set quality.calibration.recalibrate")
            values = np.array([dict(row).get(name, np.nan) for row in stored], dtype=np.float64)
            per_scorer[:, j] = ensemble.buckets(np.nan_to_num(values, nan=-np.inf), cut_points[name])
        bucket = self._ensemble_bucket(per_scorer, scorers)
        tiers = ensemble.tier_of(bucket, self.settings.tiers)
        stem = np.array([dict(row).get("stem", 0.0) for row in stored], dtype=np.float64)
        weight = np.where(stem >= self.settings.stem_threshold, self.settings.stem_weight, 1.0)
        for name in ("quality_buckets", "quality_bucket", "tier", "sample_weight"):
            if name in table.column_names:
                table = table.drop_columns([name])
        table = table.append_column("quality_buckets", pa.array(
            [[(s, int(per_scorer[i, j])) for j, s in enumerate(scorers)] for i in range(n)],
            pa.map_(pa.string(), pa.int32())))
        table = table.append_column("quality_bucket", pa.array(bucket, pa.int32()))
        table = table.append_column("tier", pa.array(tiers.tolist(), pa.string()))
        return table.append_column("sample_weight", pa.array(weight, pa.float64()))

    def _ensemble_bucket(self, per_scorer: np.ndarray, scorers: list[str]) -> np.ndarray:
        method = self.settings.ensemble
        combined = ensemble.combine(per_scorer, method)
        if method == "max":  # Nemotron-CC: the max of the integer buckets, as is
            return combined.astype(np.int32)
        calibration = self._calibration()
        if calibration.get("scorers") != scorers:
            raise ConfigError("quality.scorers differ from the calibrated ones; set "
                              "quality.calibration.recalibrate=true")
        return ensemble.buckets(combined, calibration["ensemble_cut_points"][method])

    # ------------------------------------------------------------------ decide
    def keep_tiers(self, content_type: str | None) -> set[str]:
        profile = self.settings.profile
        for rule in self.settings.keep_overrides:
            if rule.get("profile", "*") in ("*", profile) and \
                    str(rule.get("content_type", "*")).lower() in ("*", str(content_type).lower()):
                return set(rule["tiers"])
        return set(self.settings.keep_tiers)

    def decide(self, table: pa.Table) -> pa.Array:
        tiers = table.column("tier").to_pylist()
        types = table.column("content_type").to_pylist() if "content_type" in table.column_names \
            else [None] * table.num_rows
        failures = table.column("rule_failures").to_pylist()
        hard = set(self.settings.hard_rules)
        domain_keep = self._calibration().get("domain_keep", {}) if self.settings.domain_cap > 0 else {}
        domains = _domains(table) if domain_keep else []
        weights = table.column("sample_weight").to_pylist()
        ids = table.column("id").to_pylist()
        reasons: list[str | None] = []
        for i, tier in enumerate(tiers):
            failed = [f.split(":")[0] for f in failures[i] or []]
            hit = next((name for name in failed if name in hard), None)
            if hit:
                reasons.append(f"rule_{hit}")
            elif tier not in self.keep_tiers(types[i]):
                reasons.append(f"tier_{tier}")
            elif domain_keep and weights[i] <= 1.0 and \
                    _uniform(ids[i], self.ctx.seed) >= domain_keep.get(domains[i], 1.0):
                reasons.append("domain_cap")
            else:
                reasons.append(None)
        return pa.array(reasons, pa.string())

    def finish(self, engine) -> dict:
        calibration = self._calibration()
        return {"quality_calibration_rows": calibration["sample_rows"], "quality_scorers": self.scorers(),
                "quality_cut_points": {name: calibration["cut_points"][name] for name in self.scorers()}}


def _domains(table: pa.Table) -> list[str]:
    if "domain" in table.column_names:
        return [d or "" for d in table.column("domain").to_pylist()]
    from urllib.parse import urlsplit

    urls = table.column("url").to_pylist() if "url" in table.column_names else [None] * table.num_rows
    return [(urlsplit(u).hostname or "") if u else "" for u in urls]


def capped_domain_bytes(sizes: dict[str, int], cap: float) -> float:
    """Water-filling: the byte budget B such that every domain keeps min(size, B) and each kept
    domain is at most `cap` of all kept bytes (B = cap × Σ min(size, B)). With too few domains to
    reach the cap (cap × domains < 1), every domain keeps the smallest one's bytes: equal shares."""
    ordered = sorted(sizes.values(), reverse=True)
    rest = float(sum(ordered))
    for capped, size in enumerate(ordered):
        if cap * capped >= 1:
            break
        budget = cap * rest / (1 - cap * capped)
        if size <= budget:
            return budget
        rest -= size
    return float(ordered[-1]) if ordered else 0.0


def _uniform(doc_id: str, seed: int) -> float:
    """A stable pseudo-random number in [0, 1) per document (deterministic down-sampling)."""
    from xxhash import xxh64_intdigest

    return xxh64_intdigest(f"{seed}:{doc_id}".encode()) / 2.0**64
