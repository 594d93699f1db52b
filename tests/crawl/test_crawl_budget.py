"""The category budget on real hosts: target shares steer which hosts get the crawl's pages,
per-host caps hold, and yields read from an earlier run folder rescale the targets."""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crawl.selection.budget import yields_from_run
from crawl.testsite import serve_folder
from tests.crawl.helpers_crawl import run_crawl

pytestmark = pytest.mark.slow


def make_site(folder: Path, name: str, pages: int = 30) -> Path:
    folder.mkdir(parents=True)
    for i in range(pages):
        text = " ".join(f"Paragraph {j} of page {i} on {name} describes things in detail." for j in range(30))
        (folder / f"p{i}.html").write_text(
            f"<html><head><title>{name} {i}</title></head><body><p>{text}</p>"
            f'<a href="p{(i + 1) % pages}.html">next</a></body></html>'
        )
    return folder


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    root = tmp_path_factory.mktemp("budget-sites")
    names = {"127.0.3.1": "shop-a", "127.0.3.2": "shop-b", "127.0.3.3": "shop-c", "127.0.3.4": "docs"}
    with contextlib.ExitStack() as stack:
        sites = {name: stack.enter_context(serve_folder(make_site(root / name, name), host=ip))
                 for ip, name in names.items()}
        yield sites


def crawl_with(hosts, tmp_path, *sets):
    categories = {site.host: ("Docs" if name == "docs" else "Shop") for name, site in hosts.items()}
    before = {name: len(site.access_log) for name, site in hosts.items()}
    manifest, rows = run_crawl(
        tmp_path / "run", [site.base_url + "/" for site in hosts.values()],
        f"crawl.budget.site_categories={json.dumps(categories)}", "crawl.concurrency=4", *sets,
    )
    pages = {name: [p for p in site.paths()[before[name]:] if p != "/robots.txt"]
             for name, site in hosts.items()}
    return manifest, rows, pages


def test_target_shares_steer_the_crawl(hosts, tmp_path):
    manifest, rows, pages = crawl_with(
        hosts, tmp_path / "even", "crawl.max_pages=40",
        'crawl.budget.category_shares={"Docs": 0.5, "Shop": 0.5}')
    total = sum(len(p) for p in pages.values())
    assert total == 40
    docs_share = len(pages["docs"]) / total
    assert docs_share >= 0.4, pages  # one docs host against three shop hosts, yet about half
    shares = manifest["crawl"]["category_shares"]
    assert shares["Docs"] >= 0.4 and set(shares) == {"Docs", "Shop"}
    assert Counter(r["site_category"] for r in rows if r["kind"] == "page" and r["requested"])["Docs"] >= 16

    _, _, pages = crawl_with(
        hosts, tmp_path / "skewed", "crawl.max_pages=40",
        'crawl.budget.category_shares={"Docs": 0.1, "Shop": 0.9}')
    assert len(pages["docs"]) / sum(len(p) for p in pages.values()) <= 0.2, pages


def test_per_host_cap(hosts, tmp_path):
    _, rows, pages = crawl_with(hosts, tmp_path, "crawl.max_pages=100",
                                "crawl.budget.max_pages_per_host=6")
    assert all(len(p) <= 6 for p in pages.values()), pages
    assert any(r["reason"] == "host_budget" for r in rows)


def test_yields_from_an_earlier_run(tmp_path):
    """Stage-1 rows of an earlier run + the URLs its stage 4 kept → kept share per category."""
    from pipeline.stage import current_schema_version

    run = tmp_path / "earlier"
    crawl_rows = pa.table({
        "url": [f"http://s/{i}" for i in range(10)],
        "site_category": ["Shop"] * 6 + ["Docs"] * 4,
        "reason": ["ok"] * 10, "kind": ["page"] * 10,
    })
    kept = pa.table({"url": ["http://s/0", "http://s/6", "http://s/7", "http://s/8"]})
    for n, table in ((1, crawl_rows), (4, kept)):
        (run / f"stage-{n}").mkdir(parents=True)
        pq.write_table(table, run / f"stage-{n}" / "part-00000.parquet")
        (run / f"stage-{n}" / "_manifest.json").write_text(json.dumps({"files": [{"path": "part-00000.parquet"}],
                                                                       "schema_version": current_schema_version(n)}))
    yields = yields_from_run(str(run))
    assert yields == pytest.approx({"Docs": 0.75, "Shop": 1 / 6})


def test_depth_limit(hosts, tmp_path):
    site = hosts["shop-a"]
    before = len(site.access_log)
    _, rows = run_crawl(tmp_path / "run", [site.url("/p0.html")], "crawl.max_depth=2")
    assert [p for p in site.paths()[before:] if p != "/robots.txt"] == ["/p0.html", "/p1.html", "/p2.html"]
    assert sorted(r["depth"] for r in rows if r["kind"] == "page") == [0, 1, 2]
