"""Crawl budget across site categories: which host to fetch from next.

A host's site category is its known category (`crawl.budget.site_categories`) or the most common
page topic among its fetched pages. Each category has a target share of pages (config, optionally
scaled by the yield an earlier run achieved per category); the next host comes from the category
furthest below its share, so no category takes a disproportionate part of the crawl.
"""

from __future__ import annotations

from collections import Counter

import pyarrow.compute as pc

from crawl.config import BudgetConfig
from pipeline import io
from pipeline.log import log

UNKNOWN = "unknown"


class Budget:
    def __init__(self, settings: BudgetConfig, yields: dict[str, float] | None = None):
        self.shares = {k: float(v) for k, v in (settings.category_shares or {}).items()}
        self.default_share = settings.default_share
        self.yields = yields or {}
        self.counts: Counter[str] = Counter()

    def record(self, category: str) -> None:
        self.counts[category] += 1

    def targets(self, categories: set[str]) -> dict[str, float]:
        """Target share per category among those currently in play (listed ones always are)."""
        cats = sorted((categories | set(self.shares)) - {UNKNOWN})
        listed = sum(self.shares.get(c, 0.0) for c in cats)
        unlisted = [c for c in cats if c not in self.shares]
        if self.default_share is not None:
            rest = float(self.default_share)
        else:
            rest = max(0.0, 1.0 - listed) / len(unlisted) if unlisted else 0.0
        raw = {c: self.shares.get(c, rest) for c in cats}
        if self.yields:
            mean_yield = sum(self.yields.values()) / len(self.yields)
            raw = {c: s * self.yields.get(c, mean_yield) for c, s in raw.items()}
        total = sum(raw.values()) or 1.0
        return {c: s / total for c, s in raw.items()}

    def deficits(self, categories: set[str]) -> dict[str, float]:
        """target − achieved share; unknown hosts come first (their first page tells their category)."""
        targets = self.targets(categories)
        total = sum(self.counts[c] for c in targets)
        out = {c: t - (self.counts[c] / total if total else 0.0) for c, t in targets.items()}
        out[UNKNOWN] = 2.0
        return out

    def achieved(self) -> dict[str, float]:
        total = sum(self.counts.values())
        return {c: round(n / total, 4) for c, n in sorted(self.counts.items())} if total else {}


def yields_from_run(run_dir: str) -> dict[str, float]:
    """Per site category: share of an earlier crawl's fetched pages still kept after stages 2–4.

    Reads DIR/stage-1 (url, site_category, reason) and the latest finished of stages 4, 3, 2
    (its `url` column). Categories with no fetched page are left out.
    """
    from pipeline.stage import StageContext

    ctx = StageContext(config={}, run_dir=run_dir)
    crawl = [io.read_parquet(p, ["url", "site_category", "reason", "kind"]) for p in ctx.stage_parts(1)]
    later = next((n for n in (4, 3, 2) if ctx.stage_finished(n)), None)
    if later is None:
        log("crawl.yield_run_unused", run=run_dir, why="no finished stage 2-4")
        return {}
    kept: set[str] = set()
    for part in ctx.stage_parts(later):
        kept.update(u for u in io.read_parquet(part, ["url"]).column("url").to_pylist() if u)
    fetched: Counter[str] = Counter()
    survived: Counter[str] = Counter()
    for table in crawl:
        ok = table.filter(pc.and_(pc.equal(table["reason"], "ok"), pc.equal(table["kind"], "page")))
        for url, cat in zip(ok["url"].to_pylist(), ok["site_category"].to_pylist(), strict=True):
            fetched[cat] += 1
            survived[cat] += url in kept
    return {c: survived[c] / n for c, n in sorted(fetched.items()) if n}
