"""Stage-3 benchmark: rule-scorer throughput per core and pass/fail agreement with datatrove.

    .venv/bin/python bench/bench_quality.py [--docs N]

Docs: the real local corpus (filters/quality/corpus.py: Python docs pages, trafilatura pages' main
text and boilerplate) plus the CCNet docs. datatrove runs in its own venv (bench/.venvs/datatrove)
through bench/quality_datatrove_worker.py. Measures, does not assert. Writes bench/results/quality.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from filters.quality import corpus, rules  # noqa: E402
from filters.quality.textbatch import TextBatch  # noqa: E402

DATATROVE = ROOT / "bench" / ".venvs" / "datatrove" / "bin" / "python"


def load_docs(limit: int, cache: str | None) -> list[str]:
    items = corpus.read_jsonl(Path(cache)) if cache and Path(cache).is_file() else \
        list(corpus.python_doc_pages()) + list(corpus.web_pages())
    texts = [i.text for i in items] + [d["text"] for d in corpus.ccnet_docs()]
    return texts[:limit]


def ours(texts: list[str], batch: int = 500) -> tuple[dict, float]:
    verdicts = {name: [] for name in ("gopher_quality", "gopher_repetition", "c4", "fineweb")}
    start = time.process_time()
    for k in range(0, len(texts), batch):
        b = TextBatch(texts[k:k + batch])
        verdicts["gopher_quality"] += rules.gopher_quality(b).reasons
        verdicts["gopher_repetition"] += rules.gopher_repetition(b).reasons
        verdicts["c4"] += rules.c4(b).reasons
        verdicts["fineweb"] += rules.fineweb(b).reasons
    return verdicts, len(texts) / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=3000)
    parser.add_argument("--corpus", default="/tmp/quality_corpus.jsonl")
    args = parser.parse_args()
    texts = load_docs(args.docs, args.corpus)
    verdicts, rate = ours(texts)
    result = {"docs": len(texts), "mean_chars": sum(map(len, texts)) / len(texts),
              "ours_rule_scorers_docs_per_cpu_s": rate}
    if DATATROVE.exists():
        with tempfile.TemporaryDirectory() as tmp:
            docs = Path(tmp) / "docs.jsonl"
            docs.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
            out = Path(tmp) / "out.jsonl"
            proc = subprocess.run([str(DATATROVE), str(ROOT / "bench" / "quality_datatrove_worker.py"),
                                   str(docs), str(out), "--time"], capture_output=True, text=True, check=True)
            result["datatrove_docs_per_s"] = json.loads(proc.stderr.strip().splitlines()[-1])
            theirs = [json.loads(line) for line in out.read_text().splitlines()]
        result["agreement"] = {
            name: sum((a is None) == (t[name] is None) for a, t in zip(v, theirs, strict=True)) / len(texts)
            for name, v in verdicts.items()}
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "quality.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
