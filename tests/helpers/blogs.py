"""Whole blogs for webmention tests: an app on its own database, served on loopback, with its
writer logged in to the real editor through a test client that names the server's host."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from blog import create_app
from tests.helpers.factories import PASSWORD, writer
from tests.helpers.html import form_fields, parse
from tests.helpers.mail import drain
from tests.helpers.servers import browser_opener, serve_in_thread


@dataclass
class Blog:
    """One blog: its app, its address, and a client logged in as its writer."""

    app: Flask
    url: str
    client: FlaskClient

    def get(self, path: str, **kwargs):
        """GET path through the app as a request to this blog's address (its own context)."""
        with self.app.app_context():
            return self.client.get(path.removeprefix(self.url), base_url=self.url, **kwargs)

    def post(self, path: str, **kwargs):
        with self.app.app_context():
            return self.client.post(path.removeprefix(self.url), base_url=self.url, **kwargs)

    def work(self) -> int:
        """Run this blog's due background jobs (the worker, drained)."""
        return drain(self.app)

    def login(self, username: str = "nell", display_name: str = "Nell Carrow") -> None:
        writer(self.app, username, display_name)
        token = parse(self.get("/login")).xpath("//input[@name='csrf_token']/@value")[0]
        answer = self.post(
            "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
        )
        assert answer.status_code == 303, answer.status_code

    def publish(self, title: str, body: str, *, in_reply_to: str = "", post_id: int | None = None):
        """Write (or rewrite) a post in the editor and press Publish (or Update); return its id."""
        path = f"/admin/posts/{post_id}/edit" if post_id else "/admin/posts/new"
        token = parse(self.get(path)).xpath("//input[@name='csrf_token']/@value")[0]
        data = {
            "csrf_token": token,
            "title": title,
            "body": body,
            "in_reply_to": in_reply_to,
            "comments_open": "y",
            ("update" if post_id else "publish"): "Publish",
        }
        answer = self.post(path, data=data)
        assert answer.status_code == 303, parse(answer).xpath("//p[@class='field-error']")
        return int(re.search(r"/admin/posts/(\d+)/edit", answer.headers["Location"]).group(1))

    def delete(self, post_id: int) -> None:
        path = f"/admin/posts/{post_id}/delete"
        token = parse(self.get(path)).xpath("//input[@name='csrf_token']/@value")[0]
        assert self.post(path, data={"csrf_token": token}).status_code == 303


@contextmanager
def running_blogs(*configs: dict) -> Iterator[list[Blog]]:
    """Create, serve and yield one Blog per configuration; stop them all afterwards."""
    with ExitStack() as stack:
        blogs = []
        for config in configs:
            app = create_app(config)
            url = stack.enter_context(serve_in_thread(app))
            blogs.append(Blog(app, url, app.test_client()))
        yield blogs


def sqlite_copy(template: Path, directory: Path, name: str) -> str:
    """Return the URI of a fresh copy of the migrated SQLite template."""
    path = directory / f"{name}.sqlite"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


# --- Blogs as separate processes: gunicorn and `flask worker`, driven over HTTP ---------------

ROOT = Path(__file__).resolve().parents[2]


class Process:
    """A blog's gunicorn, or its worker, started with env; its output kept in a log file."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("w") as out:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_for(self, pattern: str, timeout: float = 120) -> re.Match:
        """Wait for pattern in the log (starting takes seconds, more on a busy machine)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.log.read_text())
            if found:
                return found
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"{pattern!r} never appeared:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def blog_processes(env: dict[str, str], logs: Path, name: str) -> Iterator[str]:
    """Run a blog as `make run` would, but with gunicorn: the server and its worker. Yield its
    base URL."""
    bin_dir = Path(sys.executable).parent
    server = Process(
        [str(bin_dir / "gunicorn"), "-c", "gunicorn.conf.py", "-w", "2", "-b", "127.0.0.1:0"]
        + ["wsgi:app"],
        env,
        logs / f"{name}-gunicorn.log",
    )
    worker = None
    try:
        url = server.wait_for(r"Listening at: (http://127\.0\.0\.1:\d+)").group(1)
        server.wait_for("Booting worker")
        worker = Process(
            [str(bin_dir / "flask"), "--app", "wsgi", "worker"], env, logs / f"{name}-worker.log"
        )
        worker.wait_for("Worker ready")
        yield url
    finally:
        for process in (worker, server):
            if process is not None:
                process.stop()


class Browser:
    """One person's browser against a real server: cookies kept, redirects not followed."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = browser_opener()

    def open(self, path: str, data: list[tuple[str, str]] | None = None):
        """Return (status, headers, body) of a GET, or of a POST of the form data."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path.removeprefix(self.base), body, 20) as answer:
                return answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as answer:
            return answer.code, answer.headers, answer.read()

    def submit(self, path: str, xpath: str, button: tuple[str, str] | None = None, **fields):
        """Fill the form at xpath on the page at path as a person would, and send it."""
        _, _, page = self.open(path)
        action, sent = form_fields(page, self.base + path, xpath)
        sent = [(k, v) for k, v in sent if k not in fields] + list(fields.items())
        return self.open(action, sent + ([button] if button else []))

    def login(self, username: str = "nell") -> None:
        status, _, _ = self.submit(
            "/login", "//form[contains(@action, '/login')]", username=username, password=PASSWORD
        )
        assert status == 303, status
