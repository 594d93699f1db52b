"""Real HTTP servers on loopback for tests, demos and benchmarks (no mocks: real sockets, real HTTP).

    with serve_folder(Path("/usr/share/doc/python3.11/html"), robots_txt="User-agent: *\\n") as site:
        crawl(site.base_url) ...
        site.access_log  # [AccessEntry(time, path, user_agent, status), ...] in arrival order

`serve_site(routes, folder=...)` adds programmatic routes: robots variants, redirects, slow
answers, oversize bodies, wrong content types. Bind several on 127.0.0.2, 127.0.0.3… to get
several hosts.
"""

from __future__ import annotations

import contextlib
import html
import mimetypes
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit


@dataclass(frozen=True)
class AccessEntry:
    time: float           # time.time() when the request line arrived
    path: str             # path and query as requested
    user_agent: str
    status: int | None = None


@dataclass
class Route:
    """A canned answer: status, body, headers, and an optional delay before answering."""

    body: bytes | str = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Handler = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Site:
    host: str
    port: int
    access_log: list[AccessEntry]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def paths(self) -> list[str]:
        return [e.path for e in self.access_log]


def _index_page(root: Path) -> bytes:
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.html") if p.is_file())
    items = "\n".join(f'<li><a href="/{quote(f)}">{html.escape(f)}</a></li>' for f in files)
    return f"<!doctype html><html><head><title>Index</title></head><body><ul>\n{items}\n</ul></body></html>".encode()


def _make_handler(routes: dict[str, Route | Handler], folder: Path | None, log: list[AccessEntry],
                  lock: threading.Lock, index: bool) -> type[BaseHTTPRequestHandler]:
    generated_index: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # noqa: A002 - silence stderr; we keep our own log
            pass

        def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

        def do_GET(self):  # noqa: N802 - http.server's naming
            with lock:
                log.append(AccessEntry(time.time(), self.path, self.headers.get("User-Agent", "")))
            path = urlsplit(self.path).path
            route = routes.get(self.path) or routes.get(path)
            try:
                if callable(route):
                    route(self)
                elif route is not None:
                    if route.delay:
                        time.sleep(route.delay)
                    body = route.body.encode() if isinstance(route.body, str) else route.body
                    self._send(route.status, body, route.content_type, route.headers)
                else:
                    self._serve_file(path)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _serve_file(self, path: str):
            if folder is None:
                return self._send(404, b"not found", "text/plain")
            target = (folder / unquote(path).lstrip("/")).resolve()
            if target.is_dir():
                target = target / "index.html"
            if path == "/" and index and not target.is_file():
                if not generated_index:
                    generated_index.append(_index_page(folder))
                return self._send(200, generated_index[0], "text/html; charset=utf-8")
            if not target.is_relative_to(folder) or not target.is_file():
                return self._send(404, b"not found", "text/plain")
            ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            if ctype.startswith("text/"):
                ctype += "; charset=utf-8"
            self._send(200, target.read_bytes(), ctype)

    return Handler


@contextlib.contextmanager
def serve_site(routes: dict[str, Route | Handler] | None = None, folder: Path | None = None,
               host: str = "127.0.0.1", port: int = 0, index: bool = True) -> Iterator[Site]:
    """Serve routes (exact path or path+query) and, for other paths, files under `folder`."""
    log: list[AccessEntry] = []
    handler = _make_handler(dict(routes or {}), folder.resolve() if folder else None, log,
                            threading.Lock(), index)
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Site(host, server.server_address[1], log)
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def serve_folder(root: Path, host: str = "127.0.0.1", port: int = 0, robots_txt: str | None = None,
                 index: bool = True) -> Iterator[Site]:
    """Serve a folder of real pages (plus a generated index at / when it has no index.html)."""
    routes: dict[str, Route | Handler] = {}
    if robots_txt is not None:
        routes["/robots.txt"] = Route(robots_txt, content_type="text/plain; charset=utf-8")
    with serve_site(routes, Path(root), host, port, index) as site:
        yield site


def main() -> None:
    """`python -m crawl.testsite FOLDER [--host H] [--port P] [--robots FILE]`: serve until killed.

    Prints the base URL on its first line of stdout (for scripts and benchmarks).
    """
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--host", action="append", help="address to serve on (repeatable; default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--robots", type=Path, help="a robots.txt file to serve at /robots.txt")
    args = parser.parse_args()
    robots = args.robots.read_text() if args.robots else None
    with contextlib.ExitStack() as stack:
        for host in args.host or ["127.0.0.1"]:
            site = stack.enter_context(serve_folder(args.folder, host, args.port, robots))
            print(site.base_url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            sys.exit(0)


if __name__ == "__main__":
    main()
