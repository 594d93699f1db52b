"""Stage 2 end to end on real Spark: real WARC/WET/ARC samples plus generated bad input."""

from __future__ import annotations

import json
import random
import shutil
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from extract_samples import make_epub, make_pdf, write_warc

from pipeline.config import load_config
from pipeline.errors import InputError
from pipeline.runner import run_stage

pytestmark = pytest.mark.slow


def _rows(stage_dir: Path, folder: str = "") -> pa.Table:
    parts = sorted((stage_dir / folder).glob("part-*.parquet"))
    return pa.concat_tables([pq.read_table(p) for p in parts], promote_options="default")


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory, shared_data: Path) -> Path:
    """Every bad-input case of the issue, generated, next to a few good documents."""
    root = tmp_path_factory.mktemp("extract-inputs")
    page = (shared_data / "trafilatura/tests/cache/bmjv.de.konsum.html").read_bytes()
    english = (shared_data / "trafilatura/tests/cache/blog.python.org.html").read_bytes()
    planted = english.replace(b"We hope you enjoy", b"Write to jane.doe@gmail.com or 185.220.101.4. We hope you enjoy", 1)
    assert planted != english
    rng = random.Random(0)
    dolma = (shared_data / "warc/dolma/sample-0001.warc.gz").read_bytes()
    (root / "truncated.warc.gz").write_bytes(dolma[: len(dolma) // 2])
    invalid = english.replace(b"Python", b"Pyth\xff\xfen", 3)
    write_warc(root / "mixed.warc.gz", [
        ("http://good.test/python", "text/html; charset=utf-8", planted),
        ("http://invalid-utf8.test/", "text/html; charset=utf-8", invalid),
        ("http://binary.test/", "text/html", rng.randbytes(20000)),
        ("http://nested.test/", "text/html", b"<html><body>" + b"<div>" * 50000 + b"deep" + b"</div>" * 50000),
        ("http://huge.test/", "text/html", b"<html><body>" + b"<p>big page words here</p>" * 2_000_000),
        ("http://blocked.example/page", "text/html", english),
        ("http://good.test/de", "text/html", page),
    ])
    loose = root / "loose"
    loose.mkdir()
    (loose / "empty.html").write_bytes(b"")
    (loose / "page.html").write_bytes(english)
    (loose / "paper.pdf").write_bytes(make_pdf([
        ["Graph Methods for Text", "Abstract", "We propose a graph method for text. arXiv:2401.01234"] + ["Our method works on real text data."] * 30,
        ["1 Introduction", "Graphs are everywhere in language data and in many other places."] * 10 + ["References", "[1] A. Author. doi:10.1000/xyz123"],
    ], title="Graph Methods for Text"))
    (loose / "locked.pdf").write_bytes(make_pdf([["confidential"]], encrypted=True))
    (loose / "corrupt.pdf").write_bytes(b"%PDF-1.4\n" + rng.randbytes(3000))
    make_epub(loose / "book.epub", "A Small Book", [
        ("ch2.xhtml", "It was a bright cold day in April, and the clocks were striking thirteen. " * 5),
        ("ch1.xhtml", "The story ends here, with everyone going home after a long and eventful day. " * 5),
    ])
    (root / "blocklist.txt").write_text("# test rules\nblocked.example\n")
    return root


def _config(inputs: list[str], *extra: str) -> dict:
    return load_config(None, ["run.progress=false", "extract.inputs=" + json.dumps(inputs), *extra])


def test_real_and_bad_input_end_to_end(shared_data: Path, bad_inputs: Path, tmp_path: Path):
    warcs = sorted(str(p) for p in (shared_data / "warc").glob("*/*") if p.name != "SOURCE.md")
    inputs = [*warcs, str(bad_inputs / "truncated.warc.gz"), str(bad_inputs / "mixed.warc.gz"),
              str(bad_inputs / "loose")]
    config = _config(inputs, "extract.languages=all", f"extract.blocklist_files=[{bad_inputs / 'blocklist.txt'}]")
    manifest = run_stage(2, str(tmp_path / "run"), config)
    stage_dir = tmp_path / "run" / "stage-2"
    kept = _rows(stage_dir)
    rejects = _rows(stage_dir, "_rejects")
    dropped = manifest["dropped"]
    assert manifest["rows_in"] == manifest["rows_out"] + sum(dropped.values())
    assert manifest["rows_out"] == kept.num_rows > 60
    # request/metadata/warcinfo records are not documents: counted apart, not as rows
    skipped = manifest["records_skipped"]
    assert skipped.get("request", 0) >= 1 and skipped.get("warcinfo", 0) >= 1, skipped
    assert "extract:non_response" not in dropped or dropped["extract:non_response"] < 5
    for reason in ("http_status", "truncated_file", "too_large", "undecodable",
                   "empty_file", "encrypted", "corrupt_pdf", "blocklisted", "unsupported_type"):
        assert dropped.get(f"extract:{reason}", 0) >= 1, (reason, dropped)
    # one counted reason per broken file, naming it
    truncated = rejects.filter(pa.compute.equal(rejects["reason"], "extract:truncated_file")).to_pylist()
    assert any("truncated.warc.gz" in r["extract_detail"] for r in truncated)
    # the deeply nested page ends with a reason or as a document, never a crash
    rows = kept.to_pylist()
    by_url = {r["url"]: r for r in rows}
    all_urls = set(by_url) | {r["url"] for r in rejects.to_pylist()}
    assert "http://nested.test/" in all_urls
    # good documents survive next to the bad ones, with their metadata
    assert by_url["http://good.test/de"]["language"] == "de"
    assert by_url["http://good.test/de"]["domain"] == "good.test"
    good = by_url["http://good.test/python"]
    assert "jane.doe@gmail.com" not in good["text"] and good["pii_emails"] >= 1 and good["pii_ips"] >= 1
    assert "http://invalid-utf8.test/" in by_url  # a few invalid bytes are replaced, not fatal
    wiki = [r for r in rows if r["url"] and "an.wikipedia.org/wiki/Escopete" in r["url"]]
    assert wiki and all(r["language"] in ("an", "es") for r in wiki)  # Aragonese (WET has Spanish UI)
    assert {r["content_type"] for r in rows} >= {"Web", "Paper", "Book"}
    book = next(r for r in rows if r["content_type"] == "Book")
    assert book["url"] == "file://" + str(bad_inputs / "loose" / "book.epub")
    assert book["text"].index("bright cold day") < book["text"].index("story ends here")
    assert book["title"] == "A Small Book"
    assert len(set(kept["id"].to_pylist())) == kept.num_rows
    assert manifest["extract"]["trafilatura"]["favor_precision"] is True
    assert manifest["extract"]["extractor"] == "native" and manifest["extract"]["fallback_share"] == 0.0
    # deterministic: a second run gives identical rows
    again = run_stage(2, str(tmp_path / "run2"), config)
    assert [f["sha256"] for f in again["files"]] == [f["sha256"] for f in manifest["files"]]


def test_languages_filter_and_default_stage1_input(shared_data: Path, tmp_path: Path):
    run = tmp_path / "run"
    with pytest.raises(InputError, match="stage-1"):
        run_stage(2, str(run), load_config(None, ["run.progress=false"]))
    assert not (run / "stage-2" / "_manifest.json").exists()
    (run / "stage-1" / "warc").mkdir(parents=True)
    shutil.copy(shared_data / "warc/resiliparse/clueweb-quirk.warc.gz", run / "stage-1/warc/crawl-00000.warc.gz")
    shutil.copy(shared_data / "warc/dolma/sample-0000.warc.gz", run / "stage-1/warc/crawl-00001.warc.gz")
    config = load_config(None, ["run.progress=false", "extract.languages=[ja]"])
    manifest = run_stage(2, str(run), config, force=True)
    kept = _rows(run / "stage-2")
    assert kept.num_rows >= 10 and set(kept["language"].to_pylist()) == {"ja"}
    assert set(kept["source"].to_pylist()) == {"crawl"}
    assert min(kept["language_score"].to_pylist()) >= 0.65
    assert manifest["dropped"]["extract:language"] >= 10  # the English dolma pages


def test_spark_python_workers_run_tasks_in_their_main_thread():
    """The per-document timer (SIGALRM) needs the main thread; check where Spark runs our code."""
    from pipeline.engines import make_engine

    def probe(seconds: float) -> tuple[bool, bool]:
        import time

        from filters.extract.timeout import CallTimeout, call_with_timeout

        try:
            call_with_timeout(time.sleep, seconds, 5)
            timed_out = False
        except CallTimeout:
            timed_out = True
        return threading.current_thread() is threading.main_thread(), timed_out

    engine = make_engine(load_config(None, []))
    try:
        results = engine.map(probe, [0.2, 0.3])
    finally:
        engine.close()
    assert results == [(True, True), (True, True)]


def test_cascade_hands_unsure_pages_to_trafilatura_and_counts_them(shared_data: Path, tmp_path: Path):
    """extract.fallback_below_confidence: pages where ours is less sure go to trafilatura's public
    API; which extractor made each text is a column, the fallback share is in the manifest."""
    import trafilatura

    from filters.extract.html import TRAFILATURA_SETTINGS

    base = shared_data / "trafilatura/tests/cache"
    names = ["blog.python.org.html", "bmjv.de.konsum.html", "en.wikipedia.org.tsne.html"]
    pages = tmp_path / "pages"
    pages.mkdir()
    for name in names:
        shutil.copy(base / name, pages / name)
    short = b"<html><body><p>Only a short note, and a link: <a href='/x'>more</a>.</p></body></html>"
    (pages / "short.html").write_bytes(short)
    config = _config([str(pages)], "extract.languages=all", "extract.min_chars=10",
                     "extract.fallback_below_confidence=0.9")
    manifest = run_stage(2, str(tmp_path / "run"), config)
    rows = _rows(tmp_path / "run" / "stage-2").to_pylist()
    by_name = {Path(r["url"]).name: r for r in rows}
    assert by_name["short.html"]["extractor"] == "trafilatura"  # ours has no confidence in 50 chars
    fell_back = [r for r in rows if r["extractor"] == "trafilatura"]
    assert manifest["extract"]["fallback_documents"] == len(fell_back) < len(rows)
    assert manifest["extract"]["fallback_share"] == round(len(fell_back) / len(rows), 4)
    for row in fell_back:  # unmodified trafilatura: its own answer on the page
        raw = (pages / Path(row["url"]).name).read_bytes()
        assert row["text"] == (trafilatura.extract(raw, **TRAFILATURA_SETTINGS) or "").strip()


def test_a_50_mb_page_ends_as_a_counted_timeout(shared_data: Path, tmp_path: Path):
    """With the size cap raised above it, a 50 MB page is parsed (libxml2, in slices) and walked
    (C) under the per-page limit: it ends as extract:timeout, the page beside it is kept."""
    page = (shared_data / "trafilatura/tests/cache/blog.python.org.html").read_bytes()
    huge = b"<html><body>" + b"<div><p>big page words here, and more words</p></div>" * 1_000_000 + b"</body></html>"
    assert len(huge) > 50_000_000
    write_warc(tmp_path / "huge.warc.gz", [("http://huge.test/", "text/html", huge),
                                           ("http://good.test/", "text/html; charset=utf-8", page)])
    config = _config([str(tmp_path / "huge.warc.gz")], "extract.languages=all",
                     "extract.max_record_bytes=100000000", "extract.timeout_seconds=0.5")
    manifest = run_stage(2, str(tmp_path / "run"), config)
    assert manifest["dropped"] == {"extract:timeout": 1}
    assert [r["url"] for r in _rows(tmp_path / "run" / "stage-2").to_pylist()] == ["http://good.test/"]


def test_documents_name_their_dataset_for_the_meta_header(shared_data, tmp_path):
    """The header's `source` is the dataset: a Common Crawl dump from its WARC path, other
    archives and loose files by kind, our crawl by site category (see the crawl tests)."""
    from filters.extract.stage import dataset_of

    assert dataset_of("warc", "/cc/CC-MAIN-2024-22/segments/x/warc/CC-MAIN-20240512-00001.warc.gz#123",
                      None) == "commoncrawl/CC-MAIN-2024-22"
    assert dataset_of("crawl", "stage-1/warc/crawl-00001.warc.gz#9", "Software Development") == \
        "crawl/Software Development"
    assert dataset_of("files", "/docs/a.html", None) == "files"
    warc = shared_data / "warc" / "commoncrawl-whirlwind" / "whirlwind.warc.gz"
    config = load_config(None, [f"extract.inputs=[{warc}]", "extract.languages=all", "run.progress=false"])
    manifest = run_stage(2, str(tmp_path / "run"), config)
    rows = pq.read_table(tmp_path / "run" / "stage-2" / manifest["files"][0]["path"]).to_pylist()
    assert rows and {r["dataset"] for r in rows} == {"warc"}  # the excerpt's file name names no dump
