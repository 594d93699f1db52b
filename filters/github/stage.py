"""Stage 7 — GitHub PRs, issues and commits → samples (base rows + Agentless templates), decontaminated.

    prepare:  read every GH Archive file / API dump into thread fragments (hashed by repo+number),
              list every repository's commits, find the benchmark PRs' commits and linked issues,
              gather star data (prepare.py)
    score:    per partition — a bucket of threads (pr, issue rows), the API commits, or a batch of a
              repository's commits (commit rows + localization and repair samples, validated against
              `git diff` on a sample, repair edits verified by applying them) — every row checked
              against the benchmarks with evidence
    decide:   contaminated, repair_mismatch, diff_mismatch, bot, stars, non_pr_merge, language,
              trivial_*, huge_diff, empty — each from stored scores and config
    finish:   manifest "github": samples per kind, event counts, git-diff agreement, hits with evidence
"""

from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filters import decontam, segment
from filters.decontam.patches import closing_refs, pull_ref
from filters.github import agentless, changes, git, prepare, threads
from filters.github.config import GithubConfig
from filters.github.languages import languages_of
from pipeline import io
from pipeline.errors import ConfigError, InputError
from pipeline.ids import doc_id
from pipeline.stage import Partition, Stage
from pipeline.tables import part_name
from schemas.github import SCHEMA, SCORE_FIELDS, VERSION

KINDS = ("pr", "issue", "commit", "localization", "repair")
ROW_SCHEMA = pa.schema([*SCHEMA, *SCORE_FIELDS])
MIN_PROBLEM_WORDS = 3


class GithubStage(Stage):
    number = 7
    name = "github"
    schema = SCHEMA
    schema_version = VERSION
    settings_model = GithubConfig
    sample_columns = ("kind",)  # the report shows a few samples of each kind

    # ---- paths and shared state ---------------------------------------------------------------
    @property
    def work(self) -> str:
        return io.join(self.ctx.stage_dir(self.number), "_work")

    def _step(self, name: str) -> dict | None:
        marker = io.join(self.work, "steps", f"{name}.json")
        return io.read_json(marker) if io.exists(marker) else None

    def _finish_step(self, name: str, figures) -> None:
        io.write_json_atomic(io.join(self.work, "steps", f"{name}.json"), figures)

    def benchmark_files(self) -> tuple[str, ...]:
        gate = self.settings.decontam
        if not gate.enabled:
            return ()
        files = decontam.resolve_benchmark_files(self.settings.benchmarks)
        if not files:
            raise ConfigError("github.benchmarks is empty: decontamination would check nothing; "
                              "set github.decontam.enabled=false to run without it")
        return tuple(files)

    @functools.cached_property
    def index(self) -> decontam.BenchmarkIndex | None:
        """The benchmark index plus what prepare() learnt (linked issues, PR commits)."""
        files = self._step("links") and self._step("links")["files"]
        if files is None:
            files = list(self.benchmark_files())
        if not files:
            return None
        gate = self.settings.decontam
        base = decontam.cached_index(tuple(files), gate.ngram, gate.min_words, gate.gold_min_share)
        links = self._step("links") or {"linked": [], "commits": []}
        return base.extended([tuple(x) for x in links["linked"]], [tuple(x) for x in links["commits"]])

    # ---- global steps -----------------------------------------------------------------------------
    def prepare(self, engine) -> None:
        settings = self.settings
        files = self.benchmark_files()  # a missing benchmark file fails before any work
        sources = [("gharchive", p) for p in io.expand_inputs(settings.gharchive, "github.gharchive")] \
            if settings.gharchive else []
        sources += [("api", p) for p in io.expand_inputs(settings.api_dumps, "github.api_dumps")] \
            if settings.api_dumps else []
        if not sources and not settings.repos:
            raise InputError("github: nothing to read; set github.gharchive, github.api_dumps or github.repos")
        if self._step("sources") is None:
            read = functools.partial(prepare.read_source, self.work, settings.buckets)
            results = engine.map(read, [(i, kind, path) for i, (kind, path) in enumerate(sources)])
            stars: dict[str, int] = {}
            for result in results:
                for repo, count in result["stars"].items():
                    stars[repo] = max(stars.get(repo, 0), count)
            self._finish_step("sources", {**prepare.merge_counts(results), "stars": stars,
                                          "files": [r["path"] for r in results],
                                          "fragments": sum(r["fragments"] for r in results),
                                          "api_commits": sum(r["commits"] for r in results)})
        if self._step("repos") is None:
            instances = dict(self.index.instances) if files else {}
            mined = [prepare.mine_repository(path, self.work, settings.repo_names, settings.git_refs,
                                             settings.validate_share, settings.validate_min, self.ctx.seed,
                                             instances) for path in settings.repos or []]
            self._finish_step("repos", mined)
        if self._step("links") is None:
            linked, commits = [], []
            if files:
                linked = prepare.thread_links(self.work, dict(self.index.instances))
            for repo in self._step("repos"):
                linked += [tuple(x) for x in repo["links"]]
                commits += [tuple(x) for x in repo["instance_commits"]]
            self._finish_step("links", {"files": list(files), "linked": sorted(set(linked)),
                                        "commits": sorted(set(commits))})
            self.__dict__.pop("index", None)
        if self._step("stars") is None:
            stars = dict(self._step("sources")["stars"])
            for path in io.expand_inputs(settings.stars, "github.stars") if settings.stars else []:
                for repo, count in prepare.read_star_table(path).items():
                    stars[repo] = max(stars.get(repo, 0), count)
            self._finish_step("stars", {k.lower(): v for k, v in sorted(stars.items())})
        self.index  # noqa: B018 - built in the driver once (workers get it with the stage)

    def partitions(self) -> list[Partition]:
        parts: list[Partition] = []
        folder = io.join(self.work, "fragments")
        for name in io.listdir(folder):
            parts.append(Partition(len(parts), params={"kind": "threads", "folder": io.join(folder, name)}))
        if io.listdir(io.join(self.work, "api_commits")):
            parts.append(Partition(len(parts), params={"kind": "api_commits"}))
        for number, repo in enumerate(self._step("repos") or []):
            step = self.settings.commits_per_partition
            for first in range(0, len(repo["commits"]), step):
                parts.append(Partition(len(parts), params={"kind": "git", "repo": number, "first": first}))
        return parts

    # ---- score ------------------------------------------------------------------------------------
    def score(self, part: Partition) -> pa.Table:
        kind = part.params["kind"]
        figures: dict = {}
        if kind == "threads":
            rows = self._thread_rows(part.params["folder"], figures)
        elif kind == "api_commits":
            rows = self._api_commit_rows(figures)
        else:
            rows = self._git_rows(part.params["repo"], part.params["first"], figures)
        table = pa.Table.from_pylist(rows, schema=ROW_SCHEMA) if rows else ROW_SCHEMA.empty_table()
        table = self._decontaminate(table, figures)
        io.write_json_atomic(io.join(self.work, "figures", part_name(part.index, ".json")), figures)
        return table

    def _stars(self, repo: str, seen: int | None = None) -> int | None:
        table = self._star_table
        known = table.get(repo.lower())
        return max(x for x in (known, seen) if x is not None) if known is not None or seen is not None else None

    @functools.cached_property
    def _star_table(self) -> dict[str, int]:
        return self._step("stars") or {}

    @functools.cached_property
    def _bots(self) -> changes.Bots:
        return changes.Bots(self.settings.bot_patterns)

    def _row(self, kind: str, repo: str, text: str, spans, **fields) -> dict:
        locator = f"{kind}:{repo}:{fields.get('number') if kind in ('pr', 'issue') else fields.get('sha')}"
        row = {name: None for name in ROW_SCHEMA.names}
        row.update(id=doc_id("github", locator, text), source=f"github-{kind}", content_type="Code",
                   text=text, kind=kind, repo=repo, no_loss_spans=spans, **fields)
        return row

    def _thread_rows(self, folder: str, figures: dict) -> list[dict]:
        names = io.listdir(folder)
        fragments = pa.concat_tables([io.read_parquet(io.join(folder, n)) for n in names]).to_pylist() if names else []
        rows = []
        removed = 0
        for thread in threads.join(fragments):
            kept = [c for c in thread["comments"] if not self._bots(c["author"])]
            removed += len(thread["comments"]) - len(kept)
            thread["comments"] = kept
            text, spans = threads.render(thread)
            kind = "pr" if thread["is_pr"] else "issue"
            repo = thread["repo"]
            url = f"https://github.com/{repo}/{'pull' if thread['is_pr'] else 'issues'}/{thread['number']}"
            language = thread["repo_language"]
            has_text = bool((thread["title"] or "").strip() or (thread["body"] or "").strip() or kept)
            rows.append(self._row(
                kind, repo, text, spans, url=url, number=thread["number"], code_language=language,
                code_languages=[language] if language else [], provenance=",".join(thread["sources"]),
                created_at=thread["created_at"], stars=self._stars(repo, thread["stars"]),
                closes=threads.closes(thread), is_bot=self._bots(thread["author"]),
                trivial=None if has_text else "empty", merge=None))
        figures["threads"] = {"pr": sum(r["kind"] == "pr" for r in rows), "issue": sum(r["kind"] == "issue" for r in rows),
                              "bot_comments_removed": removed}
        return rows

    def _api_commit_rows(self, figures: dict) -> list[dict]:
        folder = io.join(self.work, "api_commits")
        records = pa.concat_tables([io.read_parquet(io.join(folder, n)) for n in io.listdir(folder)]).to_pylist()
        best: dict[tuple, dict] = {}
        for record in records:  # one row per commit: the response with the most files
            key = (record["repo"], record["sha"])
            if record["repo"] and record["sha"] and (key not in best or len(record["files"]) > len(best[key]["files"])):
                best[key] = record
        rows = []
        for (repo, sha), record in sorted(best.items()):
            files = [{"path": f["path"] or "", "status": _api_status(f["status"], f["patch"]),
                      "patch": _api_patch(f["path"] or "", f["patch"])} for f in record["files"]]
            rows.append(self._commit_row(repo, sha, record["message"], record["author"] or record["author_login"],
                                         None, record["author_date"], record["parents"], files, record["source"]))
        figures["api_commits"] = len(rows)
        return rows

    def _commit_row(self, repo, sha, message, author, email, date, parents, files, provenance) -> dict:
        text, spans = _commit_text(repo, sha, message, files)
        number = pull_ref(message)
        merge = ("pr" if number is not None else "other") if len(parents or []) > 1 else None
        languages = languages_of(f["path"] for f in files)
        return self._row(
            "commit", repo, text, spans, url=f"https://github.com/{repo}/commit/{sha}", number=number, sha=sha,
            code_language=languages[0] if languages else None, code_languages=languages, provenance=provenance,
            created_at=date, stars=self._stars(repo), closes=[n for n in closing_refs(message, repo) if n != number],
            is_bot=self._bots(author, email), trivial=changes.trivial(files, set(self.settings.lockfiles)),
            changed_lines=changes.size(files), changed_files=len(files), merge=merge)

    def _git_rows(self, number: int, first: int, figures: dict) -> list[dict]:
        repo = self._step("repos")[number]
        settings = self.settings
        shas = repo["commits"][first:first + settings.commits_per_partition]
        validate = set(repo["validate"])
        commits = git.read_commits(repo["git_dir"], shas)
        reader = git.ObjectReader(repo["git_dir"])
        rows: list[dict] = []
        checked = agreed = 0
        mismatches: list[str] = []
        skipped: dict[str, int] = {}
        try:
            for commit in commits:
                files = [{"path": f.path, "status": f.status, "patch": f.patch} for f in commit.files]
                row = self._commit_row(repo["repo"], commit.sha, commit.message, commit.author, commit.email,
                                       commit.author_date, commit.parents, files, f"git:{repo['repo']}")
                if commit.sha in validate:
                    checked += 1
                    same = git.git_diff(repo["git_dir"], commit) == commit.patch()
                    agreed += same
                    row["diff_ok"] = same
                    if not same and len(mismatches) < 20:
                        mismatches.append(commit.sha)
                rows.append(row)
                rows.extend(self._samples(repo["repo"], commit, row, reader, skipped))
        finally:
            reader.close()
        figures["validation"] = {"repo": repo["repo"], "checked": checked, "agreed": agreed, "mismatches": mismatches}
        figures["samples_skipped"] = skipped
        return rows

    def _samples(self, repo: str, commit: git.Commit, base: dict, reader: git.ObjectReader,
                 skipped: dict[str, int]) -> list[dict]:
        """Localization and repair rows of one commit (they inherit its scores)."""
        settings = self.settings

        def skip(reason: str) -> list[dict]:
            skipped[reason] = skipped.get(reason, 0) + 1
            return []

        if not settings.samples or not commit.parents or (len(commit.parents) > 1 and base["merge"] != "pr"):
            return []
        problem = _problem(commit.message)
        if segment.count([problem])[0] < MIN_PROBLEM_WORDS:  # a Chinese message counts its characters
            return skip("short_problem")
        code = [(f, lang) for f, lang in changes.code_files(base_files(commit), set(settings.languages))]
        modified = [(f, lang) for f, lang in code if f["status"] == "M"]
        if not modified:
            return skip("no_modified_code_file")
        parent = commit.parents[0]
        inherited = {k: base[k] for k in ("url", "number", "sha", "code_language", "code_languages", "provenance",
                                          "created_at", "stars", "closes", "is_bot", "trivial", "changed_lines",
                                          "changed_files", "merge", "diff_ok")}
        rows = []
        if "localization" in settings.samples and len(modified) <= agentless.MAX_LOCATIONS:
            paths = reader.files(parent)
            order = sorted(modified, key=lambda fl: (-(changes.size([fl[0]])), fl[0]["path"]))
            doc = agentless.localization(problem, paths, [f["path"] for f, _ in order], settings.structure_max_files)
            rows.append(self._sample("localization", repo, doc, inherited))
        if "repair" in settings.samples:
            if len(modified) > settings.repair_max_files:
                return rows + skip("repair_too_many_files")
            shown, old, new = [], {}, {}
            for f, lang in modified:
                before, after = reader.blob(parent, f["path"]), reader.blob(commit.sha, f["path"])
                if before is None or after is None or len(before) > settings.repair_max_file_bytes:
                    return rows + skip("repair_file_too_large")
                try:
                    old[f["path"]], new[f["path"]] = before.decode("utf-8"), after.decode("utf-8")
                except UnicodeDecodeError:
                    return rows + skip("repair_not_utf8")
                shown.append((f["path"], lang, old[f["path"]], new[f["path"]], f["patch"]))
            doc = agentless.repair(problem, shown)
            row = self._sample("repair", repo, doc, inherited)
            row["repair_ok"] = agentless.verify(row["text"], old, new)
            rows.append(row)
        return rows

    def _sample(self, kind: str, repo: str, doc, inherited: dict) -> dict:
        text, spans = doc.text()
        chat_text, chat_spans = doc.chat(self.settings.chat)
        row = self._row(kind, repo, text, spans, **inherited)
        row.update(chat_text=chat_text, chat_no_loss_spans=chat_spans)
        return row

    def _decontaminate(self, table: pa.Table, figures: dict) -> pa.Table:
        index = self.index
        if index is None or not table.num_rows:
            evidence = pa.nulls(table.num_rows, decontam.EVIDENCE)
        else:
            evidence = index.evidence(table.column("text"), table.column("repo"), table.column("number"),
                                      table.column("url"), table.column("closes"), table.column("sha"))
            evidence = _inherit(table, evidence)
        hits = [(r, e) for r, e in zip(table.select(["id", "kind", "repo", "number", "sha"]).to_pylist(),
                                       evidence.to_pylist(), strict=True) if e]
        figures["hits"] = {"count": len(hits), "sample": [{**r, **e} for r, e in hits[:self.settings.decontam.evidence_sample]],
                           "by_method": _count(e["method"] for _, e in hits),
                           "by_repo": _count(r["repo"] for r, _ in hits),
                           "by_benchmark": _count(e["benchmark"] for _, e in hits)}
        return table.set_column(table.schema.get_field_index("decontam"), "decontam", evidence)

    # ---- decide -----------------------------------------------------------------------------------
    def decide(self, table: pa.Table) -> pa.Array:
        settings = self.settings
        n = table.num_rows
        col = table.column
        languages = pa.array(settings.languages, pa.string())
        in_language = pc.greater(_any_in(col("code_languages"), languages), 0)
        kinds = col("kind")
        is_change = pc.is_in(kinds, value_set=pa.array(["commit", "localization", "repair"]))
        has_language = pc.greater(pc.list_value_length(col("code_languages")), 0)
        rules = [
            ("contaminated", pc.is_valid(col("decontam"))),
            ("repair_mismatch", pc.equal(col("repair_ok"), False)),
            ("diff_mismatch", pc.equal(col("diff_ok"), False)),
            ("bot", pc.equal(col("is_bot"), True)),
            ("stars", pc.less(col("stars"), settings.min_stars)),
            ("non_pr_merge", pc.equal(col("merge"), "other")),
            ("language", pc.and_(pc.or_(is_change, has_language), pc.invert(in_language))),
            ("huge_diff", pc.or_(pc.greater(col("changed_lines"), settings.max_changed_lines),
                                 pc.greater(col("changed_files"), settings.max_files))),
        ]
        reason = pa.nulls(n, pa.string())
        trivial = pc.binary_join_element_wise("trivial_", col("trivial"), "")
        reason = pc.if_else(pc.is_valid(col("trivial")), trivial, reason)
        for name, hit in reversed(rules):  # the first rule that applies names the drop
            reason = pc.if_else(pc.fill_null(hit, False), pa.scalar(name), reason)
        return reason.combine_chunks() if isinstance(reason, pa.ChunkedArray) else reason

    def assemble(self, kept: pa.Table, part: Partition) -> pa.Table:
        return kept.drop_columns([f.name for f in SCORE_FIELDS])

    # ---- manifest -----------------------------------------------------------------------------------
    def finish(self, engine) -> dict:
        stage_dir = self.ctx.stage_dir(self.number)
        kept: dict[str, int] = dict.fromkeys(KINDS, 0)
        for name in io.listdir(stage_dir):
            if name.startswith("part-") and name.endswith(".parquet"):
                for value in io.read_parquet(io.join(stage_dir, name), ["kind"]).column("kind").to_pylist():
                    kept[value] = kept.get(value, 0) + 1
        figures = [io.read_json(io.join(self.work, "figures", n)) for n in io.listdir(io.join(self.work, "figures"))]
        validation: dict[str, dict] = {}
        hits = {"count": 0, "by_method": {}, "by_benchmark": {}, "by_repo": {}, "sample": []}
        skipped: dict[str, int] = {}
        bot_comments = 0
        for fig in figures:
            if "validation" in fig:
                v = validation.setdefault(fig["validation"]["repo"], {"checked": 0, "agreed": 0, "mismatches": []})
                v["checked"] += fig["validation"]["checked"]
                v["agreed"] += fig["validation"]["agreed"]
                v["mismatches"] = (v["mismatches"] + fig["validation"]["mismatches"])[:20]
            for key, value in fig.get("samples_skipped", {}).items():
                skipped[key] = skipped.get(key, 0) + value
            bot_comments += fig.get("threads", {}).get("bot_comments_removed", 0)
            h = fig.get("hits", {})
            hits["count"] += h.get("count", 0)
            for group in ("by_method", "by_benchmark", "by_repo"):
                for key, value in h.get(group, {}).items():
                    hits[group][key] = hits[group].get(key, 0) + value
            hits["sample"] = (hits["sample"] + h.get("sample", []))[:self.settings.decontam.evidence_sample]
        checked = sum(v["checked"] for v in validation.values())
        agreed = sum(v["agreed"] for v in validation.values())
        sources = self._step("sources") or {}
        links = self._step("links") or {}
        return {"github": {
            "samples": kept,
            "events": sources.get("events", {}), "api_records": sources.get("api_records", {}),
            "input_problems": sources.get("problems", {}),
            "git_diff_validation": {"checked": checked, "agreed": agreed,
                                    "agreement": round(agreed / checked, 6) if checked else None, "by_repo": validation},
            "repos": [{"repo": r["repo"], "commits": len(r["commits"])} for r in self._step("repos") or []],
            "samples_skipped": dict(sorted(skipped.items())), "bot_comments_removed": bot_comments,
            "repos_with_stars": len(self._star_table),
            "decontam": {**(self.index.summary() if self.index else {"enabled": False}),
                         "hits": hits, "linked_issues_found": len(links.get("linked", [])),
                         "instance_commits_found": len(links.get("commits", []))},
        }}


def base_files(commit: git.Commit) -> list[dict]:
    return [{"path": f.path, "status": f.status, "patch": f.patch} for f in commit.files]


def _problem(message: str) -> str:
    """The problem a change solves: its message (a PR merge: the PR title after the merge line)."""
    message = message.replace("\r\n", "\n").strip()
    if message.startswith("Merge pull request #"):
        message = message.split("\n", 1)[1].strip() if "\n" in message else ""
    return message


def _commit_text(repo: str, sha: str, message: str, files: list[dict]):
    from filters.github.render import Builder

    doc = Builder()
    doc.scaffold("Commit ").content(sha).scaffold(" in ").content(repo).scaffold("\n\n").content(message.strip())
    doc.scaffold("\n\n")
    for f in files:
        doc.content(f["patch"] if f["patch"].endswith("\n") or not f["patch"] else f["patch"] + "\n")
    return doc.text()


def _api_status(status: str | None, patch: str | None) -> str:
    if patch is None:
        return "B"
    return {"added": "A", "removed": "D"}.get(status or "", "M")


def _api_patch(path: str, patch: str | None) -> str:
    """An API file entry as a `git diff` section (the API gives the hunks only)."""
    if patch is None:
        return f"diff --git a/{path} b/{path}\nBinary files differ\n"
    return f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n{patch}\n"


def _inherit(table: pa.Table, evidence: pa.StructArray) -> pa.Array:
    """Samples made from a commit carry the commit's evidence (a repair of a benchmark fix is one)."""
    found = evidence.to_pylist()
    by_sha = {sha: e for sha, kind, e in zip(table.column("sha").to_pylist(), table.column("kind").to_pylist(), found,
                                            strict=True) if kind == "commit" and e}
    if not by_sha:
        return evidence
    shas = table.column("sha").to_pylist()
    return pa.array([e if e or s not in by_sha else by_sha[s] for e, s in zip(found, shas, strict=True)],
                    decontam.EVIDENCE)


def _any_in(lists: pa.ChunkedArray, values: pa.Array) -> pa.Array:
    flat = pc.list_flatten(lists)
    parents = pc.list_parent_indices(lists)
    hit = pc.is_in(flat, value_set=values).to_numpy(zero_copy_only=False)
    counts = np.bincount(np.asarray(parents)[hit], minlength=len(lists)) if len(hit) else np.zeros(len(lists), int)
    return pa.array(counts)


def _count(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        out[value] = out.get(value, 0) + 1
    return dict(sorted(out.items()))
