"""Real inputs for the stage-5 tests, read in place from ../shared/data and python3-doc.

- `planted_corpus`: 400 real FineWeb pages (background) plus two planted over-represented groups:
  thousands of templated near-identical pages made from two real pages (a few words and a number
  changed per copy, as on template sites), spread over three input partitions with seeded tiers.
- `labelled_pages`: the 175 hand-labelled pages of filters/rebalance/labels/topic_format.jsonl,
  with their main text as trafilatura extracts it (what stage 5 would see).
"""

from __future__ import annotations

import gzip
import json
import random
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[2]
LABELS = REPO / "filters" / "rebalance" / "labels" / "topic_format.jsonl"
PYDOC = Path("/usr/share/doc/python3.11/html")
TIERS = ["high", "medium_high", "medium", "medium_low", "low"]
PLANTED = {"planted-a": 2000, "planted-b": 1200}

INPUT_SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()), ("url", pa.string()),
                          ("source", pa.string()), ("content_type", pa.string()), ("tier", pa.string()),
                          ("quality_bucket", pa.int32()), ("group", pa.string())])


def fineweb(shared: Path) -> list[dict]:
    with gzip.open(shared / "quality" / "fineweb_edu_llama3_annotations_1000.jsonl.gz", "rt") as f:
        return [json.loads(line) for line in f]


def _template_copies(text: str, count: int, rng: random.Random, vocab: list[str]) -> list[str]:
    words = text.split(" ")
    out = []
    for i in range(count):
        copy = list(words)
        for position in rng.sample(range(len(copy)), k=3):
            copy[position] = rng.choice(vocab)
        out.append(f"Listing {1000 + i}. " + " ".join(copy))
    return out


def write_planted_corpus(shared: Path, folder: Path, background: int = 400) -> list[Path]:
    """Three parquet partitions: `background` real pages + the PLANTED groups, rows shuffled."""
    pages = fineweb(shared)
    rng = random.Random(5)
    vocab = sorted({w for p in pages[:200] for w in p["text"].split() if w.isalpha() and len(w) > 3})
    rows = []
    for page in pages[:background]:
        rows.append({"id": f"fw-{page['id']}", "text": page["text"], "group": "background"})
    templates = [p["text"][:1500] for p in pages[background:] if len(p["text"]) > 1500][:len(PLANTED)]
    for (group, count), template in zip(PLANTED.items(), templates, strict=True):
        for i, text in enumerate(_template_copies(template, count, rng, vocab)):
            rows.append({"id": f"{group}-{i:05d}", "text": text, "group": group})
    rng.shuffle(rows)
    for i, row in enumerate(rows):
        row["tier"] = rng.choice(TIERS)
        row["quality_bucket"] = rng.randrange(20)
        row["url"] = f"https://site{i % 40}.example.org/{row['id']}"
        row["source"], row["content_type"] = "web", "Web"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    third = len(rows) // 3 + 1
    for part in range(3):
        path = folder / f"part-{part}.parquet"
        pq.write_table(pa.Table.from_pylist(rows[part * third:(part + 1) * third], schema=INPUT_SCHEMA), path)
        paths.append(path)
    return paths


def page_html(shared: Path, ref: str) -> bytes:
    if ref.startswith("python3-doc/"):
        return (PYDOC / ref.removeprefix("python3-doc/")).read_bytes()
    if ref.startswith("warc/"):
        from warcio.archiveiterator import ArchiveIterator

        file, uri = ref.removeprefix("warc/").split("#", 1)
        with open(shared / "warc" / file, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type == "response" and record.rec_headers.get_header("WARC-Target-URI") == uri:
                    return record.content_stream().read()
        raise FileNotFoundError(ref)
    path = shared / ref
    return gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()


@cache
def labelled_pages(shared: Path) -> list[dict]:
    """The hand-labelled pages with `title` and `text` (trafilatura's main text)."""
    import trafilatura

    out = []
    for line in LABELS.read_text().splitlines():
        row = json.loads(line)
        html = page_html(shared, row["ref"])
        text = trafilatura.extract(html, include_comments=False) or ""
        meta = trafilatura.extract_metadata(html)
        out.append({**row, "title": (meta.title if meta and meta.title else ""), "text": text})
    return out


def page_text(shared: Path, ref: str) -> str:
    """A page's main text as trafilatura extracts it (what stage 5 would see)."""
    import trafilatura

    return trafilatura.extract(page_html(shared, ref), include_comments=False) or ""
