"""Stage 6: a code corpus filtered by OpenCoder's rules, keeping files with at most max_hits hits.

    prepare  plan     the inputs listed into units and packed into partitions by bytes (_work/plan.json)
             ingest   on the workers: every file read once → _files/part-*.parquet (text, provenance,
                      language, doc type, content hash, or the reason it has no text)
             rank     in the driver: each file's survivor rank (most stars, then newest, then id) and
                      its exact duplicates (same SHA-256 of the content) → _dedup/part-*.parquet
             near     the stage-4 engine (filters/dedup/steps.DedupSteps) on the ingested files, its
                      survivors ranked by the same rank → _near/clusters/part-*.parquet
    score    every rule of the file's profile → code_signals (also stored in DIR/code-signals/,
             outside the stage folder), hits, hit_count; secrets and emails redacted
    decide   the read reason, unknown_type / excluded_type, exact_duplicate, near_duplicate, or
             too_many_hits (hit_count > code.max_hits); else kept

`code.rethreshold: true` re-reads the stored signals: new cuts or max_hits apply without any rule
running again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections import Counter, defaultdict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filters.code import hits as hitlib
from filters.code import languages, secrets, sources
from filters.code.config import CodeConfig
from filters.code.document import CodeDoc
from filters.registry import Registry
from pipeline import io
from pipeline.errors import InputError
from pipeline.ids import doc_id
from pipeline.stage import Partition, Stage
from pipeline.tables import part_name
from schemas import code as code_schema

READ_REASONS = ("binary", "vendored", "too_large", "empty", "undecodable", "unreadable", "broken_symlink",
                "git_object_unreadable", "git_unreadable")
TOP_RULES = 20


def _cjk_share(text: str) -> float:
    sample = text[:20000]
    cjk = sum(1 for c in sample if "\u4e00" <= c <= "\u9fff")
    visible = len(sample) - sum(1 for c in sample if c.isspace())
    return cjk / visible if visible else 0.0


def ingest(job: dict) -> dict:
    """Read one partition's units into _files/part-N.parquet (skipped when present)."""
    if io.exists(job["output"]):
        return {"rows": -1}
    units = [sources.Unit(**u) for u in job["units"]]
    table = sources.rows_table(sources.read(units, job["max_bytes"], job["skip_vendored"]))
    overrides, excluded = job["type_overrides"], frozenset(job["excluded"])
    ids, names, keys, types, langs, shas, urls = [], [], [], [], [], [], []
    for path, repo, text in zip(table.column("path").to_pylist(), table.column("repo").to_pylist(),
                                table.column("text").to_pylist(), strict=True):
        head = text[:languages.CONTENT_SAMPLE].encode("utf-8", "surrogatepass") if text else b""
        name = languages.language_of(path, head) if text is not None else ""
        ids.append(doc_id("code", f"{repo}/{path}", text or ""))
        names.append(name)
        keys.append(languages.language_key(name) if name else None)
        kind = languages.doc_type(name, overrides, excluded) if text is not None else None
        types.append(kind)
        langs.append(("zh" if _cjk_share(text) > 0.3 else "en") if kind == "text" else "en")
        shas.append(hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest() if text else None)
        urls.append(f"code://{repo}/{path}" if repo else f"code://{path}")
    table = table.append_column("id", pa.array(ids, pa.string()))
    for name, values in (("linguist_language", names), ("code_language", keys), ("doc_type", types),
                         ("lang", langs), ("content_sha256", shas), ("url", urls)):
        table = table.append_column(name, pa.array(values, pa.string()))
    io.write_parquet_atomic(job["output"], table)
    return {"rows": table.num_rows}


class CodeStage(Stage):
    number = 6
    name = "code"
    schema = code_schema.SCHEMA
    schema_version = code_schema.VERSION
    settings_model = CodeConfig
    required_columns = ("id", "text")
    sample_columns = ("code_language",)  # the report shows a few files per language

    # ---- paths -------------------------------------------------------------------------------
    @property
    def stage_dir(self) -> str:
        return self.ctx.stage_dir(self.number)

    def _path(self, *parts: str) -> str:
        return io.join(self.stage_dir, *parts)

    @property
    def signals_dir(self) -> str:
        return io.join(self.ctx.run_dir, "code-signals")

    @functools.cached_property
    def cuts(self) -> dict[str, dict]:
        Registry.import_modules(self.settings.rule_modules, "code.rule_modules")
        from filters.code import specific  # noqa: F401 - registers the language-specific rules
        from filters.code.rules import RULES

        rules = self.settings.model_dump()["rules"]
        for profile in rules.values():
            RULES.check(name for name, cut in profile.items() if cut is not None)
        return rules

    def input_files(self) -> list[str]:
        if not self.settings.inputs:
            raise InputError("code: code.inputs is not set (folders, git checkouts, globs or parquet tables of files)")
        return list(self.settings.inputs)

    def partitions(self) -> list[Partition]:
        plan = io.read_json(self._path("_work", "plan.json"))
        return [Partition(index=i, inputs=(self._path("_files", part_name(i)),)) for i in range(plan["partitions"])]

    # ---- prepare -----------------------------------------------------------------------------
    def prepare(self, engine) -> None:
        assert self.cuts is not None  # unknown rule names fail before any work
        if self.settings.rethreshold:
            if not io.exists(io.join(self.signals_dir, "_done.json")):
                raise InputError(f"code.rethreshold: no stored signals in {self.signals_dir}; run stage 6 first")
        plan_path = self._path("_work", "plan.json")
        if not io.exists(plan_path):
            parts = sources.pack(sources.plan(self.input_files()), self.settings.partition_bytes)
            jobs = [[vars(u) for u in part] for part in parts]
            io.write_json_atomic(self._path("_work", "units.json"), jobs)
            io.write_json_atomic(plan_path, {"partitions": len(parts), "units": sum(map(len, parts))})
        if not io.exists(self._path("_files", "_done.json")):
            units = io.read_json(self._path("_work", "units.json"))
            s = self.settings
            jobs = [{"units": part, "output": self._path("_files", part_name(i)), "max_bytes": s.max_file_bytes,
                     "skip_vendored": s.skip_vendored, "type_overrides": dict(s.type_overrides),
                     "excluded": list(s.excluded_languages)} for i, part in enumerate(units)]
            engine.map(ingest, jobs)
            io.write_json_atomic(self._path("_files", "_done.json"), {"partitions": len(jobs)})
        if not io.exists(self._path("_dedup", "_done.json")):
            io.write_json_atomic(self._path("_dedup", "_done.json"), self._rank_and_exact())
        if self.settings.near_dedup and not io.exists(self._path("_near", "clusters", "_done.json")):
            self._near(engine)

    def _rank_and_exact(self) -> dict:
        """Survivor rank of every file (0 = best: most stars, newest, smallest id) and, for each
        group of identical contents, the id of its best copy."""
        parts = [p.inputs[0] for p in self.partitions()]
        columns = ["id", "stars", "commit_date", "content_sha256"]
        tables = [io.read_parquet(p, columns) for p in parts]
        rows = [len(t) for t in tables]
        if not sum(rows):
            return {"files": 0, "exact_duplicates": 0}
        whole = pa.concat_tables(tables)
        stars = pc.fill_null(whole.column("stars"), -1).to_numpy()
        dates = pc.fill_null(whole.column("commit_date").cast(pa.int64()), -(2**62)).to_numpy()
        ids = np.array(whole.column("id").to_pylist(), dtype=object)
        order = np.lexsort((ids, -dates, -stars))
        rank = np.empty(len(order), dtype=np.int32)
        rank[order] = np.arange(len(order), dtype=np.int32)
        shas = whole.column("content_sha256").to_pylist()
        best: dict[str, int] = {}
        for i in order.tolist():
            sha = shas[i]
            if sha is not None and sha not in best:
                best[sha] = i
        exact_of = [None if shas[i] is None or best[shas[i]] == i or not self.settings.exact_dedup
                    else ids[best[shas[i]]] for i in range(len(shas))]
        start = 0
        for index, n in enumerate(rows):
            io.write_parquet_atomic(self._path("_dedup", part_name(index)), pa.table({
                "id": whole.column("id").slice(start, n), "survivor_rank": pa.array(rank[start:start + n]),
                "exact_of": pa.array(exact_of[start:start + n], pa.string())}))
            start += n
        return {"files": len(shas), "exact_duplicates": sum(1 for e in exact_of if e is not None)}

    def _near(self, engine) -> None:
        """The stage-4 engine on the ingested files (texts of files without text are empty)."""
        from filters.dedup.cluster_settings import ClusterSettings
        from filters.dedup.minhash import MinhashParams, bands_for_threshold
        from filters.dedup.steps import DedupSteps

        threshold = self.settings.near_threshold
        bands, rows = bands_for_threshold(threshold, 128)
        params = MinhashParams(ngram=self.settings.near_ngram, bands=bands, rows=rows, seed=self.ctx.seed,
                               extra_perm=max(128 - bands * rows, 0), tokens=self.settings.near_tokens)
        cut = max(0.0, threshold - 2.0 * math.sqrt(threshold * (1 - threshold) / params.num_perm))
        settings = ClusterSettings(exact=False, near=True, verify_threshold=cut, survivor_check=cut,
                                   survivor_check_ngram=params.ngram, driver_components_max_edges=2_000_000,
                                   precision_sample=0, seed=params.seed, ngram=params.ngram, similarity_cut=cut,
                                   tokens=params.tokens)
        inputs = {}
        for part in self.partitions():
            ranked = self._path("_near", "inputs", part_name(part.index))
            if not io.exists(ranked):
                files = io.read_parquet(part.inputs[0], ["id", "text"])
                rank = io.read_parquet(self._path("_dedup", part_name(part.index)), ["survivor_rank", "exact_of"])
                text = pc.if_else(pc.is_null(rank.column("exact_of")), files.column("text"), pa.scalar(None, pa.string()))
                io.write_parquet_atomic(ranked, pa.table({"id": files.column("id"), "text": text,
                                                          "survivor_rank": rank.column("survivor_rank")}))
            inputs[part.index] = ranked
        stats = DedupSteps(self._path("_near"), inputs, params, settings, [], engine).run() if inputs else {}
        stats.pop("partition_rows", None)
        io.remove(self._path("_near", "_work"), recursive=True)
        io.write_json_atomic(self._path("_near", "clusters", "_done.json"), stats)

    # ---- per partition -----------------------------------------------------------------------
    def score(self, part: Partition) -> pa.Table:
        files = io.read_parquet(part.inputs[0])
        dedup = io.read_parquet(self._path("_dedup", part_name(part.index)), ["exact_of"])
        near = (io.read_parquet(self._path("_near", "clusters", part_name(part.index)), ["id", "dup_type"])
                if self.settings.near_dedup else None)
        stored = io.join(self.signals_dir, part_name(part.index))
        if self.settings.rethreshold:
            signal_table = io.read_parquet(stored)
        else:
            signal_table = self._signals(files)
            io.write_parquet_atomic(stored, signal_table)
        values = signal_table.column("code_signals").to_pylist()
        profiles = signal_table.column("rule_profile").to_pylist()
        fired = [hitlib.fired(dict(v or []), self.cuts[p], i, self.ctx.seed) if p else []
                 for v, p, i in zip(values, profiles, files.column("id").to_pylist(), strict=True)]
        texts, redacted = self._redacted(files, fired)
        n = files.num_rows
        table = pa.table({
            "id": files.column("id"), "source": pa.array(["code"] * n), "content_type": pa.array(["Code"] * n),
            "text": pa.array(texts, pa.string()), "url": files.column("url"),
            "language": files.column("code_language"), "code_language": files.column("code_language"),
            "doc_type": files.column("doc_type"), "rule_profile": pa.array(profiles, pa.string()),
            "path": files.column("path"), "repo": files.column("repo"), "stars": files.column("stars"),
            "license": files.column("license"), "commit_date": files.column("commit_date"),
            "size_bytes": files.column("size_bytes"),
            "hits": pa.array(fired, pa.list_(pa.string())),
            "hit_count": pa.array([len(f) for f in fired], pa.int32()),
            "code_signals": signal_table.column("code_signals"),
            "secrets_redacted": pa.array(redacted, pa.map_(pa.string(), pa.int32())),
            "read_error": files.column("read_error"), "exact_of": dedup.column("exact_of"),
            "near_type": near.column("dup_type") if near is not None else pa.nulls(n, pa.string()),
        })
        self._write_stats(part.index, table)
        return table

    def _signals(self, files: pa.Table) -> pa.Table:
        """Every enabled rule of each file's profile (files without text or profile: none)."""
        values, profiles = [], []
        columns = [files.column(c).to_pylist() for c in
                   ("text", "path", "size_bytes", "code_language", "doc_type", "lang")]
        for text, path, size, language, doc_type, lang in zip(*columns, strict=True):
            profile = hitlib.profile_of(doc_type, language, lang) if text is not None else None
            profiles.append(profile)
            if profile is None:
                values.append(None)
                continue
            name = path.rsplit("/", 1)[-1]
            doc = CodeDoc(text, name, name.rsplit(".", 1)[-1] if "." in name else "", size, language, doc_type, lang)
            values.append(list(hitlib.signals(doc, self.cuts[profile]).items()))
        return pa.table({"id": files.column("id"), "rule_profile": pa.array(profiles, pa.string()),
                         "code_signals": pa.array(values, code_schema.SIGNALS)})

    def _redacted(self, files: pa.Table, fired: list[list[str]]) -> tuple[list, list]:
        texts = files.column("text").to_pylist()
        if not self.settings.redact_secrets:
            return texts, [None] * len(texts)
        out, counts = [], []
        for text, path in zip(texts, files.column("path").to_pylist(), strict=True):
            if text is None:
                out.append(None)
                counts.append(None)
                continue
            clean, found = secrets.redact(text, path)
            out.append(clean)
            counts.append([(k, v) for k, v in found.items() if v])
        return out, counts

    def _write_stats(self, index: int, table: pa.Table) -> None:
        """Small figures for the manifest: hits per language, firing rules, secrets (a sidecar)."""
        by_language: dict[str, Counter] = defaultdict(Counter)
        rules: Counter = Counter()
        secrets_found: Counter = Counter()
        for language, profile, fired, read_error, found in zip(
                *(table.column(c).to_pylist() for c in ("code_language", "rule_profile", "hits", "read_error",
                                                          "secrets_redacted")), strict=True):
            for kind, count in found or []:
                secrets_found[kind] += count
            if profile is None or read_error is not None:
                continue
            by_language[language or "unknown"][str(len(fired))] += 1
            rules.update(fired)
        io.write_json_atomic(self._path("_stats", part_name(index, ".json")), {
            "hits_by_language": {k: dict(v) for k, v in by_language.items()}, "rules": dict(rules),
            "secrets": dict(secrets_found)})

    def assemble(self, kept: pa.Table, part: Partition) -> pa.Table:
        return kept.drop_columns(["read_error", "exact_of", "near_type"])

    def decide(self, table: pa.Table) -> pa.Array:
        reasons = []
        for read_error, doc_type, exact, near, count in zip(
                *(table.column(c).to_pylist() for c in ("read_error", "doc_type", "exact_of", "near_type",
                                                          "hit_count")), strict=True):
            if read_error is not None:
                reasons.append(read_error)
            elif doc_type in ("unknown", "excluded"):
                reasons.append(f"{doc_type}_type")
            elif exact is not None:
                reasons.append("exact_duplicate")
            elif near == "near_duplicate":
                reasons.append("near_duplicate")
            elif count > self.settings.max_hits:
                reasons.append("too_many_hits")
            else:
                reasons.append(None)
        return pa.array(reasons, pa.string())

    def finish(self, engine) -> dict:
        by_language: dict[str, Counter] = defaultdict(Counter)
        rules: Counter = Counter()
        found: Counter = Counter()
        for part in self.partitions():
            stats = io.read_json(self._path("_stats", part_name(part.index, ".json")))
            for language, hist in stats["hits_by_language"].items():
                by_language[language].update(hist)
            rules.update(stats["rules"])
            found.update(stats["secrets"])
        io.write_json_atomic(io.join(self.signals_dir, "_done.json"), {"partitions": len(self.partitions())})
        dedup = io.read_json(self._path("_dedup", "_done.json"))
        near = (io.read_json(self._path("_near", "clusters", "_done.json")) if self.settings.near_dedup else {})
        return {"code": {
            "hits_by_language": {lang: dict(sorted(h.items(), key=lambda kv: int(kv[0])))
                                 for lang, h in sorted(by_language.items())},
            "top_rules": [[name, count] for name, count in rules.most_common(TOP_RULES)],
            "max_hits": self.settings.max_hits,
            "dedup": {"files": dedup["files"], "exact_duplicates": dedup["exact_duplicates"],
                      "near": json.loads(json.dumps(near, default=str))},
            "secrets_redacted": dict(sorted(found.items())),
        }}
