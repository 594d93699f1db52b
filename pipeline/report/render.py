"""report.json's figures → one HTML page (Jinja2 template, charts inlined as SVG)."""

from __future__ import annotations

import json
from pathlib import Path

import jinja2
from markupsafe import Markup

from pipeline.report import charts
from pipeline.report.collect import manifest_file
from pipeline.report.figures import blocks

TEMPLATE = "template.html.j2"


def _num(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _bytes(value) -> str:
    if value is None:
        return "–"
    for limit, unit in ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if value >= limit:
            return f"{value / limit:,.1f} {unit}"
    return f"{value:,} B"


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _src(*path) -> Markup:
    """A data-src attribute: the JSON file (relative to the run folder) and the keys of the number
    shown, so anyone (and the tests) can check a figure against the manifests."""
    return Markup(f" data-src='{json.dumps([str(p) for p in path])}'")


def _funnel_charts(data: dict) -> dict[str, str]:
    rows = [r for r in data["funnel"]["rows"] if r["status"] == "finished"]
    out = {}
    if rows:
        labels = [f"{r['stage']} {r['name']}" for r in rows]
        out["funnel_docs"] = charts.grouped("funnel_docs", labels, {
            "rows in": [r["docs_in"] for r in rows], "rows out": [r["docs_out"] for r in rows]}, "rows")
        text = [r for r in rows if r["text_bytes_in"]]
        if text:
            out["funnel_bytes"] = charts.grouped("funnel_bytes", [f"{r['stage']} {r['name']}" for r in text], {
                "text bytes in": [r["text_bytes_in"] for r in text],
                "text bytes out": [r["text_bytes_out"] or 0 for r in text]}, "bytes of text")
    reasons = data["funnel"]["reasons"]
    if reasons:
        out["drop_reasons"] = charts.bars("drop_reasons", {r["reason"]: r["docs"] for r in reasons}, "rows dropped")
    return out


def _crawl_charts(crawl: dict) -> dict[str, str]:
    if crawl["status"] != "finished":
        return {}
    out = {}
    if crawl["by_status"]:
        out["crawl_status"] = charts.bars("crawl_status", {f"HTTP {k}" if k != "(none)" else "no response": v
                                                           for k, v in crawl["by_status"].items()}, "fetch attempts")
    if crawl["by_reason"]:
        out["crawl_reason"] = charts.bars("crawl_reason", crawl["by_reason"], "fetch attempts")
    categories = sorted(set(crawl["category_shares"]) | set(crawl["category_targets"]))
    if categories:
        out["crawl_categories"] = charts.grouped("crawl_categories", categories, {
            "achieved share": [crawl["category_shares"].get(c, 0) for c in categories],
            "target share": [crawl["category_targets"].get(c, 0) for c in categories]}, "share of pages",
            horizontal=True)
    if crawl["category_yield"]:
        cats = list(crawl["category_yield"])
        steps = ["fetched", "stage-2", "stage-3", "stage-4"]
        present = [s for s in steps if any(s in crawl["category_yield"][c] for c in cats)]
        out["crawl_yield"] = charts.grouped("crawl_yield", cats, {
            s if s == "fetched" else f"kept after {s}": [crawl["category_yield"][c].get(s, 0) for c in cats]
            for s in present}, "pages / documents", horizontal=True)
    return out


def _distribution_charts(dist: dict) -> dict[str, str]:
    out = {}
    for column, figures in dist["columns"].items():
        values = figures["values"]
        out[f"dist_{column}"] = charts.grouped(f"dist_{column}", values, {
            label: [counts.get(v, 0) for v in values] for label, counts in figures["series"].items()},
            "documents", horizontal=True)
    return out


def _quality_charts(quality: dict) -> dict[str, str]:
    if quality["status"] != "finished":
        return {}
    out = {}
    tiers = quality["tiers"]
    for key in ("by_content_type", "by_language"):
        matrix = quality[key]
        if matrix:
            cats = list(matrix)[:charts.MAX_BARS]
            out[f"quality_{key}"] = charts.stacked(f"quality_{key}", cats, {
                t: [matrix[c].get(t, 0) for c in cats] for t in tiers}, "documents scored")
    for scorer, hist in quality["histograms"].items():
        edges = _bucket_edges(hist["cut_points"], len(hist["buckets"]))
        out[f"quality_hist_{scorer}"] = charts.histogram(f"quality_hist_{scorer}", edges, hist["buckets"],
                                                         f"{scorer} score", density=hist["cut_points"] is not None)
    return out


def _bucket_edges(cuts: list[float] | None, n: int) -> list[float]:
    """Score edges of the calibrated buckets (bucket b holds cuts[b-1] <= score < cuts[b]); the open
    end buckets get their neighbour's width, empty-width buckets a small one, so every bar shows."""
    if not cuts:
        return [float(b) for b in range(n + 1)]
    span = (cuts[-1] - cuts[0]) or 1.0
    minimum = span / 200
    edges = [cuts[0] - max(cuts[1] - cuts[0] if len(cuts) > 1 else span, minimum)]
    for cut in cuts:
        edges.append(max(cut, edges[-1] + minimum))
    edges.append(edges[-1] + max(cuts[-1] - cuts[-2] if len(cuts) > 1 else span, minimum))
    return edges


def _dedup_charts(dedup: dict) -> dict[str, str]:
    if dedup["status"] != "finished" or not dedup["cluster_sizes"]:
        return {}
    return {"dedup_sizes": charts.grouped("dedup_sizes", list(dedup["cluster_sizes"]),
                                          {"clusters": list(dedup["cluster_sizes"].values())},
                                          "clusters (log scale)", log=True)}


def _stage_blocks(section: dict, number: int, name: str) -> list[dict]:
    if section["status"] != "finished":
        return []
    shown = blocks(section["figures"], () if name == "tokens" else (name,))
    for column, counts in section.get("by", {}).items():
        if column in ("source", "domain", "content_type", "language"):
            continue
        shown.append({"kind": "bars", "title": f"rows read, by {column}", "path": None,
                      "profile_column": column, "values": counts})
    for block in shown:
        block["file"] = manifest_file(number)
        if block["kind"] == "bars" and block["values"]:
            block["chart"] = charts.bars(f"{name}_{block['title']}", block["values"], "count")
        elif block["kind"] == "matrix":
            rows = list(block["rows"])[:charts.MAX_BARS]
            block["chart"] = charts.stacked(f"{name}_{block['title']}", rows, {
                c: [block["rows"][r].get(c, 0) for r in rows] for c in block["columns"][:10]}, "count")
    return shown


def _token_charts(tokens: dict) -> dict[str, str]:
    if tokens["status"] != "finished":
        return {}
    return {f"tokens_{key}": charts.bars(f"tokens_{key}", values, "tokens")
            for key, values in tokens["tokens_by"].items() if values}


def _timing_chart(run_info: dict) -> dict[str, str]:
    from datetime import datetime

    spans = []
    times = [t for t in run_info["timings"] if t["started"] and t["finished"]]
    if not times:
        return {}
    origin = min(datetime.fromisoformat(t["started"]) for t in times)
    for t in times:
        start = (datetime.fromisoformat(t["started"]) - origin).total_seconds()
        end = (datetime.fromisoformat(t["finished"]) - origin).total_seconds()
        spans.append((f"{t['stage']} {t['name']}", start, end))
    return {"timings": charts.timeline("timings", spans)}


def render_html(data: dict) -> str:
    svg = {**_funnel_charts(data), **_crawl_charts(data["crawl"]), **_distribution_charts(data["distributions"]),
           **_quality_charts(data["quality"]), **_dedup_charts(data["dedup"]), **_token_charts(data["tokens"]),
           **_timing_chart(data["run_info"])}
    stage_blocks = {name: _stage_blocks(data[name], number, name)
                    for number, name in ((5, "rebalance"), (6, "code"), (7, "github"), (8, "tokens"))}
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=_num, bytes=_bytes, pct=_pct)
    env.globals.update(src=_src, manifest=manifest_file)
    return env.get_template(TEMPLATE).render(
        data=data, svg={k: Markup(v) for k, v in svg.items()}, stage_blocks=stage_blocks, Markup=Markup)
