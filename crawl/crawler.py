"""The crawl loop: polite scheduling over hosts, robots first, every hop guarded, all logged.

One asyncio loop in the driver. At most one request per host is in flight and requests to a host
are spaced politely: `host_delay_factor` times the host's last response time, at least
`min_host_delay` (1 s) and at most `max_host_delay` (30 s), as Heritrix does (delayFactor 5,
minDelay, maxDelay), and never less than the site's robots.txt Crawl-delay (capped at
`max_crawl_delay`). The next host is chosen by the budget
(category furthest below its share), then the host's best URL by priority (depth, linking page's
quality). Each result is written to the WARC, then committed to the SQLite frontier together with
its out-links; on start, WARC records written after the last commit are replayed.
"""

from __future__ import annotations

import asyncio
import gc
import gzip
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from crawl.config import CrawlConfig
from crawl.fetch import Response, http_get, make_session
from crawl.frontier import Entry, Frontier, Queued, url_key
from crawl.guard import check_url, parse_networks
from crawl.parse import parse_html
from crawl.robots import RobotsPolicy, policy_from_response, product_token
from crawl.selection.budget import UNKNOWN, Budget
from crawl.selection.classifier import make_classifier
from crawl.selection.low_utility import assess
from crawl.urls import fast_host, fast_origin, host_of, normalize_link, normalize_url, origin
from crawl.warc import WarcWriter, scan_tail
from pipeline.ids import doc_id
from pipeline.log import log

HTML_MIMES = {"text/html", "application/xhtml+xml"}
CONTENT_TYPE_OF = {"application/pdf": "Document", "application/epub+zip": "Book"}
SITEMAP_MIMES = None  # sitemaps are read whatever their declared type (xml, text, gzip)
_LOC = re.compile(rb"<loc>\s*([^<\s]+)\s*</loc>", re.I)
SEED_PRIORITY, SITEMAP_PRIORITY = 100.0, 50.0


@dataclass
class Host:
    origin: str
    queued: int = 0
    in_flight: bool = False
    next_time: float = 0.0
    policy: RobotsPolicy | None = None
    robots_attempts: int = 0
    guard: tuple[str | None, str | None] | None = None
    given_up: bool = False
    pages: int = 0
    low_utility: int = 0
    topics: Counter = field(default_factory=Counter)
    category_override: str | None = None

    @property
    def category(self) -> str:
        if self.category_override:
            return self.category_override
        if not self.topics:
            return UNKNOWN
        best = max(self.topics.values())
        return min(t for t, n in self.topics.items() if n == best)

    @property
    def low_utility_share(self) -> float:
        return self.low_utility / self.pages if self.pages else 0.0


class Crawler:
    def __init__(self, settings: CrawlConfig, state_dir: Path, yields: dict[str, float] | None = None):
        self.s = settings
        self.state_dir = state_dir
        self.token = product_token(settings.user_agent)
        self.networks = parse_networks(settings.allow_networks)
        self.accept = {m.lower() for m in settings.content_types}
        self.classifier = make_classifier(settings.classifier)
        self.budget = Budget(settings.budget, yields)
        self.hosts: dict[str, Host] = {}
        self.tasks: set[asyncio.Task] = set()
        self.pages_launched = 0
        self.throttled: set[str] = set()
        self.attempt_counts: Counter[str] = Counter()
        state_dir.mkdir(parents=True, exist_ok=True)
        self.frontier = Frontier(state_dir / "_frontier.sqlite")
        self.warc: WarcWriter | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def run(self, seeds: list[str]) -> dict:
        # Parsing allocates many short-lived objects: a larger young-generation threshold (and
        # frozen long-lived objects) cuts the cyclic GC's share of the crawl's CPU by ~8%.
        threshold = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        try:
            asyncio.run(self._run(seeds))
        finally:
            gc.set_threshold(*threshold)
            gc.unfreeze()
            if self.warc:
                self.warc.close()
            self.frontier.close()
        return self.summary()

    def summary(self) -> dict:
        return {
            "pages_attempted": self.pages_launched,
            "category_shares": self.budget.achieved(),
            "category_targets": {k: round(v, 4) for k, v in self.budget.targets(
                {h.category for h in self.hosts.values()}).items()},
            "hosts": len(self.hosts),
        }

    async def _run(self, seeds: list[str]) -> None:
        session_no = int(self.frontier.get("session", 0)) + 1
        self.frontier.put("session", session_no)
        self._restore()
        self._recover_warc_tail()
        self.warc = WarcWriter(self.state_dir / "warc", session_no, int(self.s.warc_max_bytes),
                               int(self.s.warc_gzip_level), self.s.user_agent)
        self._commit()
        if not self.frontier.get("seeded"):
            self._add_seeds(seeds)
            self.frontier.put("seeded", True)
            self._commit()
        log("crawl.start", session=session_no, queued=self.frontier.queued_total(), hosts=len(self.hosts))
        async with make_session(self.s, self.networks) as self.session:
            while True:
                now = time.monotonic()
                for host in self._pick(now):
                    host.in_flight = True
                    task = asyncio.create_task(self._step(host))
                    self.tasks.add(task)
                if not self.tasks:
                    wait = self._next_wake(now)
                    if wait is None:
                        break
                    await asyncio.sleep(wait)
                    continue
                wait = self._next_wake(now)
                done, _ = await asyncio.wait(self.tasks, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    self.tasks.discard(task)
                    task.result()  # a bug in a step ends the crawl loudly (state stays resumable)
        log("crawl.done", **self.summary())

    def _restore(self) -> None:
        """Rebuild host counters from the committed attempts log and queue."""
        self.scope = set(self.frontier.get("scope", []))
        overrides = self.s.budget.site_categories or {}
        for row in self.frontier.attempts():
            self._count_row(row)
        for o, n in self.frontier.queued_by_host().items():
            self._host(o).queued = n
        for h in self.hosts.values():
            h.category_override = overrides.get(host_of(h.origin + "/"))

    def _count_row(self, row: dict) -> None:
        self.attempt_counts[row["url"]] += 1
        if row["kind"] == "page" and row["requested"]:
            self.pages_launched += 1
        if row["kind"] == "page" and row["reason"] in ("ok", "noindex"):
            h = self._host(origin(row["url"]))
            h.pages += 1
            h.low_utility += bool(row["low_utility"])
            if row["page_topic"]:
                h.topics[row["page_topic"]] += 1
            self.budget.record(row["site_category"])

    def _host(self, o: str) -> Host:
        h = self.hosts.get(o)
        if h is None:
            h = self.hosts[o] = Host(o)
            h.category_override = (self.s.budget.site_categories or {}).get(host_of(o + "/"))
        return h

    def _add_seeds(self, seeds: list[str]) -> None:
        entries = []
        for raw in seeds:
            url = normalize_url(raw)
            if url is None:
                self._log_row(self._row(raw, "page", 0, reason="invalid_url",
                                        detail="not an absolute http(s) URL"), None)
                continue
            entries.append(Entry(url, origin(url), 0, SEED_PRIORITY))
            self.scope.add(host_of(url))
        self.scope.update(h.lower() for h in self.s.allow_hosts)
        self.frontier.put("scope", sorted(self.scope))
        self._queue(entries)

    # -- scheduling ----------------------------------------------------------------------------
    def _eligible(self, h: Host, now: float) -> bool:
        return h.queued > 0 and not h.in_flight and not h.given_up and h.next_time <= now

    def _pick(self, now: float) -> list[Host]:
        if self.pages_launched >= self.s.max_pages:
            return []
        free = int(self.s.concurrency) - len(self.tasks)
        ready = [h for h in self.hosts.values() if self._eligible(h, now)]
        if free <= 0 or not ready:
            return []
        deficits = self.budget.deficits({h.category for h in self.hosts.values()})
        factor = float(self.s.budget.low_utility_host_factor)
        ready.sort(key=lambda h: (-deficits.get(h.category, 0.0),
                                  -(1.0 - factor * h.low_utility_share), h.origin))
        # A category over its share waits while an under-share one still has work in play (its
        # hosts are only busy or waiting out their delay); when nothing else can run, it goes on.
        active = {h.category for h in self.hosts.values()
                  if (h.queued > 0 or h.in_flight) and not h.given_up}
        needy = any(deficits.get(c, 0.0) > 0 for c in active if c != UNKNOWN)
        slack = float(self.s.budget.share_slack)
        self.throttled = {h.origin for h in ready if needy and deficits.get(h.category, 0.0) < -slack}
        if len(self.throttled) == len(ready) and not self.tasks and not self._waiting_needy(now, deficits):
            self.throttled = set()
        return [h for h in ready if h.origin not in self.throttled][:free]

    def _waiting_needy(self, now: float, deficits: dict[str, float]) -> bool:
        """Is an under-share host waiting out its delay (so throttled hosts should wait too)?"""
        return any(h.queued > 0 and not h.given_up and h.next_time > now
                   and h.category != UNKNOWN and deficits.get(h.category, 0.0) > 0
                   for h in self.hosts.values())

    def _next_wake(self, now: float) -> float | None:
        """Seconds until a waiting host becomes ready; None when nothing is left to do."""
        if self.pages_launched >= self.s.max_pages:
            return None if not self.tasks else 1.0
        waits = [h.next_time - now for h in self.hosts.values()
                 if h.queued > 0 and not h.in_flight and not h.given_up and h.origin not in self.throttled]
        if not waits:
            return None if not self.tasks else 1.0
        return max(0.0, min(waits))

    def _host_cap(self, h: Host) -> int | None:
        cap = int(self.s.budget.max_pages_per_host)
        if cap <= 0:
            return None
        return max(1, int(cap * (1.0 - float(self.s.budget.low_utility_host_factor) * h.low_utility_share)))

    def _delay(self, h: Host, response_seconds: float) -> float:
        """Seconds from the end of one request to a host to the start of the next: a multiple of
        how long the server took (a slow server gets more room), between the floor and the cap,
        raised to the robots.txt Crawl-delay when the site asks for more."""
        adaptive = self.s.host_delay_factor * response_seconds
        delay = min(max(adaptive, self.s.min_host_delay), self.s.max_host_delay)
        asked = h.policy.crawl_delay(self.token) if h.policy else None
        if asked is not None:
            delay = max(delay, min(asked, self.s.max_crawl_delay))
        return delay

    async def _step(self, h: Host) -> None:
        """One unit of work for a host: its robots.txt, or its next URL."""
        try:
            if h.guard is None:
                h.guard = await check_url(h.origin + "/", self.networks)
            if h.guard[0]:
                self._give_up(h, h.guard[0], h.guard[1])
                return
            if h.policy is None or h.policy.expired(float(self.s.robots_cache_seconds)):
                await self._fetch_robots(h)
                return
            if h.policy.kind == "disallow_all":  # robots.txt unreachable: retry later, then give up
                if h.robots_attempts >= int(self.s.robots_max_attempts):
                    self._give_up(h, "robots_unreachable", h.policy.detail)
                else:
                    h.policy = None
                    h.next_time = time.monotonic() + float(self.s.robots_retry_seconds)
                return
            cap = self._host_cap(h)
            if cap is not None and h.pages >= cap:
                self._give_up(h, "host_budget", f"host reached its cap of {cap} pages")
                return
            q = self.frontier.next_for_host(h.origin)
            if q is None:
                h.queued = 0
                return
            if not h.policy.allowed(q.url, self.token):
                self._finish(q, self._row(q.url, q.kind, q.depth, reason="robots_disallowed",
                                          detail="robots.txt disallows this URL"), None, [])
                return
            if q.kind == "page":
                if self.pages_launched >= self.s.max_pages:
                    return
                self.pages_launched += 1
            started = time.monotonic()
            resp = await http_get(self.session, q.url, int(self.s.max_body_bytes),
                                  self.accept if q.kind == "page" else SITEMAP_MIMES)
            now = time.monotonic()
            h.next_time = now + self._delay(h, now - started) + self._backoff(resp)
            self._handle(h, q, resp)
        finally:
            h.in_flight = False

    def _backoff(self, resp: Response) -> float:
        """A 429/503 slows the host down: Retry-After seconds when given, capped like Crawl-delay."""
        if resp.status not in (429, 503):
            return 0.0
        try:
            wait = float(resp.headers.get("retry-after", "5"))
        except ValueError:
            wait = 5.0
        return min(max(wait, 0.0), float(self.s.max_crawl_delay))

    def _give_up(self, h: Host, reason: str, detail: str | None) -> None:
        """Record every queued URL of the host as not fetched, with the reason; no request is made."""
        h.given_up = True
        while (q := self.frontier.next_for_host(h.origin)) is not None:
            self._finish(q, self._row(q.url, q.kind, q.depth, reason=reason, detail=detail or ""), None, [])
        log("crawl.host_given_up", host=h.origin, reason=reason, detail=detail)

    # -- robots ----------------------------------------------------------------------------------
    async def _fetch_robots(self, h: Host) -> None:
        url = normalize_url(h.origin + "/robots.txt")
        h.robots_attempts += 1
        policy = None
        started = time.monotonic()
        for hop in range(int(self.s.max_redirects) + 1):
            reason, detail = await check_url(url, self.networks)
            if reason:
                policy = RobotsPolicy("disallow_all", detail=f"robots.txt hop {url}: {detail}")
                self._log_row(self._row(url, "robots", 0, reason=reason, detail=detail), None)
                break
            resp = await http_get(self.session, url, int(self.s.robots_max_bytes), None)
            status = resp.status
            location = resp.headers.get("location") if status and 300 <= status < 400 else None
            target = normalize_url(location, base=url) if location else None
            if target and hop < int(self.s.max_redirects):
                self._log_row(self._row(url, "robots", 0, status=status, reason="redirect",
                                        redirect_to=target, nbytes=len(resp.body)), resp.exchange)
                url = target
                continue
            if status and 300 <= status < 400:
                policy = RobotsPolicy("allow_all", status=status, detail="too many robots.txt redirects")
            else:
                policy = policy_from_response(status, resp.body, int(self.s.robots_max_bytes),
                                              f"robots.txt {resp.reason}: {resp.detail}" if resp.reason else "")
            self._log_row(self._row(url, "robots", 0, status=status, reason=f"robots_{policy.kind}",
                                    detail=policy.detail or resp.detail, nbytes=len(resp.body)),
                          resp.exchange)
            break
        h.policy = policy
        now = time.monotonic()
        h.next_time = now + self._delay(h, now - started)
        if policy.kind == "rules" and policy.sitemaps and self.s.read_sitemaps:
            maps = [u for u in (normalize_url(s) for s in policy.sitemaps) if u and self._in_scope(u)]
            self._queue([Entry(u, origin(u), 0, SITEMAP_PRIORITY, kind="sitemap") for u in maps])
        self._commit()

    # -- results ------------------------------------------------------------------------------
    def _in_scope(self, url: str) -> bool:
        return bool(self.s.follow_external) or fast_host(url) in self.scope

    def _handle(self, h: Host, q: Queued, resp: Response) -> None:
        row = self._row(q.url, q.kind, q.depth, status=resp.status, nbytes=len(resp.body),
                        mime=resp.mime, reason=resp.reason or "ok", detail=resp.detail)
        links: list[Entry] = []
        exchange = resp.exchange
        status = resp.status
        if status is not None and 300 <= status < 400:
            links = self._redirect(q, resp, row)
        elif status is not None and status >= 400:
            row["reason"] = "http_error"
        elif status is not None and not resp.reason:
            if q.kind == "sitemap":
                links = self._sitemap_links(q, resp.body)
            elif resp.mime in HTML_MIMES:
                links = self._page(h, q, resp, row)
                if row["reason"] == "noindex":
                    exchange = None
            else:
                row["content_type"] = CONTENT_TYPE_OF.get(resp.mime)
        row["requested"] = True
        if q.kind == "page" and row["reason"] in ("ok", "noindex"):
            if row["page_topic"]:
                h.topics[row["page_topic"]] += 1
            h.pages += 1
            h.low_utility += bool(row["low_utility"])
            row["site_category"] = h.category
            self.budget.record(h.category)
        self._finish(q, row, exchange, links)

    def _redirect(self, q: Queued, resp: Response, row: dict) -> list[Entry]:
        location = resp.headers.get("location")
        target = normalize_url(location, base=q.url) if location else None
        row["redirect_to"] = target
        if target is None:
            row["reason"], row["detail"] = "redirect_invalid", f"Location {location!r}"
            return []
        if q.redirects + 1 > int(self.s.max_redirects):
            row["reason"], row["detail"] = "too_many_redirects", f"more than {self.s.max_redirects} hops"
            return []
        if self.frontier.seen(target):
            chain, key = set(), q.id
            while key is not None:
                chain.add(key)
                parent, redirects, _ = self.frontier.parent_of(key)
                key = parent if redirects > 0 else None
            if url_key(target) in chain:
                row["reason"], row["detail"] = "redirect_loop", f"{target} is earlier in this chain"
                return []
        if not self._in_scope(target):
            row["reason"], row["detail"] = "redirect_out_of_scope", f"{host_of(target)} is not crawled"
            return []
        row["reason"] = "redirect"
        return [Entry(target, origin(target), q.depth, q.priority + 1.0, q.kind, q.redirects + 1, q.id)]

    def _page(self, h: Host, q: Queued, resp: Response, row: dict) -> list[Entry]:
        info = parse_html(resp.body, resp.headers.get("x-robots-tag", ""))
        prefix = (info.title + " " + info.text)[: int(self.s.classify_chars)]
        topics, formats, t_conf, f_conf = self.classifier.classify([prefix])
        lu = assess(info, self.s.low_utility, formats[0], f_conf[0])
        row.update(
            content_type="Web", text=info.text[: int(self.s.text_chars)], page_topic=topics[0],
            page_format=formats[0], topic_confidence=round(t_conf[0], 4),
            format_confidence=round(f_conf[0], 4), low_utility=lu.flag,
            low_utility_reasons=lu.reasons, quality=lu.quality, words=info.words,
        )
        if info.noindex:
            row["reason"], row["detail"] = "noindex", "meta robots / X-Robots-Tag noindex"
        if q.depth + 1 > int(self.s.max_depth):
            return []
        p = self.s.priority
        priority = (-p.depth_weight * (q.depth + 1) + p.quality_weight * lu.quality
                    - (p.low_utility_penalty if lu.flag else 0.0))
        base = q.url
        out = []
        seen: set[str] = set()
        for href in info.links:
            if href.startswith("\0base:"):
                base = normalize_url(href[6:], base=q.url) or q.url
                continue
            href = href.split("#", 1)[0].strip()
            if not href or href in seen:
                continue  # same-page anchors and repeats
            seen.add(href)
            url = normalize_link(href, base)
            if url and url != q.url and self._in_scope(url):
                out.append(Entry(url, fast_origin(url), q.depth + 1, priority, "page", 0, q.id))
        row["links_found"] = len(out)
        return out

    def _sitemap_links(self, q: Queued, body: bytes) -> list[Entry]:
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)[: int(self.s.max_body_bytes)]
        is_index = b"<sitemapindex" in body[:2000].lower()
        out = []
        for m in _LOC.finditer(body):
            url = normalize_url(m.group(1).decode("utf-8", "replace").replace("&amp;", "&"))
            if url and self._in_scope(url):
                kind = "sitemap" if is_index else "page"
                out.append(Entry(url, origin(url), 1 if kind == "page" else 0,
                                 SITEMAP_PRIORITY if is_index else 0.0, kind, 0, q.id))
            if len(out) >= int(self.s.max_sitemap_urls):
                break
        return out

    def _row(self, url: str, kind: str, depth: int, status: int | None = None, reason: str = "ok",
             detail: str = "", nbytes: int = 0, mime: str = "", redirect_to: str | None = None) -> dict:
        return {
            "url": url, "host": urlsplit(url).netloc, "kind": kind, "status": status, "reason": reason,
            "detail": detail or "", "bytes": nbytes, "mime": mime, "fetched_at": time.time(),
            "depth": depth, "redirect_to": redirect_to, "site_category": None, "page_topic": None,
            "page_format": None, "topic_confidence": None, "format_confidence": None,
            "low_utility": False, "low_utility_reasons": "", "quality": None, "words": None,
            "links_found": 0, "content_type": None, "text": "", "requested": status is not None,
        }

    def _finish(self, q: Queued, row: dict, exchange, links: list[Entry]) -> None:
        """WARC first, then one frontier transaction (row, out-links, done): the resume invariant."""
        if row["site_category"] is None:
            row["site_category"] = self._host(q.host).category if q.kind == "page" else None
        self._log_row(row, exchange, commit=False)
        self._queue(links)
        self.frontier.mark_done(q.id)
        h = self._host(q.host)
        h.queued = max(0, h.queued - 1)
        self._commit()

    def _log_row(self, row: dict, exchange, commit: bool = True) -> None:
        self.attempt_counts[row["url"]] += 1
        row["attempt"] = self.attempt_counts[row["url"]]
        row["id"] = doc_id("crawl", row["url"], f"{row['kind']}#{row['attempt']}")
        if self.warc is not None:
            self.warc.write(exchange, row)
        self.frontier.log_attempt(row)
        if commit:
            self._commit()

    def _queue(self, entries: list[Entry]) -> None:
        max_depth = int(self.s.max_depth)
        for e in self.frontier.add([e for e in entries if e.depth <= max_depth]):
            self._host(e.host).queued += 1

    def _commit(self) -> None:
        if self.warc is not None:
            name, offset = self.warc.position()
            self.frontier.put("warc_committed", {"file": name, "offset": offset})
        self.frontier.commit()

    # -- resume ---------------------------------------------------------------------------------
    def _recover_warc_tail(self) -> None:
        """Replay rows that reached a WARC after the last commit (a SIGKILL in between)."""
        folder = self.state_dir / "warc"
        if not folder.is_dir():
            return
        mark = self.frontier.get("warc_committed")
        for path in sorted(folder.glob("*.warc.gz")):
            if mark and path.name < mark["file"]:
                continue
            offset = mark["offset"] if mark and path.name == mark["file"] else 0
            for row, payload in scan_tail(path, offset):
                self._replay(row, payload)
        self._commit()

    def _replay(self, row: dict, payload: bytes | None) -> None:
        key = url_key(row["url"])
        known = self.frontier.parent_of(key)
        self.frontier.log_attempt(row)
        self._count_row(row)
        if row["kind"] == "robots" or known is None or self.frontier.is_done(row["url"]):
            return
        links: list[Entry] = []
        q = self.frontier.db.execute(
            "SELECT id,url,host,depth,priority,kind,redirects,parent FROM urls WHERE id=?", (key,)
        ).fetchone()
        q = Queued(*q)
        if row["reason"] == "redirect" and row.get("redirect_to"):
            links = [Entry(row["redirect_to"], origin(row["redirect_to"]), q.depth, q.priority + 1.0,
                           q.kind, q.redirects + 1, q.id)]
        elif row["reason"] in ("ok", "noindex") and payload is not None:
            if q.kind == "sitemap":
                links = self._sitemap_links(q, payload)
            elif row.get("content_type") == "Web":
                links = self._page(self._host(q.host), q, Response(url=q.url, body=payload), dict(row))
        self._queue(links)
        self.frontier.mark_done(key)
        log("crawl.replayed", url=row["url"])
