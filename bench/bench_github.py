"""Stage 7 benchmarks, per core, same run:

- github.gharchive: real GH Archive events → joined PR/issue threads (ours: whole-file inflate by
  libdeflate, every line's event type read in C, thread events only read: their fields straight
  from the JSON in C, msgspec for lines that pass leaves; compiled fragments and join) vs a plain `gzip` + `json` loop doing the same join in Python (every line
  parsed). Input: the real 2015-01-01 12:00 hour (8,273 events) read N times (3 quick, 20 full): a
  fresh process per side, so ours pays its first-touch page faults once per run. Goal >= 5x.
- github.decontam: documents/s through the decontamination matcher against every benchmark set
  (HumanEval, MBPP, SWE-bench Verified records, SWE-bench id lists) vs datatrove's n-gram
  decontamination (NGramsDecontFilter, 12-grams; its index built with its own indexer from the same
  benchmark texts) on the same real documents, 10% of them with a planted benchmark text
  (a HumanEval problem with changed digits, an MBPP solution or problem, a SWE-bench issue's words,
  a SWE-bench gold patch). Goal >= 10x at equal or better recall on the planted documents.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path

from bench.harness import Goal, call, compare, peer_job
from bench.inputs import documents

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data"
HOUR = SHARED / "github" / "gharchive" / "2015-01-01-12.json.gz"
BENCHMARKS = SHARED / "benchmarks"
THREAD_EVENTS = {"PullRequestEvent", "IssuesEvent", "IssueCommentEvent", "PullRequestReviewEvent",
                 "PullRequestReviewCommentEvent"}


# ---------------------------------------------------------------- GH Archive
def ours_gharchive(paths: list[str]) -> dict:
    from bench.harness import timed
    from filters.github import threads
    from filters.github.gharchive import read_archive

    with timed() as probe:
        fragments, events = [], 0
        for path in paths:
            found, stats = read_archive(path)
            fragments.extend(found)
            events += sum(stats.events.values())
        joined = threads.join(fragments)
        probe.items = events
        probe.metrics["threads"] = len(joined) // len(paths)


def plain_gharchive(paths: list[str]) -> dict:
    """What one writes without the pipeline: gzip + json per line, a dict join by repo + number."""
    from bench.harness import timed

    with timed() as probe:
        joined: dict[tuple, dict] = {}
        events = 0
        for path in paths:
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                for line in fh:
                    event = json.loads(line)
                    events += 1
                    if event.get("type") not in THREAD_EVENTS:
                        continue
                    payload = event["payload"]
                    record = payload.get("pull_request") or payload.get("issue") or {}
                    key = (event["repo"]["name"], record.get("number"))
                    thread = joined.setdefault(key, {"comments": {}})
                    for name in ("title", "body", "state", "created_at"):
                        if record.get(name) is not None:
                            thread[name] = record[name]
                    thread["user"] = (record.get("user") or {}).get("login")
                    for comment in (payload.get("comment"), payload.get("review")):
                        if comment:
                            thread["comments"][comment["id"]] = {"body": comment.get("body"),
                                                                 "user": (comment.get("user") or {}).get("login"),
                                                                 "created_at": comment.get("created_at")}
        for thread in joined.values():
            thread["comments"] = sorted(thread["comments"].values(), key=lambda c: c["created_at"] or "")
        probe.items = events
        probe.metrics["threads"] = len(joined) // len(paths)


# ---------------------------------------------------------------- decontamination
def _jsonl(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def planted_corpus(n: int, folder: Path) -> Path:
    """Real mixed documents, every 10th with a benchmark text planted in its middle (JSONL)."""
    path = folder / f"decontam-{n}.jsonl"
    if path.exists():
        return path
    from filters.decontam.patches import prose

    humaneval = _jsonl(BENCHMARKS / "humaneval/HumanEval.jsonl.gz")
    mbpp = _jsonl(BENCHMARKS / "mbpp/mbpp.jsonl.gz")
    swe = _jsonl(BENCHMARKS / "swe-bench/swe_bench_verified.jsonl.gz")
    import pyarrow.parquet as pq

    texts = pq.read_table(documents(n, kind="mixed", doc_bytes=2048).parquet, columns=["text"]).column("text").to_pylist()
    rng = random.Random(7)
    shift = lambda s: re.sub(r"\d", lambda m: str((int(m.group()) + 1) % 10), s)  # noqa: E731
    with path.open("w", encoding="utf-8") as out:
        for i, text in enumerate(texts):
            planted = None
            if i % 10 == 5:
                kind = (i // 10) % 5
                if kind == 0:
                    item = rng.choice(humaneval)
                    snippet, planted = shift(item["prompt"] + item["canonical_solution"]), item["task_id"]
                elif kind == 1:
                    item = rng.choice(mbpp)
                    snippet, planted = item["code"], f"mbpp/{item['task_id']}"
                elif kind == 2:
                    item = rng.choice(mbpp)
                    snippet, planted = shift(item["text"]) + "\n" + "\n".join(item["test_list"]), f"mbpp/{item['task_id']}"
                elif kind == 3:
                    item = rng.choice(swe)
                    snippet, planted = prose(item["problem_statement"])[:1500], item["instance_id"]
                else:
                    item = rng.choice(swe)
                    snippet, planted = item["patch"], item["instance_id"]
                half = len(text) // 2
                text = text[:half] + "\n\n" + snippet + "\n\n" + text[half:]
            out.write(json.dumps({"id": str(i), "text": text, "planted": planted}) + "\n")
    return path


def benchmark_files() -> list[str]:
    from filters.decontam import resolve_benchmark_files
    from pipeline.config import load_config

    return resolve_benchmark_files(load_config(None, [])["github"]["benchmarks"])


def ours_decontam(corpus: str) -> dict:
    import pyarrow as pa

    from bench.harness import timed
    from filters.decontam import build_index

    rows = [json.loads(line) for line in open(corpus, encoding="utf-8")]
    index = build_index(benchmark_files())  # built once per worker process: not the per-document work
    texts = pa.array([r["text"] for r in rows], pa.string())
    with timed(items=len(rows)) as probe:
        found = []
        for start in range(0, len(rows), 2000):
            found.extend(index.evidence(texts.slice(start, 2000)).to_pylist())
        probe.metrics.update(_recall(rows, [f is not None for f in found]))


def _recall(rows: list[dict], flagged: list[bool]) -> dict:
    planted = [r["planted"] is not None for r in rows]
    caught = sum(p and f for p, f in zip(planted, flagged, strict=True))
    false = sum(f and not p for p, f in zip(planted, flagged, strict=True))
    return {"recall": round(caught / max(1, sum(planted)), 4), "planted": sum(planted), "false_flags": false}


def run(quick: bool):
    paths = [str(HOUR)] * (3 if quick else 20)
    results = [compare("github.gharchive", call(ours_gharchive, paths), {"gzip_json_loop": call(plain_gharchive, paths)},
                       unit="events", input_desc=f"the real GH Archive hour 2015-01-01-12 (8,273 events) x {len(paths)}",
                       goals=[Goal(5.0, peer="gzip_json_loop")], reps=2 if quick else 3,
                       notes="events parsed into PR/issue threads joined by repo + number, comments ordered")]
    import tempfile

    folder = Path(tempfile.gettempdir()) / "crawl-to-tokens-bench"
    folder.mkdir(exist_ok=True)
    n = 2_000 if quick else 20_000
    corpus = str(planted_corpus(n, folder))
    files = benchmark_files()
    worker = HERE / "github_datatrove_worker.py"
    results.append(compare(
        "github.decontam", call(ours_decontam, corpus),
        {"datatrove": peer_job("datatrove", worker, [corpus, *files])},
        unit="docs", input_desc=f"{n:,} real mixed docs (~2 KB), 10% with a planted benchmark text",
        goals=[Goal(10.0, peer="datatrove"), Goal(1.0, peer="datatrove", metric="recall")], reps=2 if quick else 3,
        notes="every benchmark set (HumanEval, MBPP, SWE-bench Verified texts + patches, SWE-bench ids); "
              "index building not timed on either side"))
    return results
