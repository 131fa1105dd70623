"""Fixtures: a real app on a real, migrated database; clients; a live server; Chromium."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import make_server

from blog import create_app
from blog.extensions import db

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, what: str, install: str) -> None:
    """Skip a test whose system dependency is missing; in CI, fail instead."""
    if condition:
        return
    message = f"{what} is not available (install the Debian package: apt-get install {install})"
    if IN_CI:
        pytest.fail(message + " — CI=true, so this is a failure, not a skip", pytrace=False)
    pytest.skip(message)


def base_config(database_uri: str, **extra) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "RATELIMIT_ENABLED": False,
        # Browser tests send the comment form at once; tests/security/test_spam.py sets None.
        "COMMENT_MIN_SECONDS": 0,
        "SERVER_NAME": None,
        **extra,
    }


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """Migrate one empty SQLite file per session; each test gets a copy of it."""
    path = tmp_path_factory.mktemp("template") / "blog.sqlite"
    app = create_app(base_config(f"sqlite:///{path}"))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    return path


@pytest.fixture
def database_uri(tmp_path, migrated_sqlite) -> str:
    path = tmp_path / "blog.sqlite"
    shutil.copy(migrated_sqlite, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app_config(database_uri) -> dict:
    """The test_config of the app; a test module overrides this fixture to change it."""
    return base_config(database_uri)


@pytest.fixture
def app(app_config) -> Iterator[Flask]:
    app = create_app(app_config)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def demo(app):
    """Load the demo blog into the test database."""
    from blog.demo import load_demo

    load_demo()
    return app


@pytest.fixture
def hx() -> dict[str, str]:
    """Headers of a request made by htmx."""
    return {"HX-Request": "true"}


@contextmanager
def count_queries() -> Iterator[list[str]]:
    """Collect the SQL statements run inside the block."""
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA", "COMMIT", "ROLLBACK")):
            statements.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


@pytest.fixture
def queries():
    return count_queries


# --- A live server and Chromium, for tests/browser ------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def live_server(app):
    """Serve the test app on a free loopback port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture(scope="session")
def browser():
    require(os.path.exists(CHROMIUM), "Chromium", "chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    yield page
    context.close()
