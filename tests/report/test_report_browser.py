"""The demo's audit report opened in headless Chromium (Debian's `chromium`), screenshot taken.

Checked in the rendered page: every section is there (a stage that did not run says so), every
chart drew marks, nothing was fetched from the network, the console stayed clean, and every number
the page marks with its source (`data-src`: a file of the run folder and the keys in it) equals
that value in the manifests, read here independently.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline.registry import STAGES, is_built
from tests.report.chromium import CHROMIUM, Chromium

STAGE_SECTIONS = {1: "crawl", 3: "quality", 4: "dedup", 5: "rebalance", 6: "code", 7: "github", 8: "tokens"}
SECTIONS = ["funnel", "crawl", "distributions", "quality", "dedup", "rebalance", "code", "github", "tokens", "run"]

READ_SECTIONS = """[...document.querySelectorAll('section[data-section]')].map(s => ({
  id: s.dataset.section, title: (s.querySelector('h2') || {}).textContent || '',
  height: s.getBoundingClientRect().height, text: s.innerText.length,
  notRun: (s.querySelector('.not-run') || {}).textContent || null,
  charts: s.querySelectorAll('figure.chart').length}))"""
READ_CHARTS = """[...document.querySelectorAll('figure.chart')].map(f => {
  const svg = f.querySelector('svg'); const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  const marks = svg ? [...svg.querySelectorAll('g[id^="patch"] path')].filter(p => {
      const b = p.getBBox(); return b.width > 0 && b.height > 0; }).length : 0;
  return {name: f.dataset.chart, width: box.width, height: box.height, marks: marks}; })"""
READ_NUMBERS = "[...document.querySelectorAll('[data-src]')].map(e => [JSON.parse(e.dataset.src), e.textContent])"


def _manifests(run: Path) -> dict[int, dict]:
    return {n: json.loads((run / f"stage-{n}" / "_manifest.json").read_text())
            for n in STAGES if (run / f"stage-{n}" / "_manifest.json").is_file()}


def _value(run: Path, path: list[str]):
    value = json.loads((run / path[0]).read_text())
    for key in path[1:]:
        value = value[int(key)] if isinstance(value, list) else value[key]
    return value


def _shown(text: str):
    text = text.strip().replace(",", "")
    if text in ("true", "false"):  # a manifest flag (e.g. stage 5's), shown as JSON spells it
        return text == "true"
    return float(text) if any(c in text for c in ".e") else int(text)


@pytest.fixture(scope="module")
def page_figures(demo_run, tmp_path_factory):
    if not Path(CHROMIUM).is_file() or not shutil.which("chromium"):
        pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium")
    shot = tmp_path_factory.mktemp("screenshot") / "report.png"
    index = demo_run.folder / "report" / "index.html"
    with Chromium() as browser:
        page = browser.open(index.as_uri())
        figures = {"sections": page.evaluate(READ_SECTIONS), "charts": page.evaluate(READ_CHARTS),
                   "numbers": page.evaluate(READ_NUMBERS), "height": page.evaluate("document.body.scrollHeight")}
        page.screenshot(shot)
        figures["problems"] = page.console_problems()
        figures["requests"] = page.requested_urls()
    figures["screenshot"] = shot
    return figures


def test_every_section_is_rendered_and_stages_that_did_not_run_say_so(demo_run, page_figures):
    manifests = _manifests(demo_run.folder)
    sections = {s["id"]: s for s in page_figures["sections"]}
    assert list(sections) == SECTIONS
    for section in sections.values():
        assert section["title"] and section["height"] > 50 and section["text"] > 40, section
    for number, name in STAGE_SECTIONS.items():
        section = sections[name]
        if number in manifests:
            assert section["notRun"] is None and section["charts"] + section["text"] > 0, name
        else:
            expected = "not built yet" if not is_built(number) else "did not run"
            assert section["notRun"] and expected in section["notRun"], (name, section["notRun"])
    for name in ("funnel", "crawl", "quality", "dedup", "tokens", "run"):
        assert sections[name]["charts"] >= 1, name


def test_every_chart_draws_marks_and_the_expected_charts_are_there(demo_run, page_figures):
    charts = {c["name"]: c for c in page_figures["charts"]}
    for chart in charts.values():
        assert chart["width"] > 100 and chart["height"] > 50, chart
        assert chart["marks"] >= 1, chart  # bars / histogram bins with a non-empty box
    manifests = _manifests(demo_run.folder)
    index = json.loads((demo_run.folder / "stage-8" / "_index.json").read_text())
    expected = {"funnel_docs", "funnel_bytes", "drop_reasons", "crawl_status", "crawl_reason", "crawl_categories",
                "crawl_yield", "dist_language", "dist_domain", "quality_by_content_type", "quality_by_language",
                "dedup_sizes", "timings"}
    expected |= {f"quality_hist_{s}" for s in manifests[3]["quality_scorers"]}
    expected |= {f"tokens_{k}" for k, v in index["tokens_by"].items() if v}
    assert expected <= set(charts), expected - set(charts)


def test_offline_and_clean_console_and_a_screenshot(demo_run, page_figures):
    assert page_figures["problems"] == []
    index_uri = (demo_run.folder / "report" / "index.html").as_uri()
    assert page_figures["requests"] == [index_uri]  # no CDN, no font, no script: one self-contained page
    png = page_figures["screenshot"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 100_000
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width >= 1000 and height >= page_figures["height"] * 0.9


def test_numbers_shown_equal_the_manifests(demo_run, page_figures):
    run = demo_run.folder
    numbers = page_figures["numbers"]
    for path, text in numbers:
        value = _value(run, path)
        shown = _shown(text)
        if isinstance(value, float):
            assert shown == pytest.approx(value, rel=1e-3), path
        else:
            assert shown == value, path
    sources = {tuple(path) for path, _ in numbers}
    for number, manifest in _manifests(run).items():
        name = f"stage-{number}/_manifest.json"
        assert (name, "rows_in") in sources and (name, "rows_out") in sources
        for reason in manifest["dropped"]:
            assert (name, "dropped", reason) in sources
    assert ("stage-8/_manifest.json", "total_tokens") in sources
    assert ("stage-4/_manifest.json", "dedup", "documents") in sources
