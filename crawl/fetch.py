"""One HTTP GET, streamed and capped, returning exactly what went over the wire (for the WARC)."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver

from crawl.config import CrawlConfig
from crawl.guard import Network, address_problem
from crawl.warc import Exchange


@dataclass
class Response:
    url: str
    status: int | None = None
    reason: str = ""                  # crawl outcome when no usable response: timeout, connect_error…
    detail: str = ""
    mime: str = ""
    body: bytes = b""
    truncated: bool = False
    exchange: Exchange | None = None
    headers: dict[str, str] = field(default_factory=dict)


class GuardedResolver(AbstractResolver):
    """Re-checks every address aiohttp connects to, so DNS cannot change answers after our check."""

    def __init__(self, allowed: list[Network]):
        self.inner = DefaultResolver()
        self.allowed = allowed

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET):
        infos = await self.inner.resolve(host, port, family)
        for info in infos:
            problem = address_problem(info["host"], self.allowed)
            if problem:
                raise aiohttp.ClientConnectorError(None, OSError(f"network guard: {problem}"))
        return infos

    async def close(self) -> None:
        await self.inner.close()


def make_session(settings: CrawlConfig, allowed: list[Network]) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=int(settings.concurrency), limit_per_host=1, resolver=GuardedResolver(allowed),
        ttl_dns_cache=300,
    )
    timeout = aiohttp.ClientTimeout(
        total=settings.total_timeout, sock_connect=settings.connect_timeout,
        sock_read=settings.read_timeout,
    )
    return aiohttp.ClientSession(
        connector=connector, timeout=timeout,
        headers={"User-Agent": settings.user_agent, "Accept": "*/*"},
        skip_auto_headers=(), cookie_jar=aiohttp.DummyCookieJar(),
    )


async def http_get(session: aiohttp.ClientSession, url: str, max_bytes: int,
                   accept_mimes: set[str] | None) -> Response:
    """GET without following redirects; the body is read only for accepted types, up to max_bytes."""
    out = Response(url=url)
    try:
        async with session.get(url, allow_redirects=False) as resp:
            out.status = resp.status
            out.headers = {k.lower(): v for k, v in resp.headers.items()}
            out.mime = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
            read_body = 200 <= resp.status < 300 and (accept_mimes is None or out.mime in accept_mimes)
            if 200 <= resp.status < 300 and not read_body:
                out.reason, out.detail = "content_type", f"{out.mime or 'no content type'} is not kept"
            if read_body or resp.status >= 400:
                limit = max_bytes if read_body else 65536
                chunks, size = [], 0
                async for chunk in resp.content.iter_chunked(65536):
                    chunks.append(chunk)
                    size += len(chunk)
                    if size >= limit:
                        out.truncated = size > limit or not resp.content.at_eof()
                        break
                out.body = b"".join(chunks)[:limit]
                if out.truncated and read_body:
                    out.reason, out.detail = "too_large", f"body cut at {limit} bytes"
            parts = urlsplit(url)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            req_headers = [(k, v) for k, v in resp.request_info.headers.items()]
            if not any(k.lower() == "host" for k, _ in req_headers):
                req_headers.insert(0, ("Host", parts.netloc))
            out.exchange = Exchange(
                url=url,
                request_line=f"GET {target} HTTP/1.1",
                request_headers=req_headers,
                status=resp.status,
                reason=resp.reason or "",
                http_version=f"HTTP/{resp.version.major}.{resp.version.minor}",
                response_headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in resp.raw_headers],
                payload=out.body,
                truncated=out.truncated,
            )
    except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
        out.reason, out.detail = "timeout", f"{type(exc).__name__}: {exc}"[:300]
    except aiohttp.ClientConnectorError as exc:
        out.reason, out.detail = "connect_error", str(exc)[:300]
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        out.reason, out.detail = "network_error", f"{type(exc).__name__}: {exc}"[:300]
    return out
