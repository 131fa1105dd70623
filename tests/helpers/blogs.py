"""Whole blogs for webmention tests: an app on its own database, served on loopback, with its
writer logged in to the real editor through a test client that names the server's host."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from blog import create_app
from tests.helpers.factories import PASSWORD, writer
from tests.helpers.html import parse
from tests.helpers.sites import run_jobs, serve


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
        return run_jobs(self.app)

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
            url = stack.enter_context(serve(app))
            blogs.append(Blog(app, url, app.test_client()))
        yield blogs


def sqlite_copy(template: Path, directory: Path, name: str) -> str:
    """Return the URI of a fresh copy of the migrated SQLite template."""
    path = directory / f"{name}.sqlite"
    shutil.copy(template, path)
    return f"sqlite:///{path}"
