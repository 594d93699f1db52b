"""Stage 1 under the kill tests: Debian's python3-doc served on loopback (crawl.testsite), a
robots.txt that keeps the crawl to ~80 real pages, and the checks of a resumed crawl.

A crawl's rows carry fetch times, so its parts are not byte-identical between runs; everything
else is compared with the uninterrupted crawl: the same rows (fetch time aside; a resumed session
reads robots.txt again, one more `robots` row with attempt 2, 3, ...), the same manifest (those
rows and the parts' checksums aside), every page fetched once, except the requests in flight when
a kill came, never a page the WARCs already held (those are replayed from the WARC), and every
response exactly once in WARCs that read whole.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pyarrow.compute as pc
from warcio.archiveiterator import ArchiveIterator

from tests.reliability.harness import check_consistent, comparable, stage_rows

PYDOC = Path("/usr/share/doc/python3.11/html")
ROBOTS = ("User-agent: *\n"
          "Disallow: /library/\n"
          "Allow: /library/functions.html\n"
          "Disallow: /c-api/\n"
          "Disallow: /whatsnew/\n"
          "Disallow: /howto/\n"
          "Disallow: /genindex\n"
          "Disallow: /_sources/\n"
          "Disallow: /_downloads/\n")
RUN_TIME = ("fetched_at",)  # the only per-run column of a crawl row


def crawl_sets(base_url: str) -> list[str]:
    return [f'crawl.seeds=["{base_url}/"]', "crawl.allow_networks=[127.0.0.0/8]", "crawl.min_host_delay=0",
            "crawl.host_delay_factor=0", "run.progress=false", "crawl.max_depth=50", "crawl.max_pages=5000"]


def responses(run_dir: Path, tolerate_tail: bool = False) -> Counter:
    """Target paths of the response records in the run's WARCs. A killed writer may leave half a
    record at a file's end (`tolerate_tail`); once a run completed, every file must read whole."""
    out: Counter = Counter()
    for path in sorted((run_dir / "stage-1" / "warc").glob("*.warc.gz")):
        with open(path, "rb") as fh:
            try:
                for record in ArchiveIterator(fh):
                    if record.rec_type == "response":
                        record.content_stream().read()
                        out[unquote(urlsplit(record.rec_headers.get_header("WARC-Target-URI")).path)] += 1
            except Exception:  # noqa: BLE001 - a torn last record, right after a kill
                if not tolerate_tail:
                    raise
    return out


class CrawlWatch:
    """What the site served, and what the WARCs held at each kill. Chains run one after the
    other, so a chain's requests are those since the previous check (or the reference run)."""

    def __init__(self, site):
        self.site = site
        self.since = 0
        self.kills: list[tuple[int, set[str]]] = []

    def requests(self) -> list[str]:
        return [unquote(urlsplit(p).path) for p in self.site.paths()]

    def start(self) -> None:
        self.since, self.kills = len(self.site.paths()), []

    def on_kill(self, run_dir: Path) -> None:
        self.kills.append((len(self.site.paths()), set(responses(run_dir, tolerate_tail=True))))


def check_crawl(watch: CrawlWatch, reference_requests: list[str]):
    """A check for kill_chains: the resumed crawl in `run_dir` against the reference crawl."""

    def check(run_dir: Path, reference: Path, stage: int = 1) -> None:
        stage_dir, ref_dir = run_dir / "stage-1", reference / "stage-1"
        manifest = json.loads((stage_dir / "_manifest.json").read_text())
        expected = json.loads((ref_dir / "_manifest.json").read_text())
        check_consistent(stage_dir, manifest)
        rows, ref_rows = (_sorted(stage_rows(d, m["files"]).drop_columns(list(RUN_TIME)))
                          for d, m in ((stage_dir, manifest), (ref_dir, expected)))
        ids = rows.column("id").to_pylist()
        assert len(ids) == len(set(ids)), "a row is duplicated"
        # a resumed session reads robots.txt again: one more robots row per session that got
        # that far (attempt 2, 3, ...); every other row is the uninterrupted crawl's
        is_retry = pc.and_(pc.equal(rows.column("kind"), "robots"), pc.greater(rows.column("attempt"), 1))
        retries = int(pc.sum(is_retry).as_py() or 0)
        assert retries <= len(watch.kills), f"{retries} robots.txt re-reads over {len(watch.kills)} kills"
        rows = rows.filter(pc.invert(is_retry))
        assert rows.equals(ref_rows), _first_difference(rows, ref_rows)
        counts = ("rows_in", "rows_out", "rows_written")
        assert all(manifest[k] == expected[k] + retries for k in counts)
        assert [f["path"] for f in manifest["files"]] == [f["path"] for f in expected["files"]]
        unchanged = ("files", "profile", *counts)
        assert {**comparable(manifest), **dict.fromkeys(unchanged)} == {**comparable(expected), **dict.fromkeys(unchanged)}
        # every response exactly once, in WARCs that read whole
        held, ref_held = responses(run_dir), responses(reference)
        assert held.pop("/robots.txt", 0) == ref_held.pop("/robots.txt", 0) + retries
        assert held == ref_held, "the WARCs do not hold the uninterrupted crawl's responses, each once"
        # what the server saw: every page the uninterrupted crawl fetched, none other; a page
        # fetched again only if it was in flight at a kill, never one a WARC already held
        requests = watch.requests()
        chain = requests[watch.since:]
        assert set(chain) == set(reference_requests), "pages lost or extra pages fetched"
        for at, in_warc in watch.kills:
            again = (set(requests[at:]) & in_warc) - {"/robots.txt"}
            assert not again, f"fetched again although its WARC held it: {sorted(again)[:3]}"
        twice = sum(n - 1 for p, n in Counter(chain).items() if p != "/robots.txt")
        assert twice <= len(watch.kills), f"{twice} pages fetched twice over {len(watch.kills)} kills"
        watch.start()

    return check


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by([("kind", "ascending"), ("url", "ascending"), ("id", "ascending")])


def _first_difference(a: pa.Table, b: pa.Table) -> str:
    if a.num_rows != b.num_rows:
        return f"{a.num_rows} rows, the uninterrupted crawl has {b.num_rows}"
    for name in a.column_names:
        x, y = a.column(name).to_pylist(), b.column(name).to_pylist()
        for i, (u, v) in enumerate(zip(x, y, strict=True)):
            if u != v:
                return f"column {name}, row {a.column('url')[i]}: {u!r} != {v!r}"
    return "schemas differ"
