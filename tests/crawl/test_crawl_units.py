"""Pure pieces of the crawler on real inputs: URL normalisation, the network guard, robots rules
(Google's conformance cases), the persistent frontier, the low-utility detector, the classifier."""

from __future__ import annotations

import asyncio
import json

import pytest

from crawl.config import BudgetConfig, CrawlConfig
from crawl.frontier import Entry, Frontier
from crawl.guard import address_problem, check_url, parse_networks
from crawl.parse import parse_html
from crawl.robots import policy_from_response, product_token
from crawl.robots_txt import escape_pattern, path_params_query, valid_product_token
from crawl.selection.budget import Budget
from crawl.urls import normalize_url, origin

PYDOC = "/usr/share/doc/python3.11/html"


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("HTTP://Example.COM:80/a/./b/../c#frag", "http://example.com/a/c"),
        ("https://example.com:443", "https://example.com/"),
        ("http://example.com:8080/%7euser/%2f?q=a b", "http://example.com:8080/~user/%2F?q=a%20b"),
        ("http://example.com/a/", "http://example.com/a/"),
        ("mailto:someone@example.com", None),
        ("javascript:void(0)", None),
        ("ftp://example.com/file", None),
    ],
)
def test_normalize_url(raw, expected):
    assert normalize_url(raw) == expected


def test_normalize_relative_and_origin():
    assert normalize_url("../x.html?b=1&a=2", base="http://h.org/d/e/f.html") == "http://h.org/d/x.html?b=1&a=2"
    assert origin("http://h.org/x") == "http://h.org:80"
    assert origin("https://h.org:8443/x") == "https://h.org:8443"


def test_guard_blocks_private_addresses_unless_allowed():
    for address in ("127.0.0.1", "10.1.2.3", "192.168.0.1", "169.254.169.254", "::1", "224.0.0.1", "0.0.0.0"):
        assert address_problem(address, []) is not None, address
    assert address_problem("93.184.216.34", []) is None
    assert address_problem("127.0.0.5", parse_networks(["127.0.0.0/8"])) is None
    reason, detail = asyncio.run(check_url("http://127.0.0.1:9/", []))
    assert reason == "blocked_network" and "loopback" in detail and "crawl.allow_networks" in detail
    assert asyncio.run(check_url("file:///etc/passwd", []))[0] == "blocked_scheme"
    # a host name resolving to loopback is refused too (the check is on resolved addresses)
    assert asyncio.run(check_url("http://localhost:9/", []))[0] == "blocked_network"


def test_robots_status_semantics_rfc9309():
    assert policy_from_response(404, b"", 512000).allowed("http://h/x", "bot")
    assert not policy_from_response(503, b"", 512000).allowed("http://h/x", "bot")
    assert not policy_from_response(429, b"", 512000).allowed("http://h/x", "bot")
    assert not policy_from_response(None, b"", 512000, "timeout").allowed("http://h/x", "bot")
    assert policy_from_response(503, b"", 512000).allowed("http://h/robots.txt", "bot")
    rules = policy_from_response(200, b"User-agent: *\nDisallow: /x/\nCrawl-delay: 2\nSitemap: http://h/s.xml", 512000)
    assert not rules.allowed("http://h/x/y", "bot") and rules.allowed("http://h/y", "bot")
    assert rules.crawl_delay("bot") == 2.0 and rules.sitemaps == ["http://h/s.xml"]
    # the parse limit: a rule beyond max_bytes is not seen, one inside is (limit must be >= 500 KiB)
    body = b"User-agent: *\n" + b"#" * 600_000 + b"\nDisallow: /late\n"
    assert policy_from_response(200, body, 512000).allowed("http://h/late", "bot")
    assert not policy_from_response(200, body, 700_000).allowed("http://h/late", "bot")
    assert product_token("StepCrawl/1.0 (+https://x)") == "StepCrawl"


def google_cases(shared_data):
    return json.loads((shared_data / "robots/google-robotstxt/robots_test_cases.json").read_text())


def test_google_robots_conformance_cases(shared_data):
    """All 145 of Google's reference cases (protego, used before, got 14 wrong: a user-agent value
    "FOO BAR" not matching "foo", an unknown line ending a group, non-ASCII patterns, over-long
    lines), plus the 4 with an empty URL, and the reference's helper cases."""
    data = google_cases(shared_data)
    cases = data["is_user_agent_allowed"]
    assert len(cases) == 145
    wrong = [(c["test"], c["line"]) for c in cases
             if policy_from_response(200, c["robotstxt"].encode(), 512000).allowed(c["url"], c["user_agent"])
             != c["allowed"]]
    assert wrong == []
    for c in data["get_path_params_query"]:
        assert path_params_query(c["url"]) == c["path"], c
    for c in data["maybe_escape_pattern"]:
        assert escape_pattern(c["input"].encode()) == c["escaped"], c
    for c in data["is_valid_user_agent_to_obey"]:
        assert valid_product_token(c["user_agent"]) == c["valid"], c


def test_robots_parser_edges():
    """Byte-level behaviours of the reference the conformance file does not cover."""
    body = b"\xef\xbb\xbfUser-agent: FooBot\rDisallow: /a\r\nallow /a/b\nDisallow: /x#/y\n"
    rules = policy_from_response(200, body, 512000)
    assert not rules.allowed("http://h/a", "FooBot") and rules.allowed("http://h/a/b", "FooBot")
    assert not rules.allowed("http://h/x/y", "FooBot")  # comment cut: the rule is "/x"
    # a non-UTF-8 byte is escaped as itself (not as U+FFFD), like the reference does
    assert not policy_from_response(200, b"User-agent: *\nDisallow: /caf\xe9\n", 512000).allowed(
        "http://h/caf%E9", "bot")
    # runs of * are one wildcard; $ is literal unless last; a crawl-delay from the chosen group
    rules = policy_from_response(200, b"User-agent: *\nDisallow: /*****z$\nDisallow: /$q\n"
                                      b"Crawl-delay: 3\nUser-agent: b\nCrawl-delay: 1.5\n", 512000)
    assert not rules.allowed("http://h/" + "a" * 5000 + "z", "bot")
    assert rules.allowed("http://h/" + "a" * 5000 + "zy", "bot")
    assert not rules.allowed("http://h/$q", "bot") and rules.allowed("http://h/q", "bot")
    assert rules.crawl_delay("bot") == 3.0 and rules.crawl_delay("B") == 1.5


def test_frontier_never_queues_twice_and_persists(tmp_path):
    path = tmp_path / "f.sqlite"
    f = Frontier(path)
    a = Entry("http://h/a", "http://h:80", 0, 1.0)
    b = Entry("http://h/b", "http://h:80", 1, 5.0)
    assert f.add([a, b, a]) == [a, b]
    assert f.add([a]) == []
    assert f.next_for_host("http://h:80").url == "http://h/b"  # higher priority first
    f.commit()
    f.db.close()  # as if killed: nothing after the commit survives, everything before does
    f = Frontier(path)
    q = f.next_for_host("http://h:80")
    assert q.url == "http://h/b" and f.queued_total() == 2
    f.mark_done(q.id)
    f.commit()
    assert f.add([b]) == [] and f.next_for_host("http://h:80").url == "http://h/a"
    f.close()


def test_meta_robots_and_links():
    info = parse_html(b'<html><head><meta name="robots" content="noindex, nofollow"></head>'
                      b'<body><a href="/a">a</a></body></html>')
    assert info.noindex and info.nofollow and info.links == []
    info = parse_html(b'<body><a href="/a">a</a><a rel="nofollow" href="/b">b</a>'
                      b'<script>x</script>visible</body>')
    assert info.links == ["/a"] and "visible" in info.text and "x" not in info.text.split()


def test_hashed_classifier_on_python_docs():
    from pathlib import Path

    from crawl.selection.classifier import HashedClassifier

    pages = sorted(Path(PYDOC, "library").glob("*.html"))[::10]
    texts = [(lambda i: (i.title + " " + i.text)[:2000])(parse_html(p.read_bytes())) for p in pages]
    topics, formats, t_conf, _ = HashedClassifier().classify(texts)
    software = sum(t in ("Software Development", "Software") for t in topics)
    assert software / len(topics) >= 0.6, topics
    assert all(0.0 < c <= 1.0 for c in t_conf)


def test_classifier_reads_chinese_as_character_bigrams():
    """A Chinese sentence has no spaces: as one regex "word" it would be a feature no other page
    shares. Its runs give character bigrams; Latin words around them stay words."""
    from crawl.selection.classifier import grams

    text = "Debian 参考手册，第一章：GNU/Linux 教程。"
    found = grams(text)
    assert {"debian", "gnu", "linux"} <= set(found)
    assert {"参考", "考手", "手册", "第一", "一章", "教程"} <= set(found)
    han = [g for g in found if not g.isascii()]
    assert all(len(g) == 2 for g in han) and len(han) == (4 - 1) + (3 - 1) + (2 - 1)  # 参考手册 第一章 教程
    assert grams("Plain English words here") == ["plain", "english", "words", "here", "plain english",
                                                 "english words", "words here"]


def test_budget_targets_and_deficits():
    b = Budget(BudgetConfig(category_shares={"Shop": 0.2}), None)
    t = b.targets({"Shop", "Docs", "News"})
    assert t == pytest.approx({"Docs": 0.4, "News": 0.4, "Shop": 0.2})
    for _ in range(8):
        b.record("Shop")
    b.record("Docs")
    d = b.deficits({"Shop", "Docs", "News"})
    assert d["News"] > d["Docs"] > d["Shop"]
    scaled = Budget(BudgetConfig(), {"Shop": 0.1, "Docs": 0.9})
    t = scaled.targets({"Shop", "Docs"})
    assert t["Docs"] == pytest.approx(0.9) and t["Shop"] == pytest.approx(0.1)


def test_seeds_from_config_and_file(tmp_path):
    from crawl.stage import read_seeds
    from pipeline.errors import ConfigError, InputError

    seeds = tmp_path / "seeds.txt"
    seeds.write_text("# start here\nhttp://a.example/\n\n  http://b.example/x  \n")
    settings = CrawlConfig(seeds=["http://c.example/"], seeds_file=str(seeds))
    assert read_seeds(settings) == ["http://c.example/", "http://a.example/", "http://b.example/x"]
    with pytest.raises(ConfigError, match="crawl.seeds"):
        read_seeds(CrawlConfig())
    with pytest.raises(InputError, match="crawl.seeds_file"):
        read_seeds(CrawlConfig(seeds_file=str(tmp_path / "missing.txt")))
