"""Real, locally available text used to train the default models and to test the scorers.

Nothing here downloads: the sources are the Debian python3-doc HTML pages, the trafilatura test
pages and the CCNet JSONL in ../shared/data. Labels are proxies (no LLM annotator here):

- `reference`:   Python documentation pages (main text)       → high quality, reference/encyclopedic
- `web`:         main text of real news/blog pages (trafilatura) → ordinary web text
- `boilerplate`: what trafilatura removes from those pages (menus, link lists, footers, cookie
                 banners, teaser listings)                        → low quality

Each item's split is a stable hash of its name: 1 in 5 is `heldout`, never used for training.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PYTHON_DOCS = Path("/usr/share/doc/python3.11/html")
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


@dataclass
class LabelledText:
    name: str
    label: str
    text: str

    @property
    def split(self) -> str:
        return split_of(self.name)


def split_of(name: str) -> str:
    digest = hashlib.sha1(name.encode()).digest()
    return "heldout" if digest[0] % 5 == 0 else "train"


def _extract(html: str) -> tuple[str, str]:
    """(main text, boilerplate text) of one page."""
    import trafilatura

    main = trafilatura.extract(html, include_comments=False, include_tables=True) or ""
    full = trafilatura.html2txt(html) or ""
    main_lines = {line.strip() for line in main.splitlines() if line.strip()}
    leftover = [line.strip() for line in full.splitlines()
                if line.strip() and line.strip() not in main_lines]
    return main, "\n".join(leftover)


def python_doc_pages(root: Path = PYTHON_DOCS, split: str | None = None,
                     limit: int | None = None) -> Iterator[LabelledText]:
    files = sorted(p for p in root.rglob("*.html") if p.stat().st_size > 4000)
    count = 0
    for path in files:
        name = f"python-docs/{path.relative_to(root)}"
        if split and split_of(name) != split:
            continue
        main, _ = _extract(path.read_text(encoding="utf-8", errors="replace"))
        if len(main) >= 500:
            yield LabelledText(name, "reference", main)
            count += 1
            if limit and count >= limit:
                return


def web_pages(root: Path | None = None, split: str | None = None,
              limit: int | None = None) -> Iterator[LabelledText]:
    """Main text (`web`) and boilerplate (`boilerplate`) of each real web page."""
    root = root or SHARED_DATA / "trafilatura" / "tests"
    files = sorted(list((root / "cache").glob("*.html")) + list((root / "eval").glob("*.html")))
    count = 0
    for path in files:
        name = f"web/{path.name}"
        if split and split_of(name) != split:
            continue
        main, boilerplate = _extract(path.read_text(encoding="utf-8", errors="replace"))
        if len(main) >= 500:
            yield LabelledText(name, "web", main)
        if len(boilerplate) >= 500:
            yield LabelledText(name + "#boilerplate", "boilerplate", boilerplate)
        count += 1
        if limit and count >= limit:
            return


def ccnet_docs(root: Path | None = None) -> list[dict]:
    """CCNet-processed Common Crawl docs with their bucket (head/middle/tail) and perplexity."""
    root = root or SHARED_DATA / "cc-text" / "dolma-ccnet"
    docs = []
    for path in sorted(root.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                meta = record.get("metadata", {})
                docs.append({"name": record["id"], "text": record["text"], "bucket": meta.get("bucket"),
                             "perplexity": meta.get("perplexity"),
                             "domain": meta.get("source_domain")})
    return docs


def write_jsonl(items: list[LabelledText], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps({"name": item.name, "label": item.label, "text": item.text}) + "\n")


def read_jsonl(path: Path) -> list[LabelledText]:
    with open(path, encoding="utf-8") as handle:
        return [LabelledText(r["name"], r["label"], r["text"]) for r in map(json.loads, handle)]
