"""robots.txt policy per origin with RFC 9309 semantics (rules read as Google's reference parser
reads them: crawl/robots_txt.py).

The fetch itself is done by the crawler (same guard, same WARC); this module turns a fetch
outcome into a policy: rules (2xx), allow-all (4xx, "unavailable"), or disallow-all (5xx, 429,
timeout or network error, "unreachable": retried later).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from crawl.robots_txt import RobotsTxt


def product_token(user_agent: str) -> str:
    """The robots.txt product token of a User-Agent string: "StepCrawl/1.0 (+url)" → "StepCrawl"."""
    return user_agent.split()[0].split("/")[0] if user_agent.strip() else "*"


@dataclass
class RobotsPolicy:
    kind: str                       # "rules" | "allow_all" | "disallow_all"
    fetched_at: float = field(default_factory=time.time)
    status: int | None = None
    rules: RobotsTxt | None = None
    sitemaps: list[str] = field(default_factory=list)
    detail: str = ""

    def allowed(self, url: str, token: str) -> bool:
        if urlsplit(url).path == "/robots.txt":
            return True  # RFC 9309 §2.2.2: robots.txt itself is always allowed
        if self.kind == "allow_all":
            return True
        if self.kind == "disallow_all":
            return False
        return self.rules.allowed(url, token)

    def crawl_delay(self, token: str) -> float | None:
        if self.kind != "rules":
            return None
        return self.rules.crawl_delay(token)

    def expired(self, max_age: float, now: float | None = None) -> bool:
        return (now or time.time()) - self.fetched_at > max_age


def policy_from_response(status: int | None, body: bytes, max_bytes: int, detail: str = "") -> RobotsPolicy:
    """RFC 9309 §2.3.1: 2xx → parse (first max_bytes); 4xx except 429 → allow all; else disallow all."""
    if status is not None and 200 <= status < 300:
        rules = RobotsTxt.parse(body[:max_bytes])
        return RobotsPolicy("rules", status=status, rules=rules, sitemaps=list(rules.sitemaps))
    if status is not None and 400 <= status < 500 and status != 429:
        return RobotsPolicy("allow_all", status=status, detail=f"robots.txt answered {status}")
    why = detail or (f"robots.txt answered {status}" if status else "robots.txt unreachable")
    return RobotsPolicy("disallow_all", status=status, detail=why)
