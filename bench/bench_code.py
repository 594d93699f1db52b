"""Stage 6 benchmark: OpenCoder's rules on real multi-language code, ours vs opc_data_filtering.

Corpus (real files, read in place or unpacked once into bench/.cache/code/): the venv's Python
standard library and three pure-Python packages of site-packages (pip, setuptools, pygments), Debian's Go source tree (golang-1.19-src), the JDK's
java.base sources (openjdk-17-source's src.zip), glibc's sources (glibc-source), /usr/include
and jQuery (libjs-jquery: jquery.js and jquery.min.js); `make sysdeps` installs them. Files are
typed once by our typing (linguist through enry) into a manifest; both sides get the same typed
file (program_lang, doc_type, lang, filename with extension), so they differ on rules only.

- code.rules: all rules of each file's profile, ours vs OpenCoder's in its own venv
  (bench/.venvs/opencoder) on a per-language sample of the corpus; goal >= 20x per core. The
  notes carry the agreement of the (file, rule) decisions (goal >= 99%); every disagreement is
  written to bench/results/code.agreement.json, grouped by rule.
- code.rules.corpus: ours alone on the whole corpus (>= 200 MB); goal >= 20 MB/s per core.
- code.stage_memory: the whole stage on a large input (the corpus repeated); its peak RSS.

    .venv/bin/python -m bench --only code            (--quick: smaller sample, no large input)
    .venv/bin/python -m bench.bench_code --agreement  (only the agreement run)
"""

from __future__ import annotations

import json
import os
import subprocess
import sysconfig
import tempfile
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

from bench.harness import RESULTS, Goal, call, compare, peer_job
from bench.inputs import _cached
from bench.peers import BENCH_DIR

HERE = Path(__file__).parent
CACHE = BENCH_DIR / ".cache" / "code"
STDLIB = Path(sysconfig.get_paths()["stdlib"])
SITE_PACKAGES = [Path(sysconfig.get_paths()["purelib"]) / name for name in ("pip", "setuptools", "pygments")]
GO_SRC = Path("/usr/share/go-1.19/src")
JDK_ZIP = Path("/usr/lib/jvm/openjdk-17/lib/src.zip")
GLIBC_TAR = Path("/usr/src/glibc/glibc-2.36.tar.xz")
JQUERY = Path("/usr/share/javascript/jquery")
INCLUDE = Path("/usr/include")
MB = 1_000_000


def _jdk_sources() -> Path | None:
    """java.base's sources out of the JDK's src.zip (a zip, so unpacked once)."""
    if not JDK_ZIP.exists():
        return None

    def build(tmp: Path) -> None:
        with zipfile.ZipFile(JDK_ZIP) as archive:
            for name in archive.namelist():
                if name.startswith("java.base/") and name.endswith(".java"):
                    archive.extract(name, tmp)
    return _cached(CACHE / "jdk-src", build)


def _glibc_sources() -> Path | None:
    if not GLIBC_TAR.exists():
        return None

    def build(tmp: Path) -> None:
        tmp.mkdir(parents=True)
        subprocess.run(["tar", "-xJf", str(GLIBC_TAR), "-C", str(tmp)], check=True)
    return _cached(CACHE / "glibc-src", build)


def roots() -> list[Path]:
    """The real source trees of the corpus that exist on this machine."""
    found = [STDLIB, *SITE_PACKAGES, GO_SRC, _jdk_sources(), _glibc_sources(), INCLUDE, JQUERY]
    return [p for p in found if p is not None and p.exists()]


def _type_files(folder: str, out: str) -> None:
    """Every readable, decodable, typed file under the roots → a manifest line (our typing)."""
    from filters.code import languages, sources
    from filters.code.config import DEFAULT_EXCLUDED, DEFAULT_TYPE_OVERRIDES
    from filters.code.stage import _cjk_share

    excluded = frozenset(DEFAULT_EXCLUDED)
    with open(out, "w", encoding="utf-8") as handle:
        for root in folder.split(os.pathsep):
            for unit in sources.plan([root]):
                if unit.kind != "file" or unit.size > 3_000_000 or "__pycache__" in unit.path:
                    continue
                row = sources.read([unit], 3_000_000, skip_vendored=False)[0]
                if row["text"] is None:
                    continue
                text = row["text"]
                name = languages.language_of(unit.path, text[:languages.CONTENT_SAMPLE].encode("utf-8", "surrogatepass"))
                kind = languages.doc_type(name, DEFAULT_TYPE_OVERRIDES, excluded)
                if kind not in ("code", "data", "text"):
                    continue
                filename = unit.path.rsplit("/", 1)[-1]
                handle.write(json.dumps({
                    "id": f"{Path(root).name}/{unit.path}", "path": unit.source, "filename": filename,
                    "ext": filename.rsplit(".", 1)[-1] if "." in filename else "", "size": row["size_bytes"],
                    "language": name, "program_lang": languages.language_key(name), "doc_type": kind,
                    "lang": ("zh" if _cjk_share(text) > 0.3 else "en") if kind == "text" else "en"}) + "\n")


def manifest() -> Path:
    """The typed corpus (cached): one JSON line per file."""
    return _cached(CACHE / "manifest.jsonl", lambda tmp: _type_files(os.pathsep.join(map(str, roots())), str(tmp)))


def entries(path: Path | str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def sample(budget: int, name: str) -> Path:
    """A per-language sample of the manifest of about `budget` bytes: each language gets an equal
    share (what is left of a small language's share goes to the others), files taken in a fixed
    hash order so the sample is the same on every run."""
    import hashlib

    def build(tmp: Path) -> None:
        by_language: dict[str, list[dict]] = defaultdict(list)
        for entry in entries(manifest()):
            by_language[entry["language"]].append(entry)
        for files in by_language.values():
            files.sort(key=lambda e: hashlib.sha256(e["id"].encode()).hexdigest())
        chosen, left, languages = [], budget, sorted(by_language, key=lambda k: sum(e["size"] for e in by_language[k]))
        for i, language in enumerate(languages):
            share, taken = left / (len(languages) - i), 0
            for entry in by_language[language]:
                if taken + entry["size"] > share and taken:
                    break
                chosen.append(entry)
                taken += entry["size"]
            left -= taken
        with open(tmp, "w", encoding="utf-8") as handle:
            for entry in sorted(chosen, key=lambda e: e["id"]):
                handle.write(json.dumps(entry) + "\n")
    return _cached(CACHE / f"sample-{name}.jsonl", build)


# ---------------------------------------------------------------- ours

PHASES = ("words", "repetition", "lines", "characters", "comments", "code_lines", "parser", "other rules")


def _phases(doc) -> list:
    """The shared work of the rules, in the order it is first needed, so each phase's time is its own."""
    from filters.code import specific

    parser = {"python": specific.python_facts, "javascript": specific.javascript_facts,
              "html": specific.html_text_chars}.get(doc.language)
    return [lambda: doc.words, lambda: doc.repetition, lambda: doc.lines, lambda: doc.char_counts,
            lambda: doc.code, lambda: doc.code_lines, (lambda: parser(doc)) if parser else (lambda: None)]


def ours_rules(path: str, out: str = "", phases: bool = False, values: bool = True) -> None:
    """Every rule of each file's profile, as stage 6 scores them; decisions (stochastic rules on
    their deterministic part) to `out`. Files are read one at a time (the whole corpus is never
    held). With `phases`, CPU seconds per phase of the shared work and per language are metrics."""
    import time

    from bench.harness import timed
    from filters.code import specific  # noqa: F401 - registers the language rules
    from filters.code.config import CodeConfig
    from filters.code.document import CodeDoc
    from filters.code.hits import fires, profile_of, signals
    from pipeline.config import validate_section

    cuts = validate_section(CodeConfig, {}, "code").model_dump()["rules"]
    files = entries(path)
    spent: Counter = Counter()
    by_language: Counter = Counter()
    size_by_language: Counter = Counter()
    handle = open(out, "w", encoding="utf-8") if out else None  # noqa: SIM115 - closed below
    clock = time.process_time
    with timed() as probe:
        total = 0
        for entry in files:
            text = Path(entry["path"]).read_bytes().decode("utf-8")
            total += len(text.encode("utf-8", "surrogatepass"))
            start = clock()
            profile = profile_of(entry["doc_type"], entry["program_lang"], entry["lang"])
            doc = CodeDoc(text, entry["filename"], entry["ext"], entry["size"], entry["program_lang"],
                          entry["doc_type"], entry["lang"])
            if phases:
                for name, step in zip(PHASES, _phases(doc), strict=False):
                    at = clock()
                    step()
                    spent[name] += clock() - at
            at = clock()
            found = signals(doc, cuts[profile])
            spent["other rules"] += clock() - at
            by_language[entry["language"]] += clock() - start
            size_by_language[entry["language"]] += entry["size"]
            if handle:
                fired = sorted(n for n, v in found.items() if fires(v, cuts[profile][n]))
                handle.write(json.dumps({"id": entry["id"], "language": entry["language"], "fired": fired,
                                         **({"signals": found} if values else {})}) + "\n")
        probe.items = total
        if phases:
            probe.metrics["cpu_s_by_phase"] = {k: round(v, 2) for k, v in spent.most_common()}
            probe.metrics["mb_per_cpu_s_by_language"] = {
                k: round(size_by_language[k] / MB / v, 2) for k, v in by_language.most_common(15) if v}
    if handle:
        handle.close()


# ---------------------------------------------------------------- agreement

def agreement(manifest_path: str, ours_path: str, theirs_path: str) -> dict:
    """Share of identical (file, rule) decisions over the rules either side's profile has, and
    every disagreement (file, rule, our value, their value), grouped by rule."""
    from filters.code.config import DEFAULT_RULES
    from filters.code.hits import profile_of

    files = {e["id"]: e for e in entries(manifest_path)}
    ours = {r["id"]: r for r in entries(ours_path)}
    theirs = {r["id"]: r for r in entries(theirs_path)}
    decisions = same = 0
    by_rule: dict[str, list] = defaultdict(list)
    per_rule = Counter()
    for file_id, entry in files.items():
        profile = profile_of(entry["doc_type"], entry["program_lang"], entry["lang"])
        rules = {name for name, cut in DEFAULT_RULES[profile].items() if cut is not None}
        mine, other = set(ours[file_id]["fired"]), set(theirs[file_id]["fired"])
        for rule in sorted(rules | mine | other):
            decisions += 1
            per_rule[rule] += 1
            if (rule in mine) == (rule in other):
                same += 1
            else:
                by_rule[rule].append({"file": file_id, "language": entry["language"], "ours": rule in mine,
                                      "our_value": ours[file_id]["signals"].get(rule),
                                      "their_value": theirs[file_id]["signals"].get(rule)})
    return {"decisions": decisions, "identical": same, "agreement": same / decisions if decisions else None,
            "files": len(files), "disagreements": {rule: {"count": len(items), "of": per_rule[rule], "items": items}
                                                   for rule, items in sorted(by_rule.items(), key=lambda kv: -len(kv[1]))}}


def run_agreement(quick: bool):
    """code.rules: ours vs OpenCoder on the same per-language sample; agreement in the notes."""
    budget = (3 if quick else 12) * MB
    path = sample(budget, f"{budget // MB}mb")
    files = entries(path)
    with tempfile.TemporaryDirectory() as tmp:
        ours_out, theirs_out = f"{tmp}/ours.jsonl", f"{tmp}/theirs.jsonl"
        result = compare(
            "code.rules", call("bench.bench_code:ours_rules", str(path), ours_out),
            {"opencoder": peer_job("opencoder", HERE / "code_opencoder_worker.py", [str(path), theirs_out])},
            unit="bytes", input_desc=f"{len(files):,} real files ({budget // MB} MB, a per-language sample of "
                                     f"{', '.join(p.name for p in roots())})",
            reps=1, goals=[Goal(20, peer="opencoder")])
        if Path(ours_out).exists() and Path(theirs_out).exists():
            report = agreement(str(path), ours_out, theirs_out)
            (RESULTS / ("quick" if quick else "")).mkdir(parents=True, exist_ok=True)
            (RESULTS / ("quick" if quick else "") / "code.agreement.json").write_text(json.dumps(report, indent=1) + "\n")
            counts = ", ".join(f"{rule} {v['count']}/{v['of']}" for rule, v in list(report["disagreements"].items())[:8])
            result.notes = (f"(file, rule) decisions identical to OpenCoder's: {report['agreement']:.3%} of "
                            f"{report['decisions']:,} (goal >= 99%); disagreements by rule: {counts or 'none'}")
            result.below_goal = bool(result.below_goal) or report["agreement"] < 0.99
            result.save()
    return result


def repeated_table(total_bytes: int) -> Path:
    """A parquet table of real corpus files repeated until `total_bytes` (each copy in its own
    repo, so every row is a file of its own), written in row groups of about 8 MB."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def build(tmp: Path) -> None:
        files = entries(manifest())
        writer, written, copy = None, 0, 0
        while written < total_bytes:
            rows: dict[str, list] = {"path": [], "content": [], "repo": []}
            held = 0
            for entry in files:
                if written >= total_bytes:
                    break
                text = Path(entry["path"]).read_bytes().decode("utf-8")
                rows["path"].append(entry["id"])
                rows["content"].append(text)
                rows["repo"].append(f"copy{copy}")
                held += entry["size"]
                written += entry["size"]
                if held >= 8 * MB:
                    table = pa.table(rows)
                    writer = writer or pq.ParquetWriter(tmp, table.schema)
                    writer.write_table(table)
                    rows, held = {"path": [], "content": [], "repo": []}, 0
            if rows["path"]:
                table = pa.table(rows)
                writer = writer or pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
            copy += 1
        writer.close()
    return _cached(CACHE / f"repeated-{total_bytes // MB}mb.parquet", build)


def stage_memory(quick: bool):
    """code.stage_memory: the whole stage (Spark local) on 1x and 4x a table of real files; peak
    RSS must not grow with the input (partitions of code.partition_bytes stream)."""
    from bench import harness

    base = (16 if quick else 256) * MB

    def job_for(factor: int):
        table = repeated_table(base * factor)
        return harness.stage_run(6, [f"code.inputs=[{table}]", "code.near_dedup=false"]), None

    return harness.scaling("code.stage_memory", job_for, factors=(1, 4), unit="files",
                           input_desc=f"real corpus files repeated: {base // MB} MB and {4 * base // MB} MB parquet tables",
                           notes="peak RSS of the whole stage tree (driver + Spark local) at 1x and 4x input")


def corpus_speed(quick: bool):
    """code.rules.corpus: ours alone on the whole typed corpus (>= 200 MB; --quick: every 16th
    file), with CPU seconds per phase and MB/s per language as metrics."""
    path = manifest()
    if quick:
        path = _cached(CACHE / "manifest-sixteenth.jsonl", lambda tmp: tmp.write_text(
            "".join(line + "\n" for i, line in enumerate(manifest().read_text().splitlines()) if i % 16 == 0)))
    size = sum(e["size"] for e in entries(path))
    return compare("code.rules.corpus", call("bench.bench_code:ours_rules", str(path), "", True, False), {},
                   unit="bytes", input_desc=f"{size / MB:,.0f} MB of real files ({', '.join(p.name for p in roots())})",
                   reps=1, goals=[Goal(20 * MB)])


def run(quick: bool):
    return [run_agreement(quick), corpus_speed(quick), stage_memory(quick)]


if __name__ == "__main__":
    import argparse

    from bench import harness

    parser = argparse.ArgumentParser(description="python -m bench.bench_code [--agreement] [--quick]")
    parser.add_argument("--agreement", action="store_true", help="only code.rules (speed + agreement)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    harness.CONTEXT.update(stage="code", quick=args.quick)
    for r in ([run_agreement(args.quick)] if args.agreement else run(args.quick)):
        print(r.name, {k: s.per_core for k, s in r.sides.items()}, r.ratios, r.notes)
