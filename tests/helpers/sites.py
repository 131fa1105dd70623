"""Other web sites, for tests that fetch: real HTTP servers on loopback serving what a test sets.

    with Site() as site:
        site.page("/reply", "<a href='...'>...</a>")
        site.page("/moved", status=302, headers={"Location": "/reply"})
        site.route("/slow", drip(seconds=0.2))
        ... fetch(site.url + "/reply") ...
        assert site.hits("/reply") == 1

Every request is recorded (method, path, headers, body), so a test can prove what was, and
what was never, asked for. Each server stops with its block; every slow answer is bounded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Page:
    body: bytes
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)


Handler = Callable[[BaseHTTPRequestHandler], None]


class Site:
    """An HTTP server on host (loopback) and a free port."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Page | Handler] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without this, each answer waits 40 ms
            # for the client's delayed ACK (Nagle), and a test of 400 pages takes a minute.
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with site._lock:
                    site.seen.append(Seen(self.command, self.path, dict(self.headers), body))
                route = site.routes.get(self.path) or site.routes.get(self.path.split("?")[0])
                if route is None:
                    route = Page(b"not here", 404, [("Content-Type", "text/plain")])
                if callable(route):
                    route(self)
                    return
                self.send_response(route.status)
                names = {name.lower() for name, _ in route.headers}
                for name, value in route.headers:
                    self.send_header(name, value)
                if "content-type" not in names:
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(route.body)

            do_GET = do_POST = do_HEAD = _answer

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        port = self.server.server_address[1]
        self.host = host
        self.port = port
        self.url = f"http://{host}:{port}"

    def page(
        self,
        path: str,
        body: str | bytes = "",
        status: int = 200,
        headers: dict[str, str] | list[tuple[str, str]] | None = None,
    ) -> str:
        """Serve body at path; return its absolute URL."""
        pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Page(data, status, pairs)
        return self.url + path

    def route(self, path: str, handler: Handler) -> str:
        """Answer path with handler(request handler); return its absolute URL."""
        self.routes[path] = handler
        return self.url + path

    def hits(self, path: str, method: str | None = None) -> int:
        with self._lock:
            return sum(1 for s in self.seen if s.path == path and method in (None, s.method))

    def posts_to(self, path: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.path == path and s.method == "POST"]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def __enter__(self) -> Site:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def drip(chunks: int = 100, every: float = 0.1, length: int = 1_000_000) -> Handler:
    """A server that sends its headers, then one byte every `every` seconds (at most chunks)."""

    def handler(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "text/html")
        request.send_header("Content-Length", str(length))
        request.end_headers()
        try:
            for _ in range(chunks):
                request.wfile.write(b"x")
                request.wfile.flush()
                time.sleep(every)
        except OSError:
            pass  # the client gave up: what the test wants
        request.close_connection = True

    return handler


def silent(seconds: float = 5.0) -> Handler:
    """A server that accepts the request and says nothing for a while, then hangs up."""

    def handler(request: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        request.close_connection = True

    return handler


def huge(size: int, declare: bool = True) -> Handler:
    """A server that sends size bytes of HTML, with or without a Content-Length."""

    def handler(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "text/html")
        if declare:
            request.send_header("Content-Length", str(size))
        else:
            request.send_header("Connection", "close")
        request.end_headers()
        block = b"<p>" + b"x" * 65_530 + b"</p>\n"
        sent = 0
        try:
            while sent < size:
                part = block[: size - sent]
                request.wfile.write(part)
                sent += len(part)
        except OSError:
            pass
        request.close_connection = True

    return handler
