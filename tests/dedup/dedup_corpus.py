"""Real texts from ../shared/data and near-copies of them at measured similarity, for dedup tests.

Ground truth is computed here in plain Python (tuples of words in sets), independent of the numpy
hashing under test; only the word normalisation is shared.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pyarrow as pa
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from filters.dedup.normalize import normalize_texts


def cc_texts(shared_data: Path) -> list[str]:
    """The CCNet-processed Common Crawl documents (dolma test data)."""
    texts = []
    for path in sorted((shared_data / "cc-text" / "dolma-ccnet").glob("*.jsonl.gz")):
        with gzip.open(path, "rt") as fh:
            texts.extend(json.loads(line)["text"] for line in fh)
    return texts


def page_texts(shared_data: Path, limit: int = 40) -> list[str]:
    """Visible text of real archived web pages (trafilatura's test pages), longest words kept."""
    texts = []
    for path in sorted((shared_data / "trafilatura" / "tests" / "cache").glob("*.html"))[:limit]:
        body = HTMLParser(path.read_bytes()).body
        text = " ".join(body.text(separator=" ").split()) if body is not None else ""
        if len(text.split()) >= 150:
            texts.append(text)
    return texts


def wet_texts(shared_data: Path) -> list[str]:
    """Text of the conversion records of the Common Crawl WET excerpt."""
    from warcio.archiveiterator import ArchiveIterator

    texts = []
    with open(shared_data / "warc" / "commoncrawl-whirlwind" / "whirlwind.warc.wet.gz", "rb") as fh:
        for record in ArchiveIterator(fh):
            if record.rec_type == "conversion":
                texts.append(record.content_stream().read().decode("utf-8", "replace"))
    return texts


def words(text: str) -> list[str]:
    return normalize_texts(pa.array([text]))[0].split()


def true_jaccard(a: str, b: str, n: int = 5) -> float:
    """Exact Jaccard of word n-gram sets, in plain Python."""
    def grams(text: str) -> set[tuple[str, ...]]:
        w = words(text)
        return {tuple(w[i : i + n]) for i in range(max(len(w) - n + 1, 1))} if w else set()

    sa, sb = grams(a), grams(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 1.0


def mutate(text: str, edits: int, rng: random.Random, vocabulary: list[str]) -> str:
    """A near-copy: `edits` random words replaced by words from elsewhere in the corpus."""
    tokens = text.split()
    for _ in range(edits):
        tokens[rng.randrange(len(tokens))] = rng.choice(vocabulary)
    return " ".join(tokens)


def near_copy_at(text: str, target: float, rng: random.Random, vocabulary: list[str]) -> tuple[str, float]:
    """A near-copy of text whose true 5-gram Jaccard is close to target (searching the edit count)."""
    lo, hi = 0, len(text.split())
    best = (text, 1.0)
    while lo < hi:
        edits = (lo + hi) // 2
        copy = mutate(text, edits, random.Random(rng.random()), vocabulary)
        j = true_jaccard(text, copy)
        if abs(j - target) < abs(best[1] - target):
            best = (copy, j)
        if j > target:
            lo = edits + 1
        else:
            hi = edits
    return best
