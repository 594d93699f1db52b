"""Stages 2-4 on Chinese vs English input of the same byte size, per core (issue 20).

Each stage runs whole through the runner (Spark local, start-up included, the same for both
languages) on Chinese input and on English input of the same UTF-8 size; throughput is KB of input
per CPU second. Goal: Chinese within 2x of English (ratio zh ÷ en >= 0.5). Inputs:
- stage 2: real HTML pages in a WARC: the 100 Chinese pages of ../shared/data/zh and Debian's
  Chinese Reference (debian-reference-zh-cn) vs real English pages (trafilatura's test pages),
  cycled to the same bytes; plain trafilatura (its own venv, the default settings) extracts the
  Chinese WARC too, as the peer a user would pick;
- stages 3 and 4: documents of ~2 KB built from real paragraphs, Chinese from the CCNet Chinese
  documents and the Chinese Reference's text, English from bench.inputs' web paragraphs, the same
  number of documents and bytes per language. datatrove's Gopher/MinHash count Chinese words only
  with spaCy + jieba (not in its bench venv), so stages 3-4 have no Chinese peer here.

    python -m bench --only bilingual [--quick]
"""

from __future__ import annotations

import gzip
import json
import random
import tempfile
from io import BytesIO
from pathlib import Path

from bench import inputs
from bench.harness import Goal, call, compare, peer_job

HERE = Path(__file__).parent
DEBIAN_REFERENCE = Path("/usr/share/debian-reference")


def _zh_pages() -> list[tuple[str, bytes]]:
    base = inputs.SHARED_DATA / "zh"
    pages = []
    for line in (base / "html" / "manifest.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        pages.append((row["path"], gzip.open(base / row["path"]).read()))
    pages += [(f"debian-reference/{p.name}", p.read_bytes()) for p in sorted(DEBIAN_REFERENCE.glob("*.zh-cn.html"))]
    return pages


def _en_pages(total: int) -> list[tuple[str, bytes]]:
    web = sorted((inputs.SHARED_DATA / "trafilatura" / "tests" / "cache").glob("*.html"))
    pages, size, i = [], 0, 0
    while size < total:
        path = web[i % len(web)]
        body = path.read_bytes()[: total - size]
        pages.append((f"{i // len(web)}/{path.name}", body))
        size, i = size + len(body), i + 1
    return pages


def _warc(name: str, pages: list[tuple[str, bytes]]) -> Path:
    """A gzip WARC of the pages as HTTP responses, cached in bench.inputs' cache folder."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    folder = inputs.CACHE / f"bilingual-{name}-{inputs._key(name, [(p, len(b)) for p, b in pages])}"
    path = folder / "pages.warc.gz"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, delete=False) as tmp:
        writer = WARCWriter(tmp, gzip=True)
        for rel, body in pages:
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))],
                                       protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(f"http://{name}.example/{rel}", "response",
                                                          payload=BytesIO(body), http_headers=headers))
    Path(tmp.name).rename(path)
    (folder / "pages.jsonl").write_text("".join(json.dumps({"url": f"http://{name}.example/{rel}"}) + "\n"
                                                for rel, _ in pages))
    return path


def _zh_paragraphs() -> list[str]:
    path = inputs.SHARED_DATA / "zh" / "web_text" / "chinesewebtext" / "cc_2021-43_cleared1.jsonl"
    texts = [json.loads(line)["raw_content"] for line in path.open(encoding="utf-8")]
    from filters.extract.html import extract_html

    texts += [extract_html(p.read_bytes()).text for p in sorted(DEBIAN_REFERENCE.glob("*.zh-cn.html"))]
    return [p.strip() for t in texts for p in t.split("\n") if len(p.strip()) >= 20]


def _documents(language: str, n: int, doc_bytes: int = 2048) -> Path:
    """n documents of ~doc_bytes UTF-8 bytes of real paragraphs in one language (parquet)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = inputs.CACHE / f"bilingual-docs-{language}-{n}-{doc_bytes}.parquet"
    if path.exists():
        return path
    pool = _zh_paragraphs() if language == "zh" else inputs.paragraphs("web")
    rng = random.Random(20)
    texts = []
    for _ in range(n):
        chunks, size = [], 0
        while size < doc_bytes:
            chunks.append(rng.choice(pool))
            size += len(chunks[-1].encode()) + 1
        texts.append("\n".join(chunks))
    table = pa.table({"id": [f"{language}-{i:06d}" for i in range(n)], "text": texts,
                      "language": [language] * n, "tier": ["medium"] * n,
                      "source": ["bench"] * n, "content_type": ["Web"] * n})
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def stage_kb(number: int, sets: list[str], kb: float | None) -> dict:
    """One stage through the runner; items = KB of input (so both languages count alike), or the
    stage's input rows when kb is None."""
    from bench.harness import _run_stage

    out = _run_stage(number, sets)
    return {**out, "docs": out["items"], "items": kb if kb is not None else out["items"]}


def _text_kb(path: Path) -> float:
    import pyarrow.parquet as pq

    return sum(len(t.encode()) for t in pq.read_table(path, columns=["text"])["text"].to_pylist()) / 1000


def run(quick: bool):
    zh_pages = _zh_pages()
    if quick:
        zh_pages = zh_pages[:30]
    total = sum(len(b) for _, b in zh_pages)
    en_pages = _en_pages(total)
    zh_warc, en_warc = _warc("zh", zh_pages), _warc("en", en_pages)
    kb = total / 1000
    common = ["extract.languages=all", "extract.drop_low_utility=[]"]
    zh_sets = [f"extract.inputs=[{zh_warc}]", *common]
    reps = 1 if quick else 3
    results = [compare(
        "bilingual.extract", call(stage_kb, 2, zh_sets, kb),
        {"en": call(stage_kb, 2, [f"extract.inputs=[{en_warc}]", *common], kb)},
        items=int(kb), unit="KB", reps=reps, goals=[Goal(0.5, peer="en")],
        input_desc=f"{len(zh_pages)} real Chinese HTML pages ({kb:,.0f} KB) vs {len(en_pages)} English pages of the same bytes",
        notes="ours = stage 2 on the Chinese WARC; en = stage 2 on the English WARC (ratio >= 0.5: Chinese "
              "within 2x)"),
        compare(
        "bilingual.extract_trafilatura", call(stage_kb, 2, zh_sets, None),
        {"trafilatura-zh": peer_job("trafilatura", HERE / "extract_peer_worker.py",
                                    ["trafilatura-default", str(zh_warc.parent), str(zh_warc.parent / "traf.json"),
                                     str(zh_warc.parent / "pages.jsonl")])},
        items=len(zh_pages), unit="pages", reps=reps,
        input_desc=f"{len(zh_pages)} real Chinese HTML pages ({kb:,.0f} KB) in a WARC",
        notes="ours = stage 2 through the runner (Spark start-up, language id and PII included); "
              "trafilatura-zh = plain trafilatura.extract (default settings) on the same WARC's payloads")]
    # stage 3's time is mostly its edu embedder (~0.1 s CPU per document, either language)
    sizes = {"quality": 100 if quick else 500, "dedup": 500 if quick else 5000}
    for number, stage, key in ((3, "quality", "quality.inputs"), (4, "dedup", "dedup.inputs")):
        n = sizes[stage]
        zh, en = _documents("zh", n), _documents("en", n)
        zh_kb, en_kb = _text_kb(zh), _text_kb(en)
        value = (lambda p: str(p)) if stage == "dedup" else (lambda p: f"[{p}]")
        results.append(compare(
            f"bilingual.{stage}", call(stage_kb, number, [f"{key}={value(zh)}"], zh_kb),
            {"en": call(stage_kb, number, [f"{key}={value(en)}"], en_kb)},
            items=int(zh_kb), unit="KB", reps=1 if quick else 3, goals=[Goal(0.5, peer="en")],
            input_desc=f"{n:,} Chinese documents ({zh_kb:,.0f} KB) vs {n:,} English ({en_kb:,.0f} KB) of real paragraphs",
            notes=f"stage {number} through the runner on each language; ratio = Chinese KB/s ÷ English KB/s per core"))
    return results
