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
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filters.quality import ensemble, models, rules
from filters.quality.textbatch import TextBatch
from pipeline import io
from pipeline.errors import ConfigError, InputError
from pipeline.stage import Partition, Stage
from schemas import quality as quality_schema
from schemas.base import DOC_FIELDS

RULE_SCORERS = ("gopher_quality", "gopher_repetition", "lines")
MODEL_SCORERS = ("fasttext_quality", "edu", "perplexity")
STEM_RE = re.compile(
    r"\b(?:theorem|lemma|proof|equation|integral|derivative|algorithm|matrix|vector|probability|"
    r"molecule|protein|enzyme|velocity|acceleration|hypothesis|theory|experiment|coefficient|"
    r"variable|function|polynomial|statistic|quantum|electron|genome|chemical|physics|calculus)s?\b"
    r"|[=∑∫√π∞≤≥±]", re.IGNORECASE)


def score_texts(texts: list[str], settings: dict, scorers: list[str]) -> tuple[dict, list[list[str]]]:
    """Raw scores per scorer (higher = better) and the failed rule sets per document."""
    if not texts:
        return {name: np.zeros(0) for name in (*RULE_SCORERS, "stem", *scorers)}, []
    batch = TextBatch(texts)
    rule_cfg = settings.get("rules", {})
    gq = rules.gopher_quality(batch, rules.build(rules.GopherQualityConfig, rule_cfg.get("gopher_quality")))
    gr = rules.gopher_repetition(batch, rules.build(rules.GopherRepetitionConfig, rule_cfg.get("gopher_repetition")))
    c4 = rules.c4(batch, rules.build(rules.C4Config, rule_cfg.get("c4")))
    fw = rules.fineweb(batch, rules.build(rules.FineWebConfig, rule_cfg.get("fineweb")))
    scores = {"gopher_quality": gq.score, "gopher_repetition": gr.score, "lines": rules.lines_score(c4, fw)}
    words = np.maximum(batch.words.per_doc(), 1)
    scores["stem"] = np.array([len(STEM_RE.findall(t)) for t in batch.texts]) / words
    if "fasttext_quality" in scorers:
        ft = settings.get("fasttext", {})
        scores["fasttext_quality"] = models.fasttext_scores(
            batch.texts, models.resolve(ft.get("model"), models.DEFAULT_FASTTEXT), ft.get("label", "__label__hq"))
    if "edu" in scorers:
        edu = settings.get("edu", {})
        scores["edu"] = models.edu_scores(
            batch.texts, models.resolve(edu.get("head"), models.DEFAULT_EDU_HEAD),
            edu.get("embedder") or models.default_embedder_path(), int(edu.get("batch_size", 32)))
    if "perplexity" in scorers:
        scores["perplexity"] = models.perplexity_scores(
            batch.texts, models.resolve(settings.get("perplexity", {}).get("model"), models.DEFAULT_LM))
    failures: list[list[str]] = [[] for _ in texts]
    for name, result in (("gopher_quality", gq), ("gopher_repetition", gr), ("c4", c4), ("fineweb", fw)):
        for i, reason in enumerate(result.reasons):
            if reason is not None:
                failures[i].append(f"{name}:{reason}")
    return scores, failures


class QualityStage(Stage):
    number = 3
    name = "quality"
    schema = quality_schema.SCHEMA
    schema_version = quality_schema.VERSION

    # ------------------------------------------------------------------ inputs
    @property
    def scores_dir(self) -> str:
        return io.join(self.ctx.run_dir, "quality-scores")

    @property
    def calibration_path(self) -> str:
        return io.join(self.scores_dir, "_calibration.json")

    def inputs(self) -> list[str]:
        if self.settings.get("input"):
            return io.expand_inputs(self.settings["input"], "quality.input")
        return self.ctx.stage_parts(2)

    def scorers(self) -> list[str]:
        names = list(self.settings["scorers"])
        unknown = [n for n in names if n not in RULE_SCORERS + MODEL_SCORERS + ("stem",)]
        if unknown:
            raise ConfigError(f"quality.scorers: unknown scorer {unknown[0]!r}")
        if self.settings["ensemble"] not in ("max", "mean", "vote"):
            raise ConfigError("quality.ensemble must be max, mean or vote")
        return names

    def partitions(self) -> list[Partition]:
        return [Partition(index=i, inputs=(path,)) for i, path in enumerate(self.inputs())]

    def _read(self, path: str) -> pa.Table:
        """An input table: `id` and `text` required; other document columns default to null."""
        table = io.read_parquet(path)
        for column in ("id", "text"):
            if column not in table.column_names:
                raise InputError(f"{path}: input table lacks column '{column}'")
        for field in DOC_FIELDS:
            if field.name not in table.column_names:
                table = table.append_column(field.name, pa.nulls(table.num_rows, field.type))
        return table

    # ------------------------------------------------------------------ calibration
    def prepare(self, engine) -> None:
        self.scorers()
        if self.settings["rethreshold"]:
            if not io.exists(self.calibration_path):
                raise InputError(f"quality.rethreshold: no stored scores in {self.scores_dir}; run stage 3 first")
            return
        if io.exists(self.calibration_path) and not self.settings["calibration"]["recalibrate"]:
            return
        paths = self.inputs()
        per_file = max(1, math.ceil(int(self.settings["calibration"]["sample_rows"]) / max(len(paths), 1)))
        settings, scorers = self.settings, self.scorers()

        def calibrate_one(path: str) -> dict:
            table = io.read_parquet(path, columns=["text"]).slice(0, per_file)
            texts = table.column("text").to_pylist()
            scores, _ = score_texts(texts, settings, scorers)
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
        if self.settings["domain_cap"] > 0:
            calibration["domain_keep"] = self._domain_keep(engine, paths)
        io.write_json_atomic(self.calibration_path, calibration)

    def _domain_keep(self, engine, paths: list[str]) -> dict[str, float]:
        """Keep fraction per domain so that no domain exceeds domain_cap of all bytes."""
        def domain_bytes(path: str) -> dict[str, int]:
            table = io.read_parquet(path)
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
        budget = self.settings["domain_cap"] * sum(totals.values())
        return {d: min(1.0, budget / s) for d, s in totals.items() if s > budget}

    def _calibration(self) -> dict:
        if not hasattr(self, "_cached_calibration"):
            self._cached_calibration = io.read_json(self.calibration_path)
        return self._cached_calibration

    # ------------------------------------------------------------------ score
    def score(self, part: Partition) -> pa.Table:
        stored = io.join(self.scores_dir, f"part-{part.index:05d}.parquet")
        if self.settings["rethreshold"]:
            if not io.exists(stored):
                raise InputError(f"quality.rethreshold: {stored} is missing; run stage 3 without it first")
            table = io.read_parquet(stored)
        else:
            table = self._read(part.inputs[0])
            for name in ("quality_scores", "quality_buckets", "quality_bucket", "tier",
                         "rule_failures", "sample_weight"):
                if name in table.column_names:
                    table = table.drop_columns([name])
            texts = table.column("text").to_pylist()
            scores, failures = score_texts(texts, self.settings, self.scorers())
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
        tiers = ensemble.tier_of(bucket, self.settings["tiers"])
        stem = np.array([dict(row).get("stem", 0.0) for row in stored], dtype=np.float64)
        weight = np.where(stem >= self.settings["stem_threshold"], float(self.settings["stem_weight"]), 1.0)
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
        method = self.settings["ensemble"]
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
        profile = self.settings["profile"]
        for rule in self.settings["keep_overrides"]:
            if rule.get("profile", "*") in ("*", profile) and \
                    str(rule.get("content_type", "*")).lower() in ("*", str(content_type).lower()):
                return set(rule["tiers"])
        return set(self.settings["keep_tiers"])

    def decide(self, table: pa.Table) -> pa.Array:
        tiers = table.column("tier").to_pylist()
        types = table.column("content_type").to_pylist() if "content_type" in table.column_names \
            else [None] * table.num_rows
        failures = table.column("rule_failures").to_pylist()
        hard = set(self.settings["hard_rules"])
        domain_keep = self._calibration().get("domain_keep", {}) if self.settings["domain_cap"] > 0 else {}
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
        return {"quality_calibration_rows": calibration["sample_rows"], "quality_scorers": self.scorers()}


def _domains(table: pa.Table) -> list[str]:
    if "domain" in table.column_names:
        return [d or "" for d in table.column("domain").to_pylist()]
    from urllib.parse import urlsplit

    urls = table.column("url").to_pylist() if "url" in table.column_names else [None] * table.num_rows
    return [(urlsplit(u).hostname or "") if u else "" for u in urls]


def _uniform(doc_id: str, seed: int) -> float:
    """A stable pseudo-random number in [0, 1) per document (deterministic down-sampling)."""
    from xxhash import xxh64_intdigest

    return xxh64_intdigest(f"{seed}:{doc_id}".encode()) / 2.0**64
