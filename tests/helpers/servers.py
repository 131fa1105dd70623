"""Real servers on loopback for the tests (and bench/): gunicorn, Redis, the app in a thread,
and a reader's HTTP session against them.

Every server listens on 127.0.0.1 on a port the kernel picks, so parallel test workers never
collide. Nothing here imports pytest: bench/run.py uses browser_opener() too.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]


def _wait(condition, what: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    """Poll condition() until it holds; fail after timeout or when process has exited."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} was not ready after {timeout} s")
        time.sleep(0.05)


class Gunicorn:
    """A gunicorn serving the blog (gunicorn.conf.py, wsgi:app) on a free loopback port."""

    def __init__(self, database_uri: str, workers: int = 2, env: dict | None = None) -> None:
        self.log = Path(tempfile.gettempdir()) / f"gunicorn-{os.getpid()}-{id(self)}.log"
        environment = {
            **os.environ,
            "BLOG_SQLALCHEMY_DATABASE_URI": database_uri,
            "BLOG_SECRET_KEY": "test-secret-key",
            "BLOG_RATELIMIT_ENABLED": "false",
            "GUNICORN_LOGLEVEL": "info",
            **(env or {}),
        }
        command = [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py"]
        command += ["-w", str(workers), "-b", "127.0.0.1:0", "wsgi:app"]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
            )
        self.workers = workers
        try:
            _wait(self._booted, "gunicorn", 30, self.process)
        except RuntimeError as error:
            output = self.log.read_text()
            self.stop()
            raise RuntimeError(f"{error}:\n{output}") from None
        found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", self.log.read_text())
        self.url = found.group(1)

    def _booted(self) -> bool:
        text = self.log.read_text()
        return "Listening at: " in text and text.count("Booting worker") >= self.workers

    def worker_pids(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.unlink(missing_ok=True)


def free_port() -> int:
    """A loopback port free right now (for servers that cannot be told to pick their own)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def redis_server() -> Iterator[str]:
    """Run a private redis-server (no persistence) on a free loopback port; yield its URL."""
    server = shutil.which("redis-server")
    if server is None:
        raise FileNotFoundError("redis-server")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="blog-redis-") as workdir:
        process = subprocess.Popen(
            [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly"]
            + ["no", "--dir", workdir],
            stdout=subprocess.DEVNULL,
        )
        try:
            _wait(lambda: _accepts(port), "redis-server", 10, process)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(10)


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


@contextmanager
def serve_in_thread(app: Flask) -> Iterator[str]:
    """Serve app with werkzeug in a thread on a free loopback port; yield its base URL.

    Each request runs in the server's thread with its own app context, as in production.
    """
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is the answer to look at, not to follow


def browser_opener() -> urllib.request.OpenerDirector:
    """Return a urllib opener with its own cookie jar that does not follow redirects (a 3xx
    raises HTTPError): one reader's session against a real server."""
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
