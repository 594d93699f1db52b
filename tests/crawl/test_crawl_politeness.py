"""Politeness by default, measured on real loopback servers from their access logs: requests to
one host are spaced by a multiple of the host's response time (Heritrix's delay factor), never
less than `crawl.min_host_delay` (default 1 s) nor than the robots.txt Crawl-delay, capped."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawl.config import CrawlConfig
from crawl.crawler import Crawler, Host
from crawl.robots import policy_from_response
from crawl.testsite import Route, serve_site
from pipeline.config import load_config
from tests.crawl.helpers_crawl import run_crawl


def page(title: str, links: list[str]) -> str:
    body = " ".join(f"Sentence {i} about {title} in plain words for the reader." for i in range(20))
    anchors = "".join(f'<a href="{h}">{h}</a> ' for h in links)
    return f"<html><head><title>{title}</title></head><body><p>{body}</p>{anchors}</body></html>"


def gaps(site) -> dict[str, float]:
    """Seconds from each request's arrival to the next one's, keyed by the earlier path."""
    log = site.access_log
    return {a.path: b.time - a.time for a, b in zip(log, log[1:], strict=False)}


def test_defaults_are_polite():
    crawl = CrawlConfig()
    assert crawl.min_host_delay >= 1.0
    assert crawl.host_delay_factor > 1.0
    assert crawl.max_host_delay >= crawl.min_host_delay


def test_delay_adapts_to_the_server_and_is_capped(tmp_path: Path):
    settings = CrawlConfig.model_validate(load_config(None, [
        "crawl.min_host_delay=1.0", "crawl.host_delay_factor=5", "crawl.max_host_delay=30",
        "crawl.max_crawl_delay=10"])["crawl"])
    crawler = Crawler(settings, tmp_path)
    h = Host("http://h:80")
    assert crawler._delay(h, 0.01) == 1.0           # a fast server: the floor
    assert crawler._delay(h, 0.8) == pytest.approx(4.0)  # 5x its response time
    assert crawler._delay(h, 60.0) == 30.0          # capped
    h.policy = policy_from_response(200, b"User-agent: *\nCrawl-delay: 7\n", 512000)
    assert crawler._delay(h, 0.01) == 7.0           # the site asks for more: honoured
    h.policy = policy_from_response(200, b"User-agent: *\nCrawl-delay: 0\n", 512000)
    assert crawler._delay(h, 0.01) == 1.0           # ...but never less than the floor
    h.policy = policy_from_response(200, b"User-agent: *\nCrawl-delay: 500\n", 512000)
    assert crawler._delay(h, 0.01) == 10.0          # up to max_crawl_delay
    crawler.frontier.close()


def test_default_crawl_spaces_requests_by_at_least_a_second(tmp_path: Path):
    """Stage 1 with the default politeness settings against a real server: >= 1 s between requests."""
    routes = {"/robots.txt": Route("User-agent: *\nAllow: /\n", content_type="text/plain"),
              "/": Route(page("Home", ["/a", "/b"])), "/a": Route(page("A", [])), "/b": Route(page("B", []))}
    with serve_site(routes, host="127.0.0.30") as site:
        run_crawl(tmp_path / "run", [site.base_url + "/"],
                  *(f"crawl.{k}={getattr(CrawlConfig(), k)}"
                    for k in ("min_host_delay", "host_delay_factor", "max_host_delay")))
    assert site.paths() == ["/robots.txt", "/", "/a", "/b"]
    assert min(gaps(site).values()) >= 1.0, gaps(site)


def test_slow_server_gets_more_room_and_crawl_delay_is_honoured(tmp_path: Path):
    routes = {"/robots.txt": Route("User-agent: *\nAllow: /\n", content_type="text/plain"),
              "/": Route(page("Home", ["/a", "/slow", "/b"])), "/a": Route(page("A", [])),
              "/slow": Route(page("Slow", []), delay=0.4), "/b": Route(page("B", []))}
    with serve_site(routes, host="127.0.0.31") as site:
        run_crawl(tmp_path / "run", [site.base_url + "/"], "crawl.min_host_delay=0.2",
                  "crawl.host_delay_factor=3", "crawl.max_host_delay=5")
    spacing = gaps(site)
    assert site.paths() == ["/robots.txt", "/", "/a", "/slow", "/b"]
    assert min(spacing.values()) >= 0.2, spacing
    assert spacing["/slow"] >= 0.4 + 3 * 0.4, spacing  # its answer took 0.4 s: 1.2 s more wait
    # a robots.txt Crawl-delay above the adaptive wait is honoured
    routes["/robots.txt"] = Route("User-agent: *\nCrawl-delay: 0.6\n", content_type="text/plain")
    with serve_site(routes, host="127.0.0.32") as site:
        run_crawl(tmp_path / "run2", [site.base_url + "/"], "crawl.min_host_delay=0.2",
                  "crawl.host_delay_factor=3", "crawl.max_host_delay=5")
    assert min(gaps(site).values()) >= 0.6, gaps(site)
