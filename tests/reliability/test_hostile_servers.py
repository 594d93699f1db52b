"""The crawler against hostile servers on loopback: slow-loris bodies, endless chunked bodies, a
gzip bomb, huge and countless headers, a 10 MB robots.txt, a host answering 429 with Retry-After.

Each answer must end in a counted reason on its row (never a hang, never an unbounded read):
bodies are cut at crawl.max_body_bytes (after decompression), a response that dribbles bytes is cut
by crawl.total_timeout, robots.txt is read up to crawl.robots_max_bytes, and a 429 pushes the
host's next request back by Retry-After. What tests/crawl/test_crawl_policies.py already covers
(redirect loops and chains, a slow first byte, an oversize Content-Length body, 5xx/404 robots)
is not repeated here.
"""

from __future__ import annotations

import contextlib
import time
import zlib

import pytest

from crawl.testsite import Route, serve_site
from tests.crawl.helpers_crawl import run_crawl, warc_records

pytestmark = pytest.mark.slow

MAX_BODY, ROBOTS_MAX, TOTAL_TIMEOUT, RETRY_AFTER = 100_000, 524_288, 3.0, 1.5


def page(title: str, links: list[str]) -> str:
    words = " ".join(f"Line {i} of the {title} page says something plain." for i in range(20))
    anchors = "".join(f'<a href="{h}">{h}</a> ' for h in links)
    return f"<html><head><title>{title}</title></head><body><p>{words}</p>{anchors}</body></html>"


def _write(handler, data: bytes) -> None:
    handler.wfile.write(data)
    handler.wfile.flush()


def slow_loris(handler) -> None:
    """Headers promise a big page, then one byte every 0.2 s (never a read timeout), for a minute."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Content-Length", "1000000")
    handler.end_headers()
    for _ in range(300):
        _write(handler, b"<")
        time.sleep(0.2)


def endless(handler) -> None:
    """A chunked body that never ends (stops at 1 GB or when the client hangs up)."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    chunk = b"<p>" + b"endless " * 8000 + b"</p>"
    for _ in range((1 << 30) // len(chunk)):
        _write(handler, f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")


def gzip_bomb(mebibytes: int = 2048) -> bytes:
    """A gzip stream inflating to `mebibytes` MiB of zeros (about 2 KB per MiB); no trailer is
    needed, the client must stop long before. Full flushes make every MiB's deflate blocks alike."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    head = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    return head + again * (mebibytes - 1)


def huge_header(handler) -> None:
    handler._send(200, page("Huge header", []).encode(), "text/html", {"X-Padding": "a" * 200_000})


def countless_headers(handler) -> None:
    handler._send(200, page("Many headers", []).encode(), "text/html", {f"X-H{i}": "v" for i in range(2000)})


BUSY = {"n": 0}


def busy(handler) -> None:
    BUSY["n"] += 1
    handler._send(429, b"slow down", "text/plain", {"Retry-After": str(RETRY_AFTER)})


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    bomb = gzip_bomb()
    robots_10mb = (b"User-agent: *\nDisallow: /private/\n" + b"# " + b"padding " * 100 + b"\n") * 1
    robots_10mb += b"#" + b" filler" * (10 * (1 << 20) // 7) + b"\nDisallow: /late/\n"
    with contextlib.ExitStack() as stack:
        a = stack.enter_context(serve_site({
            "/robots.txt": Route("User-agent: *\nAllow: /\n", content_type="text/plain"),
            "/": Route(page("Hostile home", ["/loris", "/endless", "/bomb", "/huge-header", "/many-headers",
                                             "/fine.html"])),
            "/loris": slow_loris,
            "/endless": endless,
            "/bomb": Route(bomb, headers={"Content-Encoding": "gzip"}),
            "/huge-header": huge_header,
            "/many-headers": countless_headers,
            "/fine.html": Route(page("Fine", [])),
        }, host="127.0.0.7"))
        b = stack.enter_context(serve_site({
            "/robots.txt": Route(robots_10mb, content_type="text/plain"),
            "/": Route(page("Big robots home", ["/private/x.html", "/late/y.html", "/ok.html"])),
            "/private/x.html": Route(page("Private", [])),
            "/late/y.html": Route(page("Late", [])),
            "/ok.html": Route(page("Ok", [])),
        }, host="127.0.0.8"))
        c = stack.enter_context(serve_site({
            "/robots.txt": Route("User-agent: *\nAllow: /\n", content_type="text/plain"),
            "/": Route(page("Busy home", ["/busy", "/after-1.html", "/after-2.html"])),
            "/busy": busy,
            "/after-1.html": Route(page("After 1", [])),
            "/after-2.html": Route(page("After 2", [])),
        }, host="127.0.0.9"))
        run_dir = tmp_path_factory.mktemp("hostile") / "run"
        started = time.monotonic()
        manifest, rows = run_crawl(
            run_dir, [a.base_url + "/", b.base_url + "/", c.base_url + "/"],
            "crawl.read_timeout=1.0", f"crawl.total_timeout={TOTAL_TIMEOUT}", f"crawl.max_body_bytes={MAX_BODY}",
            f"crawl.robots_max_bytes={ROBOTS_MAX}", "crawl.concurrency=8")
        elapsed = time.monotonic() - started
        yield {"a": a, "b": b, "c": c, "rows": {r["url"]: r for r in rows}, "run_dir": run_dir,
               "manifest": manifest, "elapsed": elapsed, "bomb_bytes": len(bomb)}


def row(hostile, site: str, path: str) -> dict:
    return hostile["rows"][hostile[site].url(path)]


def test_bodies_are_cut_and_counted(hostile):
    loris = row(hostile, "a", "/loris")
    assert loris["reason"] == "timeout", loris  # cut by total_timeout though bytes kept coming
    endless = row(hostile, "a", "/endless")
    assert endless["reason"] == "too_large" and endless["bytes"] <= MAX_BODY, endless
    bomb = row(hostile, "a", "/bomb")
    assert bomb["reason"] == "too_large" and bomb["bytes"] <= MAX_BODY, bomb  # inflated bytes are counted
    assert row(hostile, "a", "/fine.html")["reason"] == "ok"
    payloads = {uri: len(payload) for kind, uri, _, payload, _ in warc_records(hostile["run_dir"]) if kind == "response"}
    assert payloads and max(payloads.values()) <= ROBOTS_MAX  # nothing unbounded reached the WARC
    print(f"hostile crawl: {hostile['elapsed']:.1f} s, gzip bomb {hostile['bomb_bytes']} bytes -> 2 GiB")


def test_header_floods_are_network_errors(hostile):
    for path in ("/huge-header", "/many-headers"):
        found = row(hostile, "a", path)
        assert found["reason"] == "network_error" and found["detail"], found


def test_robots_read_up_to_its_limit(hostile):
    robots = row(hostile, "b", "/robots.txt")
    assert robots["reason"] == "robots_rules" and robots["bytes"] <= ROBOTS_MAX, robots
    requested = hostile["b"].paths()
    assert "/private/x.html" not in requested  # the rule in the first bytes holds
    assert row(hostile, "b", "/private/x.html")["reason"] == "robots_disallowed"
    assert "/late/y.html" in requested  # a rule after the limit is not read (RFC 9309 §2.5)


def test_429_retry_after_is_honoured(hostile):
    log = hostile["c"].access_log
    assert row(hostile, "c", "/busy")["reason"] == "http_error" and row(hostile, "c", "/busy")["status"] == 429
    assert BUSY["n"] == 1  # asked once, not hammered
    at = next(i for i, entry in enumerate(log) if entry.path == "/busy")
    later = log[at + 1:]
    assert later, "no request after the 429 to check the wait on"
    assert later[0].time - log[at].time >= RETRY_AFTER
    assert all(row(hostile, "c", p)["reason"] == "ok" for p in ("/after-1.html", "/after-2.html"))


def test_every_hostile_url_is_one_counted_row(hostile):
    """Each URL ends as exactly one row with its reason (stage 1 keeps every attempt as a row)."""
    urls = [hostile[site].url(path) for site, path in [
        ("a", "/loris"), ("a", "/endless"), ("a", "/bomb"), ("a", "/huge-header"), ("a", "/many-headers"),
        ("b", "/private/x.html"), ("b", "/late/y.html"), ("c", "/busy")]]
    assert all(hostile["rows"][u]["reason"] for u in urls)
    assert hostile["manifest"]["rows_written"] == len(hostile["rows"])  # one row per URL, none twice
