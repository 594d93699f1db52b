"""A real site: Debian's python3-doc served on loopback with a robots.txt written here. The crawl
reaches exactly the allowed pages (checked against an independent lxml BFS), and a crawl killed
with SIGKILL resumes without re-fetching what its WARCs hold and without losing queued URLs."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import lxml.html
import pytest
from warcio.archiveiterator import ArchiveIterator

from crawl.testsite import serve_folder
from tests.crawl.helpers_crawl import crawl_config, run_crawl, warc_records

pytestmark = pytest.mark.slow

PYDOC = Path("/usr/share/doc/python3.11/html")
ROBOTS = (
    "User-agent: *\n"
    "Disallow: /library/\n"
    "Allow: /library/functions.html\n"
    "Allow: /library/os.html\n"
    "Disallow: /genindex\n"
    "Disallow: /_sources/\n"
    "Disallow: /_downloads/\n"
)
ROOT = Path(__file__).resolve().parents[2]


def allowed(path: str) -> bool:
    """The robots.txt above, by hand: longest match wins, Allow on ties (RFC 9309)."""
    rules = [(r.split(":", 1)[0], r.split(":", 1)[1].strip()) for r in ROBOTS.splitlines()[1:]]
    matches = [(len(p), kind == "Allow") for kind, p in rules if path.startswith(p)]
    return max(matches)[1] if matches else True


def expected_paths() -> set[str]:
    """Independent BFS over the files (lxml, urljoin): every allowed URL reachable from /."""
    base = "http://site.invalid"
    seen, todo = {"/"}, ["/"]
    while todo:
        path = todo.pop()
        file = PYDOC / unquote(path).lstrip("/")
        if file.is_dir():
            file = file / "index.html"
        if not file.is_file() or file.suffix != ".html":
            continue
        for href in lxml.html.fromstring(file.read_bytes()).xpath("//a/@href"):
            url = urldefrag(urljoin(base + path, href.strip()))[0]
            parts = urlsplit(url)
            if parts.scheme == "http" and parts.netloc == "site.invalid":
                target = parts.path + (f"?{parts.query}" if parts.query else "")
                if target not in seen and allowed(parts.path):
                    seen.add(target)
                    todo.append(target)
    return {unquote(p) for p in seen}


@pytest.fixture(scope="module")
def expected() -> set[str]:
    if not PYDOC.is_dir():
        pytest.fail("python3-doc is not installed (make setup installs it)")
    return expected_paths()


def requested(site) -> list[str]:
    return [unquote(p) for p in site.paths() if p != "/robots.txt"]


def test_python_doc_reaches_allowed_pages_and_none_else(tmp_path, expected):
    with serve_folder(PYDOC, host="127.0.0.7", robots_txt=ROBOTS) as site:
        manifest, rows = run_crawl(tmp_path / "run", [site.base_url + "/"],
                                   "crawl.max_depth=50", "crawl.max_pages=5000")
        paths = requested(site)
    assert len(expected) > 150
    assert set(paths) == expected
    assert len(paths) == len(set(paths))  # nothing fetched twice
    assert site.paths()[0] == "/robots.txt"
    assert not [p for p in paths if not allowed(urlsplit(p).path)]
    pages = [r for r in rows if r["kind"] == "page"]
    disallowed = [r for r in pages if r["reason"] == "robots_disallowed"]
    assert disallowed and all(not allowed(unquote(urlsplit(r["url"]).path)) for r in disallowed)
    ok = [r for r in pages if r["reason"] == "ok" and r["content_type"] == "Web"]
    assert len(ok) > 150
    topics = Counter(r["page_topic"] for r in ok)
    assert (topics["Software Development"] + topics["Software"]) / len(ok) >= 0.7, topics
    assert any(r["low_utility"] for r in ok) and not all(r["low_utility"] for r in ok)
    shares = manifest["crawl"]["category_shares"]
    assert max(shares, key=shares.get) in ("Software Development", "Software")


def _attempts(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            sql = """SELECT count(*) FROM attempts WHERE row LIKE '%"requested": true%'"""
            return con.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def _responses_in_warcs(run_dir: Path) -> set[str]:
    """Target URIs of complete response records, tolerating a torn record at the end."""
    out = set()
    for path in (run_dir / "stage-1" / "warc").glob("*.warc.gz"):
        with open(path, "rb") as f:
            try:
                for rec in ArchiveIterator(f):
                    if rec.rec_type == "response":
                        rec.content_stream().read()
                        out.add(unquote(urlsplit(rec.rec_headers.get_header("WARC-Target-URI")).path))
            except Exception:  # noqa: BLE001 - the killed writer may have left half a record
                pass
    return out


def test_sigkill_mid_crawl_then_resume(tmp_path, expected):
    run_dir = tmp_path / "run"
    with serve_folder(PYDOC, host="127.0.0.8", robots_txt=ROBOTS) as site:
        sets = ["crawl.max_depth=50", "crawl.max_pages=5000", "crawl.min_host_delay=0.02",
                "crawl.host_delay_factor=0"]
        config_sets = [f'crawl.seeds=["{site.base_url}/"]', "crawl.allow_networks=[127.0.0.0/8]",
                       "run.progress=false", *sets]
        code = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
                "from pipeline.config import load_config\nfrom pipeline.runner import run_stage\n"
                f"run_stage(1, {str(run_dir)!r}, load_config(None, {config_sets!r}))\n")
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT,
                                env={**os.environ, "PIPELINE_LOG": "quiet"})
        db = run_dir / "stage-1" / "_frontier.sqlite"
        deadline = time.monotonic() + 90
        while _attempts(db) < 60 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the crawl finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        before = requested(site)
        in_warc = _responses_in_warcs(run_dir)
        assert 40 <= len(before) < len(expected)
        assert not (run_dir / "stage-1" / "_manifest.json").exists()

        manifest, rows = run_crawl(run_dir, [site.base_url + "/"], *sets)
        after = requested(site)[len(before):]
    config = crawl_config([site.base_url + "/"], *sets)
    assert config["crawl"]["min_host_delay"] == 0.02
    # nothing already in a WARC was fetched again; at most the one request in flight was repeated
    assert not set(after) & in_warc
    repeated = set(before) & set(after)
    assert len(repeated) <= 1
    # no queued URL was lost: together the two runs fetched exactly the allowed pages
    assert set(before) | set(after) == expected
    pages = [r for r in rows if r["kind"] == "page" and r["reason"] != "robots_disallowed"]
    assert len(pages) == len({r["url"] for r in pages}) == len(expected)
    responses = Counter(uri for kind, uri, *_ in warc_records(run_dir) if kind == "response")
    assert responses and max(responses.values()) == 1 or all(
        n == 1 for uri, n in responses.items() if not uri.endswith("/robots.txt"))
    assert manifest["rows_out"] == len(rows)


def test_sigkill_between_warc_write_and_commit_replays_the_tail(tmp_path, expected):
    """The worst moment: a page is in the WARC but its frontier transaction never committed.
    The re-run must take it (and its out-links) from the WARC instead of fetching it again."""
    run_dir = tmp_path / "run"
    with serve_folder(PYDOC, host="127.0.0.9", robots_txt=ROBOTS) as site:
        sets = [f'crawl.seeds=["{site.base_url}/"]', "crawl.allow_networks=[127.0.0.0/8]",
                "run.progress=false", "crawl.max_depth=50", "crawl.max_pages=5000"]
        code = (f"import os, signal, sys; sys.path.insert(0, {str(ROOT)!r})\n"
                "from crawl.frontier import Frontier\n"
                "done, orig = [0], Frontier.mark_done\n"
                "def mark_done(self, key):\n"
                "    done[0] += 1\n"
                "    if done[0] == 25: os.kill(os.getpid(), signal.SIGKILL)\n"
                "    return orig(self, key)\n"
                "Frontier.mark_done = mark_done\n"
                "from pipeline.config import load_config\nfrom pipeline.runner import run_stage\n"
                f"run_stage(1, {str(run_dir)!r}, load_config(None, {sets!r}))\n")
        proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT,
                              env={**os.environ, "PIPELINE_LOG": "quiet"}, timeout=120)
        assert proc.returncode == -signal.SIGKILL
        before = requested(site)
        in_warc = _responses_in_warcs(run_dir)
        last = unquote(before[-1])
        assert last in in_warc  # written to the WARC, not committed
        from pipeline.config import load_config
        from pipeline.runner import run_stage

        manifest = run_stage(1, str(run_dir), load_config(None, sets))
        after = requested(site)[len(before):]
    import pyarrow.parquet as pq

    rows = pq.read_table(run_dir / "stage-1" / manifest["files"][0]["path"]).to_pylist()
    assert last not in after and not set(after) & set(before)
    assert set(before) | set(after) == expected
    urls = [unquote(urlsplit(r["url"]).path) for r in rows if r["kind"] == "page" and r["requested"]]
    assert len(urls) == len(set(urls)) == len(expected)
