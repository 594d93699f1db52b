"""Stage 3: score every document with six scorers, bin into tiers, keep by content type.

    prepare: the calibration sample the cut points come from: by default the fixed real web sample
             shipped with the models (per language; calibration.py), or this run's own sample
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

from filters.quality import calibration, ensemble, models
from filters.quality.config import QualityConfig
from filters.quality.languages import model_language as language_of
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
        """Save the calibration sample(s) the tiers are cut from (calibration.py): the shipped
        reference sample (mode reference) or a sample of this run's rows (mode run), per language."""
        self.scorers()
        if self.settings.rethreshold:
            if not io.exists(self.calibration_path):
                raise InputError(f"quality.rethreshold: no stored scores in {self.scores_dir}; run stage 3 first")
            return
        if io.exists(self.calibration_path) and not self.settings.calibration.recalibrate:
            return
        paths = self.input_files()
        if self.settings.calibration.mode == "reference":
            calibration = self._reference_calibration()
        else:
            calibration = self._run_calibration(engine, paths)
        if self.settings.domain_cap > 0:
            calibration["domain_keep"] = self._domain_keep(engine, paths)
        io.write_json_atomic(self.calibration_path, calibration)

    def _reference_calibration(self) -> dict:
        """The shipped (or given) reference sample, refused if the configured models differ from
        the ones it was scored with (its cut points would mean nothing for other models)."""
        cfg = self.settings.calibration
        try:
            data = calibration.load_reference(cfg.reference)
        except OSError as exc:
            raise ConfigError(f"quality.calibration.reference: cannot read {cfg.reference} ({exc})") from None
        in_use = self._model_paths()
        expected = data.get("models", {})
        changed = [name for name, digest in calibration.model_hashes(in_use).items()
                   if expected.get(name) not in (None, digest)]
        if changed:
            raise ConfigError(f"quality.calibration.mode=reference: the reference sample was scored with other "
                              f"{', '.join(changed)} models; rebuild it (`python -m pipeline train calibration --out F`"
                              f" and quality.calibration.reference=F) or set quality.calibration.mode=run")
        return {"mode": "reference", "reference": cfg.reference or str(calibration.DEFAULT_REFERENCE),
                "reference_version": data.get("version"),
                "samples": {lang: entry["sample"] for lang, entry in data["languages"].items()},
                "sample_rows": sum(len(entry["sample"]["weights"]) for entry in data["languages"].values())}

    def _model_paths(self) -> dict[str, str]:
        """The model files of the configured scorers, keyed as in calibration.json's "models"."""
        s, used = self.settings, set(self.settings.scorers)
        files = [("fasttext_quality", "fasttext_quality", models.resolve(s.fasttext.model, models.DEFAULT_FASTTEXT)),
                 ("edu", "edu", models.resolve(s.edu.head, models.DEFAULT_EDU)),
                 ("perplexity_en", "perplexity", models.resolve(s.perplexity.model, models.DEFAULT_LM["en"])),
                 ("perplexity_zh", "perplexity", models.resolve(s.perplexity.model_zh, models.DEFAULT_LM["zh"]))]
        return {key: path for key, scorer, path in files if scorer in used}

    def _run_calibration(self, engine, paths: list[str]) -> dict:
        """Score the first rows of every input (up to sample_rows in all), per language."""
        per_file = max(1, math.ceil(self.settings.calibration.sample_rows / max(len(paths), 1)))
        settings = self.settings
        read = self.read_documents

        def calibrate_one(path: str) -> dict:
            Registry.import_modules(settings.scorer_modules, "quality.scorer_modules")
            table = read(path, {"text": pa.string(), "language": pa.string()}).slice(0, per_file)
            texts = table.column("text").to_pylist()
            languages = table.column("language").to_pylist()
            scores, _ = score_texts(texts, settings, languages)
            weights = pc.binary_length(pc.cast(table.column("text"), pa.binary())).to_numpy(zero_copy_only=False)
            return {"scores": {k: v.tolist() for k, v in scores.items()}, "weights": weights.tolist(),
                    "languages": [language_of(code) for code in languages]}

        parts = engine.map(calibrate_one, paths)
        weights = np.concatenate([np.asarray(p["weights"], dtype=np.float64) for p in parts]) if parts else np.zeros(0)
        if len(weights) == 0:
            raise InputError("quality: no input rows to calibrate on")
        langs = np.array([lang for p in parts for lang in p["languages"]])
        scores = {name: np.concatenate([np.asarray(p["scores"][name], dtype=np.float64) for p in parts])
                  for name in parts[0]["scores"]}
        samples = {"pooled": calibration.Sample(scores, weights).to_json()}
        for lang in np.unique(langs):
            rows = langs == lang
            if rows.sum() >= calibration.MIN_LANGUAGE_ROWS:
                samples[str(lang)] = calibration.Sample({k: v[rows] for k, v in scores.items()}, weights[rows]).to_json()
        return {"mode": "run", "samples": samples, "sample_rows": int(len(weights))}

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
            data = io.read_json(self.calibration_path)
            if "samples" not in data:
                raise InputError(f"{self.calibration_path} is from an older version of stage 3; "
                                 "set quality.calibration.recalibrate=true")
            data["parsed"] = {lang: calibration.Sample.from_json(v) for lang, v in data["samples"].items()}
            self._cached_calibration = data
        return self._cached_calibration

    def _sample_for(self, lang: str) -> calibration.Sample:
        samples = self._calibration()["parsed"]
        return samples.get(lang) or samples.get("pooled") or samples["en"]

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
            scores, failures = score_texts(texts, self.settings, _languages(table))
            names = sorted(scores)
            table = table.append_column("quality_scores", pa.array(
                [[(n, float(scores[n][i])) for n in names if np.isfinite(scores[n][i])] for i in range(len(texts))],
                pa.map_(pa.string(), pa.float64())))
            table = table.append_column("rule_failures", pa.array(failures, pa.list_(pa.string())))
            io.write_parquet_atomic(stored, table)
        return self._add_tiers(table)

    def _add_tiers(self, table: pa.Table) -> pa.Table:
        """Buckets, ensemble bucket, tier and sample weight from stored scores + calibration + config,
        per model language (each has its own calibration sample)."""
        scorers = self.scorers()
        stored = [dict(row) for row in table.column("quality_scores").to_pylist()]
        languages = np.array([language_of(code) for code in _languages(table)])
        n = table.num_rows
        bucket = np.zeros(n, dtype=np.int32)
        per_doc: list[list[tuple[str, int]]] = [[] for _ in range(n)]
        for lang in np.unique(languages) if n else []:
            rows = np.flatnonzero(languages == lang)
            sample = self._sample_for(str(lang))
            names = [s for s in scorers if s in sample.scores]
            if not names:
                raise InputError(f"quality: the calibration sample for {lang} has none of {scorers}; "
                                 "set quality.calibration.recalibrate=true")
            per_scorer = np.zeros((len(rows), len(names)), dtype=np.int32)
            for j, name in enumerate(names):
                values = np.array([stored[i].get(name, np.nan) for i in rows], dtype=np.float64)
                per_scorer[:, j] = ensemble.buckets(np.nan_to_num(values, nan=-np.inf), sample.cut_points(name))
            bucket[rows] = self._ensemble_bucket(per_scorer, names, sample)
            for k, i in enumerate(rows):
                per_doc[i] = [(s, int(per_scorer[k, j])) for j, s in enumerate(names)]
        tiers = ensemble.tier_of(bucket, self.settings.tiers)
        stem = np.array([row.get("stem", 0.0) for row in stored], dtype=np.float64)
        weight = np.where(stem >= self.settings.stem_threshold, self.settings.stem_weight, 1.0)
        for name in ("quality_buckets", "quality_bucket", "tier", "sample_weight"):
            if name in table.column_names:
                table = table.drop_columns([name])
        table = table.append_column("quality_buckets", pa.array(per_doc, pa.map_(pa.string(), pa.int32())))
        table = table.append_column("quality_bucket", pa.array(bucket, pa.int32()))
        table = table.append_column("tier", pa.array(tiers.tolist(), pa.string()))
        return table.append_column("sample_weight", pa.array(weight, pa.float64()))

    def _ensemble_bucket(self, per_scorer: np.ndarray, names: list[str], sample: calibration.Sample) -> np.ndarray:
        """max: Nemotron-CC's max of the integer buckets, as is. mean (weighted by quality.weights)
        and vote: re-binned at the sample's token percentiles of the same combination."""
        method, weights = self.settings.ensemble, self.settings.weights
        combined = ensemble.combine(per_scorer, method, [weights.get(s, 1.0) for s in names])
        if method == "max":
            return combined.astype(np.int32)
        return ensemble.buckets(combined, sample.ensemble_cut_points(names, method, weights))

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
        cut_points = {lang: {name: sample.cut_points(name) for name in self.scorers() if name in sample.scores}
                      for lang, sample in calibration["parsed"].items()}
        return {"quality_calibration_rows": calibration["sample_rows"], "quality_scorers": self.scorers(),
                "quality_calibration_mode": calibration["mode"],
                "quality_cut_points": cut_points.get("en") or cut_points.get("pooled") or {},
                "quality_cut_points_by_language": cut_points}


def _languages(table: pa.Table) -> list[str | None]:
    """Stage 2's language codes (a table without the column reads as English)."""
    if "language" in table.column_names:
        return table.column("language").to_pylist()
    return [None] * table.num_rows


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
