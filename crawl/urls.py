"""URL normalisation: one spelling per resource, so the frontier never queues a page twice."""

from __future__ import annotations

import posixpath
import re
from functools import lru_cache
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_SAFE_PATH = "/:@!$&'()*+,;=-._~%"
_SAFE_QUERY = _SAFE_PATH + "?"


def _upper_escapes(part: str) -> str:
    """%7e → ~ (unreserved) and %2f → %2F: RFC 3986 §6.2.2 normalisation."""

    def fix(m: re.Match) -> str:
        char = unquote(m.group(0))
        return char if re.fullmatch(r"[A-Za-z0-9\-._~]", char) else m.group(0).upper()

    return _UNRESERVED_ESCAPE.sub(fix, part)


def normalize_url(url: str, base: str | None = None) -> str | None:
    """Absolute, normalised URL, or None when it is not http(s) or not parseable.

    Lower-case scheme and host, no default port, no fragment, dot segments resolved, escapes
    normalised, an empty path becomes "/". The query is kept in order (order may matter to a site).
    """
    try:
        if base:
            url = urljoin(base, url.strip())
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            return None
        host = parts.hostname.lower().rstrip(".")
        try:
            host = host.encode("idna").decode("ascii") if not host.isascii() else host
        except UnicodeError:
            return None
        port = parts.port
    except ValueError:
        return None
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = parts.path or "/"
    had_slash = path.endswith("/")
    path = posixpath.normpath(path) if path not in ("/", "") else "/"
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    if had_slash and not path.endswith("/"):
        path += "/"
    path = _upper_escapes(quote(path, safe=_SAFE_PATH))
    query = _upper_escapes(quote(parts.query, safe=_SAFE_QUERY + "/")) if parts.query else ""
    return urlunsplit((scheme, netloc, path, query, ""))


def normalize_link(href: str, base: str) -> str | None:
    """normalize_url for links found on pages, cached on the part of the base the href depends on:
    pages of one folder share their relative links, pages of a site their absolute paths."""
    if href.startswith(("http://", "https://", "HTTP://", "HTTPS://")):
        key = ""
    elif href.startswith("//"):
        key = base.partition("//")[0] + "//"
    elif href.startswith("/"):
        key = base[: base.find("/", base.find("//") + 2)] + "/" if base.count("/") >= 3 else base
    elif href.startswith(("?", ";", "#")) or ":" in href.split("/", 1)[0] or base.count("/") < 3:
        key = base  # query-only hrefs and other schemes: no sharing
    else:
        key = base.split("?", 1)[0].rsplit("/", 1)[0] + "/"
    return _normalize_cached(href, key or None)


@lru_cache(maxsize=65536)
def _normalize_cached(href: str, base: str | None) -> str | None:
    return normalize_url(href, base)


def fast_origin(url: str) -> str:
    """origin() for a URL that normalize_url produced (no user info, lower-case host)."""
    scheme, _, rest = url.partition("://")
    netloc = rest.split("/", 1)[0]
    if netloc.endswith("]") or ":" not in netloc:
        return f"{scheme}://{netloc}:{DEFAULT_PORTS[scheme]}"
    return f"{scheme}://{netloc}"


def fast_host(url: str) -> str:
    """host_of() for a URL that normalize_url produced."""
    netloc = url.partition("://")[2].split("/", 1)[0]
    host = netloc if netloc.endswith("]") else netloc.rsplit(":", 1)[0]
    return host.strip("[]")


def origin(url: str) -> str:
    """scheme://host:port — the authority robots.txt rules and politeness apply to."""
    parts = urlsplit(url)
    port = parts.port or DEFAULT_PORTS.get(parts.scheme, 0)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}:{port}"


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
