"""Persistent frontier in SQLite: every normalised URL is queued at most once, ever.

The file holds the queue, the seen set (done rows stay), per-host counters and the log of fetch
attempts, so a crawl killed at any point resumes with nothing lost and nothing fetched twice
(`crawl.crawler` replays WARC records written after the last commit). Memory stays flat: URLs
live on disk, keyed by a 64-bit hash; only a bounded SQLite page cache is held in RAM.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import xxhash

from pipeline import faults

QUEUED, DONE = 0, 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS urls (
    id INTEGER PRIMARY KEY,          -- xxh64 of the normalised URL (signed)
    url TEXT NOT NULL,
    host TEXT NOT NULL,
    depth INTEGER NOT NULL,
    priority REAL NOT NULL,
    kind TEXT NOT NULL,              -- page | sitemap
    redirects INTEGER NOT NULL,      -- redirect hops that led here
    parent INTEGER,                  -- id of the URL that linked or redirected here
    seq INTEGER NOT NULL,            -- insertion order: the deterministic tie-break
    state INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS queue ON urls(host, priority DESC, seq) WHERE state = 0;
CREATE TABLE IF NOT EXISTS attempts (seq INTEGER PRIMARY KEY, row TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def url_key(url: str) -> int:
    return xxhash.xxh64_intdigest(url.encode()) - (1 << 63)


@dataclass(frozen=True)
class Entry:
    url: str
    host: str
    depth: int
    priority: float
    kind: str = "page"
    redirects: int = 0
    parent: int | None = None


@dataclass(frozen=True)
class Queued:
    id: int
    url: str
    host: str
    depth: int
    priority: float
    kind: str
    redirects: int
    parent: int | None


class Frontier:
    def __init__(self, path: str | Path, cache_kib: int = 16384):
        self.db = sqlite3.connect(str(path), isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(f"PRAGMA cache_size=-{cache_kib}")
        self.db.executescript(_SCHEMA)
        self.db.execute("BEGIN")
        self._seq = self.db.execute("SELECT coalesce(max(seq), 0) FROM urls").fetchone()[0]
        self._attempt_seq = self.db.execute("SELECT coalesce(max(seq), 0) FROM attempts").fetchone()[0]

    # -- queue -------------------------------------------------------------------------------
    def add(self, entries: list[Entry]) -> list[Entry]:
        """Queue the entries never seen before; returns those that were new."""
        new = []
        for e in entries:
            self._seq += 1
            cur = self.db.execute(
                "INSERT OR IGNORE INTO urls VALUES (?,?,?,?,?,?,?,?,?,0)",
                (url_key(e.url), e.url, e.host, e.depth, e.priority, e.kind, e.redirects, e.parent, self._seq),
            )
            if cur.rowcount:
                new.append(e)
        return new

    def seen(self, url: str) -> bool:
        return self.db.execute("SELECT 1 FROM urls WHERE id=?", (url_key(url),)).fetchone() is not None

    def parent_of(self, key: int) -> tuple[int | None, int, str] | None:
        """(parent id, redirects, url) of a known URL id."""
        return self.db.execute("SELECT parent, redirects, url FROM urls WHERE id=?", (key,)).fetchone()

    def next_for_host(self, host: str) -> Queued | None:
        row = self.db.execute(
            "SELECT id,url,host,depth,priority,kind,redirects,parent FROM urls "
            "WHERE host=? AND state=0 ORDER BY priority DESC, seq LIMIT 1",
            (host,),
        ).fetchone()
        return Queued(*row) if row else None

    def queued_by_host(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT host, count(*) FROM urls WHERE state=0 GROUP BY host"))

    def queued_total(self) -> int:
        return self.db.execute("SELECT count(*) FROM urls WHERE state=0").fetchone()[0]

    def mark_done(self, key: int) -> bool:
        return bool(self.db.execute("UPDATE urls SET state=1 WHERE id=? AND state=0", (key,)).rowcount)

    def is_done(self, url: str) -> bool:
        row = self.db.execute("SELECT state FROM urls WHERE id=?", (url_key(url),)).fetchone()
        return bool(row and row[0] == DONE)

    # -- attempts log and small state ----------------------------------------------------------
    def log_attempt(self, row: dict) -> None:
        self._attempt_seq += 1
        self.db.execute("INSERT INTO attempts VALUES (?,?)", (self._attempt_seq, json.dumps(row)))

    def attempts(self) -> list[dict]:
        return [json.loads(r) for (r,) in self.db.execute("SELECT row FROM attempts ORDER BY seq")]

    def get(self, key: str, default=None):
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def put(self, key: str, value) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?,?)", (key, json.dumps(value)))

    def commit(self) -> None:
        self.db.execute("COMMIT")
        faults.point("committed frontier")
        self.db.execute("BEGIN")

    def close(self) -> None:
        self.db.execute("COMMIT")
        self.db.close()
