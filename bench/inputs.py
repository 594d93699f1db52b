"""Benchmark inputs generated from real text, scaled to sizes where timings mean something.

Sources (read in place, never copied into the repo): ../shared/data (real web pages, Common Crawl
text and WARCs), Debian's python3-doc (HTML pages and their reStructuredText sources), and the
Python sources of our venv (code). Everything generated is cached under bench/.cache/inputs/,
keyed by its parameters, built once under a file lock (several benchmarks may ask at once).

    corpus = documents(100_000, kind="prose")        # Corpus(parquet=..., docs=100000, ...)
    corpus.jsonl                                     # the same rows as JSONL (for peer venvs)
    pages = html_pages()                             # real HTML files (~640)
    warc = pages_warc(1_000)                         # a gzip WARC of real pages as responses

Documents are random draws of real paragraphs (seeded), so two documents share almost no
n-grams unless planted: `near_dups=0.1` makes 10% of the rows edited copies of earlier rows
(`dup_of` names the original, `edit_rate` the share of words replaced).
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import os
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.peers import BENCH_DIR

REPO = BENCH_DIR.parent
CACHE = BENCH_DIR / ".cache" / "inputs"  # generated corpora
POOLS = BENCH_DIR / ".cache" / "pools"  # paragraph pools extracted from the sources
SHARED_DATA = Path(os.environ.get("PIPELINE_SHARED", REPO.parent / "shared")) / "data"
PYDOC = Path("/usr/share/doc/python3.11/html")
SITE_PACKAGES = REPO / ".venv" / "lib" / "python3.11" / "site-packages"
KINDS = ("prose", "web", "code", "mixed")


@dataclass(frozen=True)
class Corpus:
    """A cached table of documents: columns id, text, source, dup_of, edit_rate."""

    parquet: Path
    docs: int
    bytes: int
    description: str

    @property
    def jsonl(self) -> Path:
        """The same rows as JSONL ({"id", "text", ...} per line), built on first use."""
        path = self.parquet.with_suffix(".jsonl")

        def build(tmp: Path) -> None:
            import pyarrow.parquet as pq

            with open(tmp, "w") as out:
                for batch in pq.ParquetFile(self.parquet).iter_batches(batch_size=10_000):
                    for row in batch.to_pylist():
                        out.write(json.dumps(row, ensure_ascii=False) + "\n")

        return _cached(path, build)


def _cached(path: Path, build: Callable[[Path], None]) -> Path:
    """Build `path` once (atomically, under a lock) and return it."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            tmp = path.with_name(f".{path.name}.tmp")
            build(tmp)
            tmp.replace(path)
    return path


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:10]


# ---------------------------------------------------------------- real sources

def html_pages() -> list[Path]:
    """Real HTML pages: trafilatura's test pages (~110 news/blog pages) and python3-doc (~530)."""
    web = sorted((SHARED_DATA / "trafilatura" / "tests" / "cache").glob("*.html"))
    docs = sorted(p for p in PYDOC.rglob("*.html") if "_static" not in p.parts)
    return web + docs


def _split_paragraphs(text: str, min_chars: int = 60) -> list[str]:
    parts = (re.sub(r"[ \t]+", " ", p).strip() for p in re.split(r"\n\s*\n", text))
    return [p for p in parts if len(p) >= min_chars]


def _prose_paragraphs() -> list[str]:
    """Paragraphs of the python3-doc reStructuredText sources and CCNet Common Crawl text."""
    out = []
    for path in sorted((PYDOC / "_sources").rglob("*.txt")):
        out += _split_paragraphs(path.read_text(errors="replace"))
    for path in sorted((SHARED_DATA / "cc-text").rglob("*.jsonl.gz")):
        with gzip.open(path, "rt") as f:
            for line in f:
                out += _split_paragraphs(json.loads(line)["text"].replace("\n", "\n\n"))
    return out


def _web_paragraphs() -> list[str]:
    """Text blocks (p, li, headings, table cells) of the real HTML pages, as a browser shows them."""
    from selectolax.lexbor import LexborHTMLParser as HTMLParser

    out = []
    for path in html_pages():
        tree = HTMLParser(path.read_bytes().decode("utf-8", errors="replace"))
        for node in tree.css("p, li, h1, h2, h3, td, blockquote, pre"):
            text = " ".join(node.text(separator=" ").split())
            if len(text) >= 30:
                out.append(text)
    return out


def _code_paragraphs() -> list[str]:
    """Blank-line separated blocks of the venv's Python sources (real code, several styles)."""
    out = []
    for path in sorted(SITE_PACKAGES.rglob("*.py"))[::3]:  # a third of ~18k files is plenty
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        out += [p for p in re.split(r"\n\s*\n", text) if len(p) >= 40]
    return out


_POOLS = {"prose": _prose_paragraphs, "web": _web_paragraphs, "code": _code_paragraphs}


def paragraphs(kind: str) -> list[str]:
    """The cached paragraph pool of one source kind."""
    if kind == "mixed":
        return paragraphs("prose") + paragraphs("web") + paragraphs("code")

    def build(tmp: Path) -> None:
        with gzip.open(tmp, "wt") as f:
            json.dump(_POOLS[kind](), f)

    with gzip.open(_cached(POOLS / f"{kind}.json.gz", build), "rt") as f:
        return json.load(f)


# ---------------------------------------------------------------- generated corpora

def _edit(text: str, rate: float, rng: random.Random, vocab: list[str]) -> str:
    words = text.split(" ")
    for i in rng.sample(range(len(words)), k=max(1, int(len(words) * rate))):
        words[i] = rng.choice(vocab)
    return " ".join(words)


def documents(n: int, kind: str = "prose", doc_bytes: int = 2048, near_dups: float = 0.0,
              seed: int = 0) -> Corpus:
    """`n` documents of about `doc_bytes` bytes each, random real paragraphs of `kind`."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    name = f"docs-{kind}-{n}-{doc_bytes}-{near_dups}-{seed}-{_key(n, kind, doc_bytes, near_dups, seed)}"
    path = CACHE / f"{name}.parquet"

    def build(tmp: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pool = paragraphs(kind)
        rng = random.Random(seed)
        vocab = [w for w in " ".join(rng.sample(pool, min(2000, len(pool)))).split() if w.isalpha()]
        rows = {"id": [], "text": [], "source": [], "dup_of": [], "edit_rate": []}
        for i in range(n):
            if i > 10 and rng.random() < near_dups:
                original = rng.randrange(i)
                rate = rng.choice((0.01, 0.03, 0.05, 0.1, 0.2, 0.3))
                text = _edit(rows["text"][original], rate, rng, vocab)
                dup_of = rows["id"][original]
            else:
                chunks, size = [], 0
                while size < doc_bytes:
                    chunks.append(rng.choice(pool))
                    size += len(chunks[-1]) + 2
                text, dup_of, rate = "\n\n".join(chunks), None, None
            rows["id"].append(f"{kind}-{seed}-{i:07d}")
            rows["text"].append(text)
            rows["source"].append(kind)
            rows["dup_of"].append(dup_of)
            rows["edit_rate"].append(rate)
        table = pa.table(rows)
        pq.write_table(table, tmp, row_group_size=10_000)
        (path.with_suffix(".meta.json")).write_text(json.dumps(
            {"docs": n, "bytes": sum(len(t.encode()) for t in rows["text"])}))

    _cached(path, build)
    meta = json.loads(path.with_suffix(".meta.json").read_text())
    desc = (f"{n:,} docs of ~{doc_bytes:,} B real {kind} text "
            f"({meta['bytes'] / 2**20:.0f} MiB{f', {near_dups:.0%} planted near-dups' if near_dups else ''})")
    return Corpus(path, n, meta["bytes"], desc)


def text_corpus(mib: int = 50, kind: str = "mixed", seed: int = 0) -> Corpus:
    """About `mib` MiB of real text in ~8 KB documents (tokenizer benchmarks)."""
    return documents(mib * 2**20 // 8192, kind=kind, doc_bytes=8192, seed=seed)


def pages_warc(n: int | None = None) -> Path:
    """A gzip WARC of `n` real HTML pages (cycling through html_pages()) as HTTP responses."""
    pages = html_pages()
    n = n or len(pages)
    path = CACHE / f"pages-{n}-{_key(n, [p.name for p in pages])}.warc.gz"

    def build(tmp: Path) -> None:
        from io import BytesIO

        from warcio.statusandheaders import StatusAndHeaders
        from warcio.warcwriter import WARCWriter

        with open(tmp, "wb") as f:
            writer = WARCWriter(f, gzip=True)
            for i in range(n):
                page = pages[i % len(pages)]
                url = f"http://bench{i // len(pages)}.example/{page.relative_to(page.parents[1])}"
                body = page.read_bytes()
                headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                                      ("Content-Length", str(len(body)))],
                                           protocol="HTTP/1.1")
                writer.write_record(writer.create_warc_record(
                    url, "response", payload=BytesIO(body), http_headers=headers))

    return _cached(path, build)
