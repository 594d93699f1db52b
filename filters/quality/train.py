"""Offline training of the quality models: `python -m pipeline train <what> ...`.

    train fasttext-quality --positive A.txt B.jsonl --negative C.jsonl --out model.bin
    train edu --input scores.jsonl --out head.npz [--embedder PATH]      (JSONL rows {text, score})
    train perplexity --input ref1.txt ref2.jsonl --out lm.npz [--order 3]
    train <what> --default [--corpus corpus.jsonl]   rebuild the shipped model from local data

Text files: a `.txt` file is one document; a `.jsonl` file has one document per line in "text".
`--default` trains on the local corpus (filters/quality/corpus.py), train split only, and prints
how well the model separates the held-out split (written to models/metrics.json too).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from filters.quality import corpus, models
from pipeline.errors import InputError
from pipeline.log import log

EDU_PROXY_SCORES = {"reference": 4.0, "web": 2.0, "boilerplate": 0.0}


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


def train_edu(texts: list[str], scores: list[float], out: Path, embedder: str) -> None:
    embeddings = models.embed(texts, embedder)
    weights, bias = models.fit_edu_head(embeddings, np.asarray(scores, dtype=np.float64))
    np.savez(out, weights=weights, bias=bias, embedder=Path(embedder).name)


def train_perplexity(texts: list[str], out: Path, order: int = 2, buckets: int = 1 << 21) -> None:
    models.HashedNgramLM.train(texts, order=order, buckets=buckets).save(out)


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Probability that a random positive outranks a random negative (ties count half)."""
    if len(positive) == 0 or len(negative) == 0:
        return float("nan")
    diff = positive[:, None] - negative[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


def _load_corpus(path: str | None) -> list[corpus.LabelledText]:
    if path and Path(path).is_file():
        return corpus.read_jsonl(Path(path))
    items = list(corpus.python_doc_pages()) + list(corpus.web_pages())
    if path:
        corpus.write_jsonl(items, Path(path))
    return items


def _record(name: str, metrics: dict) -> None:
    path = models.MODELS_DIR / "metrics.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = metrics
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print(json.dumps({name: metrics}, indent=2))


def train_defaults(what: str, corpus_path: str | None) -> None:
    items = _load_corpus(corpus_path)
    train = [i for i in items if i.split == "train"]
    held = [i for i in items if i.split == "heldout"]
    by = lambda rows, label: [r.text for r in rows if r.label == label]  # noqa: E731
    counts = {label: [len(by(train, label)), len(by(held, label))] for label in EDU_PROXY_SCORES}
    if what == "fasttext-quality":
        out = models.DEFAULT_FASTTEXT
        train_fasttext(by(train, "reference") + by(train, "web"), by(train, "boilerplate"), out)
        score = lambda label: models.fasttext_scores(by(held, label), str(out))  # noqa: E731
        _record(what, {"trained_on": "train split: reference+web (hq) vs boilerplate (cc)",
                       "docs_train_heldout": counts, "bytes": out.stat().st_size,
                       "heldout_auc_reference_vs_boilerplate": auc(score("reference"), score("boilerplate")),
                       "heldout_auc_web_vs_boilerplate": auc(score("web"), score("boilerplate"))})
    elif what == "edu":
        out, embedder = models.DEFAULT_EDU_HEAD, models.default_embedder_path()
        train_edu([r.text for r in train], [EDU_PROXY_SCORES[r.label] for r in train], out, embedder)
        models.load_edu_head.cache_clear()
        score = lambda label: models.edu_scores(by(held, label), str(out), embedder)  # noqa: E731
        ref, web, boiler = score("reference"), score("web"), score("boilerplate")
        _record(what, {"trained_on": "train split, proxy labels reference=4 web=2 boilerplate=0",
                       "docs_train_heldout": counts, "bytes": out.stat().st_size,
                       "heldout_mean_score": {"reference": float(ref.mean()), "web": float(web.mean()),
                                              "boilerplate": float(boiler.mean())},
                       "heldout_auc_reference_vs_boilerplate": auc(ref, boiler)})
    elif what == "perplexity":
        out = models.DEFAULT_LM
        train_perplexity(by(train, "reference"), out)
        models.load_lm.cache_clear()
        docs = corpus.ccnet_docs()
        ours = models.perplexity_scores([d["text"] for d in docs], str(out))
        from scipy.stats import spearmanr

        rho = spearmanr(ours, [-d["perplexity"] for d in docs]).statistic
        score = lambda label: models.perplexity_scores(by(held, label), str(out))  # noqa: E731
        _record(what, {"trained_on": "train split: reference (Python docs) main text",
                       "docs_train_heldout": counts, "bytes": out.stat().st_size,
                       "spearman_vs_ccnet_perplexity": float(rho),
                       "heldout_auc_reference_vs_boilerplate": auc(score("reference"), score("boilerplate"))})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pipeline train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["fasttext-quality", "edu", "perplexity"])
    parser.add_argument("--default", action="store_true", help="retrain the shipped model")
    parser.add_argument("--corpus", help="cache of the local corpus (JSONL), built if missing")
    parser.add_argument("--positive", nargs="*", default=[])
    parser.add_argument("--negative", nargs="*", default=[])
    parser.add_argument("--input", nargs="*", default=[])
    parser.add_argument("--out")
    parser.add_argument("--embedder", help="sentence-transformers model folder (default: packaged MiniLM)")
    parser.add_argument("--order", type=int, default=2)
    args = parser.parse_args(argv)
    if args.default:
        train_defaults(args.what, args.corpus)
        return 0
    if not args.out:
        parser.error("--out is required (or --default)")
    out = Path(args.out)
    if args.what == "fasttext-quality":
        if not args.positive or not args.negative:
            parser.error("fasttext-quality needs --positive and --negative files")
        train_fasttext([r["text"] for r in read_texts(args.positive)],
                       [r["text"] for r in read_texts(args.negative)], out)
    elif args.what == "edu":
        rows = read_texts(args.input)
        if any("score" not in r for r in rows):
            raise InputError("edu training rows need a 'score' (0..5) besides 'text'")
        train_edu([r["text"] for r in rows], [float(r["score"]) for r in rows], out,
                  args.embedder or models.default_embedder_path())
    else:
        train_perplexity([r["text"] for r in read_texts(args.input)], out, order=args.order)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
