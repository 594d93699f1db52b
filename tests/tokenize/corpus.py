"""Real input tables for stage-8 tests: CCNet web text, extracted pages in several languages, code."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.ids import doc_id

PAGES = {  # trafilatura test pages: language → file
    "de": "bmjv.de.konsum.html", "fr": "franceculture.fr.idees.html",
    "zh": "chineselyrics4u.com.zhineng.html", "en": "en.wikipedia.org.tsne.html",
    "pl": "Eurocash rusza z Innowacyjną Platformą Handlu - Handel dystrybucja.html",
}
CODE_MODULES = ("json/decoder.py", "textwrap.py", "tiktoken/core.py")


def web_rows(shared: Path) -> list[dict]:
    rows = []
    for path in sorted((shared / "cc-text" / "dolma-ccnet").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                record = json.loads(line)
                rows.append({"id": doc_id("cc", record["id"], record["text"]), "text": record["text"],
                             "source": "cc-text", "content_type": "Web", "language": "en",
                             "url": record["id"], "tier": "high" if len(rows) % 2 else "low"})
    return rows


def page_rows(shared: Path) -> list[dict]:
    import trafilatura

    rows = []
    for language, name in PAGES.items():
        for folder in ("cache", "eval"):
            path = shared / "trafilatura" / "tests" / folder / name
            if path.exists():
                break
        text = trafilatura.extract(path.read_text(encoding="utf-8", errors="replace"))
        rows.append({"id": doc_id("pages", name, text), "text": text, "source": "trafilatura",
                     "content_type": "Web", "language": language, "url": f"https://{name}/",
                     "tier": "high"})
    return rows


def code_rows() -> list[dict]:
    import sysconfig

    roots = [Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"])]
    rows = []
    for module in CODE_MODULES:
        path = next(r / module for r in roots if (r / module).exists())
        text = path.read_text(encoding="utf-8")
        rows.append({"id": doc_id("files", str(path), text), "text": text, "source": "files",
                     "content_type": "Code", "language": "python", "url": f"file://{path}",
                     "tier": "high"})
    return rows


def write_table(rows: list[dict], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path
