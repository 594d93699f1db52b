"""Stage 1 (crawl): the crawler runs in the driver; its attempt log becomes the stage's parquet.

One partition: the crawl itself is resumable (SQLite frontier + WARC tail replay), so a re-run
after a kill continues where it stopped; the runner commits the partition when the crawl is done.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from crawl.config import CrawlConfig
from crawl.crawler import Crawler
from crawl.selection.budget import yields_from_run
from pipeline import io
from pipeline.errors import ConfigError, InputError
from pipeline.log import log
from pipeline.stage import Kind, Partition, Stage
from schemas.crawl import EXTRA, SCHEMA, VERSION


def read_seeds(settings: CrawlConfig) -> list[str]:
    seeds = settings.seeds
    seeds = [seeds] if isinstance(seeds, str) else list(seeds or [])
    if settings.seeds_file:
        path = settings.seeds_file
        if not io.exists(path):
            raise InputError(f"crawl.seeds_file: {path} does not exist")
        with io.open_input(path, "rt") as f:
            seeds += [s.strip() for s in f if s.strip() and not s.lstrip().startswith("#")]
    if not seeds:
        raise ConfigError("crawl.seeds: no seed URL given (set crawl.seeds or crawl.seeds_file)")
    return seeds


def rows_to_table(rows: list[dict]) -> pa.Table:
    full = pa.schema(list(SCHEMA) + list(EXTRA))
    for row in rows:
        row["source"] = "crawl"
        row["fetched_at"] = datetime.fromtimestamp(row["fetched_at"], UTC)
    return pa.Table.from_pylist(rows, schema=full)


class CrawlStage(Stage):
    number = 1
    name = "crawl"
    schema = SCHEMA
    schema_version = VERSION
    settings_model = CrawlConfig
    kind = Kind.DRIVER  # the crawl talks to web servers and keeps its own resumable frontier
    # the report's crawl section: attempts by status and reason, site categories and their hosts
    profile_columns = (*Stage.profile_columns, "status", "reason", "site_category",
                       ("site_category", "reason"), ("host", "site_category"))

    def _state_dir(self) -> Path:
        stage_dir = self.ctx.stage_dir(1)
        if "://" in stage_dir and not stage_dir.startswith("file://"):
            raise ConfigError(f"crawl: the run folder must be local for the crawl state ({stage_dir})")
        return Path(stage_dir.removeprefix("file://"))

    def partitions(self) -> list[Partition]:
        read_seeds(self.settings)  # fail early, with the key named
        return [Partition(index=0)]

    def score(self, part: Partition) -> pa.Table:
        yields = {}
        if self.settings.budget.yield_run:
            yields = yields_from_run(self.settings.budget.yield_run)
            log("crawl.yields", yields=yields)
        crawler = Crawler(self.settings, self._state_dir(), yields)
        summary = crawler.run(read_seeds(self.settings))
        io.write_json_atomic(str(self._state_dir() / "_crawl_summary.json"), {**summary, "yields": yields})
        from crawl.frontier import Frontier

        frontier = Frontier(self._state_dir() / "_frontier.sqlite")
        try:
            rows = frontier.attempts()
        finally:
            frontier.close()
        return rows_to_table(rows)

    def finish(self, engine) -> dict:
        path = self._state_dir() / "_crawl_summary.json"
        return {"crawl": io.read_json(str(path))} if path.exists() else {}
