"""Distil the MiniLM zero-shot teacher into the hashed linear head used in the crawl loop.

    .venv/bin/python -m crawl.selection.train_head [--shared ../shared]

Pages: real HTML from ../shared/data (trafilatura test pages, Common Crawl/dolma WARC responses,
CCNet text) and Debian's python3-doc. The teacher labels each page's text prefix; a multinomial
logistic regression on hashed uni+bigrams learns those labels. Writes head.npz and
head_report.json (student/teacher agreement on held-out pages). Deterministic (fixed seed).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from warcio.archiveiterator import ArchiveIterator

from crawl.parse import parse_html
from crawl.selection.classifier import (
    FORMAT_NAMES,
    HEAD_PATH,
    TOPIC_NAMES,
    MiniLMZeroShot,
    features,
)

PYDOC = Path("/usr/share/doc/python3.11/html")
PREFIX_CHARS = 2000


def page_text(html: bytes) -> str:
    info = parse_html(html)
    return (info.title + " " + info.text)[:PREFIX_CHARS]


GOLD = Path(__file__).with_name("gold_topics.json")


def load_pages(shared: Path, rng: random.Random) -> list[tuple[str, str]]:
    """(origin, text prefix) of every real page we can read locally, except the gold pages."""
    gold = json.loads(GOLD.read_text())
    pages: list[tuple[str, str]] = []
    for sub in ("cache", "eval"):
        for p in sorted((shared / "data/trafilatura/tests" / sub).glob("*.html")):
            if f"tests/{sub}/{p.name}" not in gold:
                pages.append(("trafilatura", page_text(p.read_bytes())))
    for warc in sorted((shared / "data/warc").glob("*/*.warc.gz")):
        try:
            with open(warc, "rb") as f:
                for rec in ArchiveIterator(f):
                    ctype = (rec.http_headers.get_header("Content-Type") or "") if rec.http_headers else ""
                    if rec.rec_type == "response" and "html" in ctype:
                        pages.append(("warc", page_text(rec.content_stream().read())))
        except Exception:  # noqa: BLE001 - some sample WARCs are deliberately broken
            continue
    for jl in sorted((shared / "data/cc-text/dolma-ccnet").glob("*.jsonl.gz")):
        with gzip.open(jl, "rt") as f:
            for line in f:
                pages.append(("ccnet", json.loads(line)["text"][:PREFIX_CHARS]))
    docs = sorted(PYDOC.rglob("*.html"))
    for p in rng.sample(docs, min(200, len(docs))):
        pages.append(("python-doc", page_text(p.read_bytes())))
    return [(o, t) for o, t in pages if len(t.split()) >= 20]


def teacher_scores(teacher: MiniLMZeroShot, texts: list[str], cache: str | None):
    """The teacher's topic and format scores, reused from `cache` when it holds these texts."""
    key = hashlib.sha256("\0".join(texts).encode()).hexdigest()
    if cache and Path(cache).exists():
        data = np.load(cache)
        if str(data["key"]) == key:
            return data["ts"], data["fs"]
    ts, fs = teacher.scores(texts)
    if cache:
        np.savez(cache, key=key, ts=ts, fs=fs)
    return ts, fs


def fit(x, y: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    model = LogisticRegression(C=5.0, max_iter=2000, class_weight="balanced")
    model.fit(x, y)
    w = np.zeros((n_classes, x.shape[1]), np.float32)
    b = np.full(n_classes, -30.0, np.float32)
    if len(model.classes_) == 2:  # binary case: sklearn keeps one row
        w[model.classes_[1]], b[model.classes_[1]] = model.coef_[0], model.intercept_[0]
        b[model.classes_[0]] = 0.0
    else:
        w[model.classes_], b[model.classes_] = model.coef_, model.intercept_
    return w, b


def predict(w, b, x) -> np.ndarray:
    return np.asarray(x @ w.T + b).argmax(axis=1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[3] / "shared"))
    parser.add_argument("--cache", help="an .npz to keep the teacher's scores in (re-runs skip MiniLM)")
    args = parser.parse_args()
    rng = random.Random(1234)
    pages = load_pages(Path(args.shared), rng)
    origins = [o for o, _ in pages]
    texts = [t for _, t in pages]
    teacher = MiniLMZeroShot()
    ts, fs = teacher_scores(teacher, texts, args.cache)
    y_topic, y_format = ts.argmax(axis=1), fs.argmax(axis=1)
    x = features(texts)
    order = list(range(len(texts)))
    rng.shuffle(order)
    cut = int(0.75 * len(order))
    train, test = np.array(order[:cut]), np.array(order[cut:])
    report = {"pages": len(texts), "by_origin": {o: origins.count(o) for o in sorted(set(origins))},
              "held_out": len(test)}
    for name, y, n in (("topic", y_topic, len(TOPIC_NAMES)), ("format", y_format, len(FORMAT_NAMES))):
        w, b = fit(x[train], y[train], n)
        report[f"{name}_agreement_with_teacher"] = float((predict(w, b, x[test]) == y[test]).mean())
        report[f"{name}_teacher_majority_baseline"] = float(
            (y[test] == np.bincount(y[train]).argmax()).mean()
        )
    pydoc = np.array([i for i in test if origins[i] == "python-doc"])
    sw = TOPIC_NAMES.index("Software Development")
    report["python_doc_held_out"] = len(pydoc)
    report["python_doc_teacher_software_development"] = float((y_topic[pydoc] == sw).mean())
    tw, tb = fit(x, y_topic, len(TOPIC_NAMES))
    fw, fb = fit(x, y_format, len(FORMAT_NAMES))
    report["python_doc_student_software_development_held_out"] = None
    w_held, b_held = fit(x[train], y_topic[train], len(TOPIC_NAMES))
    report["python_doc_student_software_development_held_out"] = float(
        (predict(w_held, b_held, x[pydoc]) == sw).mean()
    )
    report["teacher_topic_distribution"] = {
        TOPIC_NAMES[i]: int(c) for i, c in enumerate(np.bincount(y_topic, minlength=24)) if c
    }
    report["teacher_format_distribution"] = {
        FORMAT_NAMES[i]: int(c) for i, c in enumerate(np.bincount(y_format, minlength=24)) if c
    }
    # Hand-labelled topics of 38 real pages (mostly German news/blogs; never used for training):
    # accuracy of the teacher and of the shipped student against a human, not against each other.
    gold = json.loads(GOLD.read_text())
    gold_texts = [page_text((Path(args.shared) / "data/trafilatura" / key).read_bytes()) for key in sorted(gold)]
    gold_y = np.array([TOPIC_NAMES.index(gold[key]["topic"]) for key in sorted(gold)])
    report["gold_pages"] = len(gold_y)
    report["gold_topic_accuracy_teacher"] = float((teacher.scores(gold_texts)[0].argmax(axis=1) == gold_y).mean())
    report["gold_topic_accuracy_student"] = float((predict(tw, tb, features(gold_texts)) == gold_y).mean())
    np.savez_compressed(HEAD_PATH, topic_w=tw.astype(np.float16), topic_b=tb,
                        format_w=fw.astype(np.float16), format_b=fb)
    HEAD_PATH.with_name("head_report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
