"""Runs in any venv (ours or a peer's): HTML → text for the stage-2 benchmark, plus the metrics.

    python extract_peer_worker.py MODE FOLDER OUT.json PAGES.jsonl
MODE: trafilatura-default | trafilatura-precision | trafilatura-fast: FOLDER's WARCs read with
      warcio as a user of plain trafilatura would (the records of the PAGES' urls, 200
      responses), each payload given to trafilatura.extract as bytes (it decodes them itself;
      -fast: fast=True, -precision: favor_precision=True);
      resiliparse: the same records read with FastWARC, decoded with resiliparse's encoding
      detection, then its main-content extractor (extract_plain_text(main_content=True));
      datatrove (WarcReader → Trafilatura(favour_precision=True), every HTML response).
Writes {url: text} to OUT.json. Timed: the reading of the WARCs and the extraction; not the
imports.
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


def bigram_f1(extracted: str, expected: str) -> float:
    """F1 of the character bigrams (whitespace removed) of `extracted` against `expected`: the
    bilingual issue's measure for Chinese, where words are not separated."""
    def bigrams(text: str) -> Counter:
        chars = "".join(text.split())
        return Counter(chars[i:i + 2] for i in range(len(chars) - 1))

    got, want = bigrams(extracted), bigrams(expected)
    overlap = sum((got & want).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(got.values()), overlap / sum(want.values())
    return 2 * precision * recall / (precision + recall)


def _pages(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


# Extracted once before the timed section by every side (ours too): one-time set-up such as
# trafilatura loading jusText's stoplists is not charged to any per-page figure.
WARM_UP_PAGE = "<html><body><p>warm up</p></body></html>"


def run_trafilatura(documents, **options) -> dict[str, str]:
    """trafilatura.extract(**options) on each (url, payload bytes) of `documents`; consuming them
    is timed too (the reading)."""
    import trafilatura

    trafilatura.extract(WARM_UP_PAGE, **options)
    out = {}
    with timed() as probe:
        pages = 0
        for url, html in documents:
            pages += 1
            out[url] = trafilatura.extract(html, url=url, **options) or ""
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


def run_resiliparse(folder: str, urls: set[str]) -> dict[str, str]:
    """FastWARC reads the same records as warc_payloads; resiliparse detects the encoding and
    extracts the main content (its own rules: main_content=True)."""
    from pathlib import Path

    from fastwarc.warc import ArchiveIterator, WarcRecordType
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    extract_plain_text(WARM_UP_PAGE, main_content=True)
    out = {}
    with timed() as probe:
        pages = 0
        for path in sorted(Path(folder).glob("*.warc.gz")):
            with open(path, "rb") as fh:
                for record in ArchiveIterator(fh, record_types=WarcRecordType.response, parse_http=True):
                    url = (record.headers.get("WARC-Target-URI") or "").strip().strip("<>")
                    if url not in urls or record.http_headers is None or record.http_headers.status_code != 200:
                        continue
                    body = record.reader.read()
                    pages += 1
                    out[url] = extract_plain_text(bytes_to_str(body, detect_encoding(body)), main_content=True)
        if probe is not None:
            probe.items = pages
    return out


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


TRAFILATURA_MODES = {
    "trafilatura-default": {},
    "trafilatura-precision": {"favor_precision": True},
    "trafilatura-fast": {"fast": True},
}


def main(argv: list[str]) -> None:
    mode, source, target = argv[1:4]
    if mode == "datatrove":
        texts = run_datatrove(source)
    elif mode == "resiliparse":
        texts = run_resiliparse(source, {page["url"] for page in _pages(argv[4])})
    else:
        texts = run_trafilatura(warc_payloads(source, {page["url"] for page in _pages(argv[4])}),
                                **TRAFILATURA_MODES[mode])
    with open(target, "w", encoding="utf-8") as fh:
        json.dump(texts, fh)


if __name__ == "__main__":
    main(sys.argv)
