"""URL normalisation: one spelling per resource, so the frontier never queues a page twice."""

from __future__ import annotations

import posixpath
import re
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
