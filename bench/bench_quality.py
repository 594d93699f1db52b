"""Stage 3 benchmark: rule scorers vs datatrove (speed per core and pass/fail agreement), model
scorers vs the bare fastText / sentence-transformers calls.

Inputs: 3,000 documents of real web paragraphs from bench.inputs (about 3.5 KB each), and the
whole real pages of the quality corpus (Python docs pages, trafilatura pages' main text and
boilerplate, CCNet docs; filters/quality/corpus.py) for agreement on unedited documents.
- quality.rules: our Gopher quality + Gopher repetition + C4 + FineWeb together vs datatrove's four
  filters (its own venv). Goal >= 1,500 docs/s per core and >= 20x datatrove. The notes carry the
  share of documents where each rule set's pass/fail equals datatrove's (goal >= 99%).
- quality.stage: the whole scoring of stage 3 (all six scorers + stem, per-language batches) on the
  1,000 real FineWeb pages of ../shared/data/quality (3.3 KB on average) vs datatrove's four rule
  filters and vs the raw all-MiniLM-L6-v2 call (the old edu scorer's cost) on the same pages.
  Goal >= 300 docs/s per core.
- quality.fasttext: our scorer vs the bare fastText call on the same texts (>= 0.9x).
- quality.edu: our edu scorer (static embedding + TF-IDF head) vs the raw MiniLM call (>= 20x).

    .venv/bin/python -m bench --only quality      (or: python bench/bench_quality.py)
    .venv/bin/python -m bench.bench_quality --rules-only      (only the two rule-scorer comparisons)
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from bench.harness import Goal, call, compare, peer_job, timed
from bench.inputs import CACHE, documents

HERE = Path(__file__).parent
RULE_SETS = ("gopher_quality", "gopher_repetition", "c4", "fineweb")


def _texts(path: str) -> list[str]:
    if path.endswith(".jsonl"):
        with open(path, encoding="utf-8") as handle:
            return [json.loads(line)["text"] for line in handle]
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=["text"]).column("text").to_pylist()


def real_pages() -> Path:
    """Whole real pages (not paragraph draws) as JSONL, built once into the bench cache."""
    path = CACHE / "quality-real-pages.jsonl"
    if not path.exists():
        from filters.quality import corpus

        items = list(corpus.python_doc_pages()) + list(corpus.web_pages())
        items += [corpus.Doc(d["name"], d["text"], "en", "web", "ccnet_en") for d in corpus.ccnet_docs()]
        path.parent.mkdir(parents=True, exist_ok=True)
        corpus.write_jsonl(items, path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)
    return path


def fineweb_pages() -> Path:
    """The 1,000 real FineWeb pages (../shared/data/quality) as JSONL in the bench cache."""
    path = CACHE / "quality-fineweb-pages.jsonl"
    if not path.exists():
        from filters.quality import corpus

        path.parent.mkdir(parents=True, exist_ok=True)
        corpus.write_jsonl(corpus.docs(["fineweb_edu"]), path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)
    return path


def ours_stage(path: str) -> None:
    """Every scorer of stage 3 (default config), in batches of 1,000 as a partition would run."""
    from filters.quality.config import QualityConfig
    from filters.quality.scorers import score_texts

    texts = _texts(path)
    settings = QualityConfig()
    score_texts(texts[:50], settings, ["en"] * 50)   # loads the models, compiles the kernels
    with timed(items=len(texts)):
        for k in range(0, len(texts), 1000):
            chunk = texts[k:k + 1000]
            score_texts(chunk, settings, ["en"] * len(chunk))


def ours_rules(path: str, out: str) -> None:
    """The three rule scorers (four rule sets) on every doc, batches of 1,000; verdicts to `out`."""
    from filters.quality import rules
    from filters.quality.textbatch import TextBatch

    texts = _texts(path)
    verdicts = {name: [] for name in RULE_SETS}
    # first-call costs (kernels, regexes, the compiled n-gram scan), as the peer warms spaCy
    warm = TextBatch(texts[:20] + [" ".join(["one two three four five six seven"] * 4)])
    for rule_set in (rules.gopher_quality, rules.gopher_repetition, rules.c4, rules.fineweb):
        rule_set(warm)
    with timed(items=len(texts)):
        for k in range(0, len(texts), 1000):
            batch = TextBatch(texts[k:k + 1000])
            verdicts["gopher_quality"] += rules.gopher_quality(batch).reasons
            verdicts["gopher_repetition"] += rules.gopher_repetition(batch).reasons
            verdicts["c4"] += rules.c4(batch).reasons
            verdicts["fineweb"] += rules.fineweb(batch).reasons
    Path(out).write_text(json.dumps(verdicts))


def agreement(ours_path: str, theirs_path: str) -> dict[str, float]:
    ours = json.loads(Path(ours_path).read_text())
    theirs = [json.loads(line) for line in Path(theirs_path).read_text().splitlines()]
    return {name: sum((a is None) == (t[name] is None) for a, t in zip(ours[name], theirs, strict=True))
            / len(theirs) for name in RULE_SETS}


def fasttext_ours(path: str) -> None:
    from filters.quality import models

    texts = _texts(path)
    models.load_fasttext(str(models.DEFAULT_FASTTEXT))
    with timed(items=len(texts)):
        models.fasttext_scores(texts, str(models.DEFAULT_FASTTEXT))


def fasttext_raw(path: str) -> None:
    """The bare call: one predict over the newline-free texts."""
    import fasttext

    from filters.quality import models

    texts = _texts(path)
    model = fasttext.load_model(str(models.DEFAULT_FASTTEXT))
    with timed(items=len(texts)):
        model.predict([" ".join(t[:20_000].lower().split()) for t in texts], k=-1)


def edu_ours(path: str) -> None:
    from filters.quality import models

    texts = _texts(path)
    models.edu_scores(texts[:20])
    with timed(items=len(texts)):
        models.edu_scores(texts)


def minilm_raw(path: str) -> None:
    """The bare all-MiniLM-L6-v2 call on each page's first 2,000 chars (what edu cost before)."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    from filters.quality.static_embed import minilm_path

    texts = _texts(path)
    model = SentenceTransformer(minilm_path(), device="cpu")
    model.max_seq_length = 256
    model.encode(texts[:8])
    with timed(items=len(texts)):
        model.encode([t[:2000] for t in texts], batch_size=32, normalize_embeddings=True)


def rules(quick: bool):
    """quality.rules (paragraph docs) and quality.rules.real_pages, with pass/fail agreement."""
    corpus = documents(600 if quick else 3000, kind="web", doc_bytes=3500)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        notes = []
        for label, path in (("paragraph docs", str(corpus.parquet)), ("real pages", str(real_pages()))):
            jsonl = str(corpus.jsonl) if path == str(corpus.parquet) else path
            ours_out, theirs_out = f"{tmp}/ours.json", f"{tmp}/theirs.jsonl"
            result = compare(
                "quality.rules" if label == "paragraph docs" else "quality.rules.real_pages",
                call("bench.bench_quality:ours_rules", path, ours_out),
                {"datatrove": peer_job("datatrove", HERE / "quality_datatrove_worker.py",
                                       [jsonl, theirs_out])},
                unit="docs", input_desc=f"{label}: {path}", reps=1 if quick else 3,
                # docs/s goals are for ~3.5 KB docs; whole pages average ~14 KB
                goals=[Goal(1500), Goal(20, peer="datatrove")] if label == "paragraph docs"
                else [Goal(20, peer="datatrove")])
            if Path(ours_out).exists() and Path(theirs_out).exists():
                agree = agreement(ours_out, theirs_out)
                notes.append(f"{label}: " + ", ".join(f"{k} {v:.2%}" for k, v in agree.items()))
                result.notes = "pass/fail agreement with datatrove (goal >= 99%): " + notes[-1]
                result.save()
            results.append(result)
    return results


def run(quick: bool):
    results = rules(quick)
    corpus = documents(600 if quick else 3000, kind="web", doc_bytes=3500)
    results.append(compare("quality.fasttext", call("bench.bench_quality:fasttext_ours", str(corpus.parquet)),
                           {"fasttext-raw": call("bench.bench_quality:fasttext_raw", str(corpus.parquet))},
                           unit="docs", input_desc=str(corpus.parquet), goals=[Goal(0.9, peer="fasttext-raw")]))
    pages = fineweb_pages()
    results.append(compare(
        "quality.stage", call("bench.bench_quality:ours_stage", str(pages)),
        {"datatrove-rules": peer_job("datatrove", HERE / "quality_datatrove_worker.py", [str(pages), "/dev/null"]),
         "minilm-raw": call("bench.bench_quality:minilm_raw", str(pages))},
        unit="docs", input_desc=f"1,000 real FineWeb pages (3.3 KB avg): {pages}", reps=1 if quick else 3,
        goals=[Goal(300)], timeout=7200))
    results.append(compare("quality.edu", call("bench.bench_quality:edu_ours", str(pages)),
                           {"minilm-raw": call("bench.bench_quality:minilm_raw", str(pages))},
                           unit="docs", input_desc=str(pages), reps=1 if quick else 2,
                           goals=[Goal(20, peer="minilm-raw")], timeout=7200))
    return results


if __name__ == "__main__":
    import argparse

    from bench import harness

    parser = argparse.ArgumentParser(description="python -m bench.bench_quality [--rules-only] [--quick]")
    parser.add_argument("--rules-only", action="store_true", help="only quality.rules and .real_pages")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    harness.CONTEXT.update(stage="quality", quick=args.quick)
    for r in (rules if args.rules_only else run)(quick=args.quick):
        print(r.name, {k: s.per_core for k, s in r.sides.items()}, r.ratios, r.notes)
