"""Runs in any venv (ours or a peer's): HTML → text for the stage-2 benchmark, plus the metrics.

    python extract_peer_worker.py MODE INPUT OUT.json [PAGES.jsonl]
MODE: trafilatura-default | trafilatura-precision: INPUT = a folder of WARCs, read with warcio
      as a user of plain trafilatura would (the records of the PAGES' urls, 200 responses),
      each payload given to trafilatura.extract as bytes (it decodes them itself); or INPUT =
      a JSONL of {url, html}, already decoded (reading and decoding not charged);
      datatrove (INPUT = a folder of WARCs: WarcReader → Trafilatura(favour_precision=True)).
Writes {url: text} to OUT.json. Timed: the reading of the WARCs (when INPUT is a folder) and the
extraction; not the imports, nor loading the JSONL.
The metric functions are standard library only, so every side is scored by the same code.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter

try:
    from bench.harness import timed
except ImportError:  # run by hand
    import contextlib

    def timed(items=None):
        return contextlib.nullcontext()

_WORD = re.compile(r"\w+")


def snippet_and_bow_scores(texts: dict[str, str], evaldata: dict[str, dict]) -> dict[str, float]:
    """trafilatura's evaluation (with/without snippets found) and a bag-of-words variant of it.

    Snippets: TP = `with` found, FN = `with` missing, FP = `without` found. Bag of words: the same
    counts over the snippets' lower-cased words against the words of the extracted text
    (a `without` word that is also a `with` word of the page is not counted).
    """
    tp = fn = fp = tn = 0
    btp = bfn = bfp = 0
    for url, entry in evaldata.items():
        text = texts.get(url) or texts.get(url.strip()) or ""  # a few evaldata keys end in a space
        found = [s in text for s in entry["with"]]
        leaked = [s in text for s in entry["without"]]
        tp, fn = tp + sum(found), fn + len(found) - sum(found)
        fp, tn = fp + sum(leaked), tn + len(leaked) - sum(leaked)
        words = set(_WORD.findall(text.lower()))
        wanted = Counter(w for s in entry["with"] for w in _WORD.findall(s.lower()))
        unwanted = Counter(w for s in entry["without"] for w in _WORD.findall(s.lower()) if w not in wanted)
        btp += sum(c for w, c in wanted.items() if w in words)
        bfn += sum(c for w, c in wanted.items() if w not in words)
        bfp += sum(c for w, c in unwanted.items() if w in words)

    def f1(p: float, r: float) -> float:
        return 2 * p * r / (p + r) if p + r else 0.0

    p, r = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    bp, br = btp / max(btp + bfp, 1), btp / max(btp + bfn, 1)
    return {"snippet_precision": round(p, 4), "snippet_recall": round(r, 4), "snippet_f1": round(f1(p, r), 4),
            "snippets_satisfied": round((tp + tn) / max(tp + fn + fp + tn, 1), 4),
            "bow_precision": round(bp, 4), "bow_recall": round(br, 4), "bow_f1": round(f1(bp, br), 4)}


def _pages(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


# Extracted once before the timed section by every side (ours too): one-time set-up such as
# trafilatura loading jusText's stoplists is not charged to any per-page figure.
WARM_UP_PAGE = "<html><body><p>warm up</p></body></html>"


def run_trafilatura(documents, precision: bool) -> dict[str, str]:
    """trafilatura.extract on each (url, html text or payload bytes) of `documents`; consuming
    them is timed too (for WARCs: the reading)."""
    import trafilatura

    trafilatura.extract(WARM_UP_PAGE, favor_precision=precision)
    out = {}
    with timed() as probe:
        pages = 0
        for url, html in documents:
            pages += 1
            out[url] = trafilatura.extract(html, url=url, favor_precision=precision) or ""
        if probe is not None:
            probe.items = pages
    return out


def warc_payloads(folder: str, urls: set[str]):
    """(url, payload bytes) of the 200 responses for `urls` in the WARCs of `folder`, by warcio."""
    from pathlib import Path

    from warcio.archiveiterator import ArchiveIterator

    for path in sorted(Path(folder).glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type != "response" or record.http_headers is None:
                    continue
                url = (record.rec_headers.get_header("WARC-Target-URI") or "").strip().strip("<>")
                if url in urls and record.http_headers.get_statuscode() == "200":
                    yield url, record.content_stream().read()


def run_datatrove(folder: str) -> dict[str, str]:
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.readers import WarcReader

    reader = WarcReader(folder, glob_pattern="*.warc.gz")
    extractor = Trafilatura(favour_precision=True, timeout=10.0)
    # The warm-up every side gets, here in the parent: the sandbox process datatrove forks on its
    # first document inherits trafilatura imported and jusText's stoplists loaded (before, its
    # timed section paid both, ~0.2-0.5 s; forking the sandbox is datatrove's own cost, still timed).
    extractor.extract(WARM_UP_PAGE)
    out, seen = {}, [0]

    def counted(docs):
        for doc in docs:
            seen[0] += 1
            yield doc

    with timed() as probe:
        for doc in extractor.run(counted(reader.run())):
            out[doc.metadata.get("url") or doc.id] = doc.text
        if probe is not None:
            probe.items = seen[0]  # every HTML response the reader produced
    return out


def main(argv: list[str]) -> None:
    mode, source, target = argv[1:4]
    precision = mode == "trafilatura-precision"
    if mode == "datatrove":
        texts = run_datatrove(source)
    elif len(argv) > 4:  # a folder of WARCs, and the pages to take from it
        texts = run_trafilatura(warc_payloads(source, {page["url"] for page in _pages(argv[4])}), precision)
    else:
        texts = run_trafilatura([(page["url"], page["html"]) for page in _pages(source)], precision)
    with open(target, "w", encoding="utf-8") as fh:
        json.dump(texts, fh)


if __name__ == "__main__":
    main(sys.argv)
