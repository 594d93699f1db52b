"""Shared helpers for the crawl tests: run stage 1 in-process and read what it wrote."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from warcio.archiveiterator import ArchiveIterator

from pipeline.config import load_config
from pipeline.runner import run_stage


def crawl_config(seeds: list[str], *extra: str) -> dict:
    sets = [
        f"crawl.seeds={seeds!r}".replace("'", '"'),
        "crawl.allow_networks=[127.0.0.0/8]",
        "crawl.min_host_delay=0",  # loopback test sites: no politeness wait unless a test asks
        "crawl.host_delay_factor=0",
        "run.progress=false",
    ]
    return load_config(None, sets + list(extra))


def run_crawl(run_dir: Path, seeds: list[str], *extra: str) -> tuple[dict, list[dict]]:
    manifest = run_stage(1, str(run_dir), crawl_config(seeds, *extra))
    rows = []
    for f in manifest["files"]:
        rows += pq.read_table(run_dir / "stage-1" / f["path"]).to_pylist()
    return manifest, rows


def warc_records(run_dir: Path) -> list:
    """(type, target uri, http status or None, payload bytes, warc headers) of every record."""
    out = []
    for path in sorted((run_dir / "stage-1" / "warc").glob("*.warc.gz")):
        with open(path, "rb") as f:
            for rec in ArchiveIterator(f):
                status = int(rec.http_headers.get_statuscode()) if rec.rec_type == "response" else None
                out.append((rec.rec_type, rec.rec_headers.get_header("WARC-Target-URI"), status,
                            rec.content_stream().read(), rec.rec_headers))
    return out
