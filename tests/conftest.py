"""Fixtures: a real app on a real, migrated database; clients; a live server; Chromium."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import make_server

from blog import create_app, prepared
from blog.extensions import db

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# The engine the suite runs on: make test runs it on SQLite, then again with
# BLOG_TEST_ENGINE=postgresql on the database at BLOG_TEST_DATABASE_URL.
ENGINE = os.environ.get("BLOG_TEST_ENGINE", "sqlite")
if ENGINE not in ("sqlite", "postgresql"):
    raise RuntimeError(f"BLOG_TEST_ENGINE must be sqlite or postgresql, not {ENGINE!r}")


def require(condition: bool, what: str, install: str) -> None:
    """Skip a test whose system dependency is missing; in CI, fail instead."""
    if condition:
        return
    message = f"{what} is not available (install the Debian package: apt-get install {install})"
    if IN_CI:
        pytest.fail(message + " — CI=true, so this is a failure, not a skip", pytrace=False)
    pytest.skip(message)


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "sqlite_only: a test of SQLite itself (the SQLite pass)")
    config.addinivalue_line(
        "markers", "postgresql_only: a test of PostgreSQL itself (the PostgreSQL pass)"
    )


def pytest_report_header(config) -> str:
    return f"database engine: {ENGINE} (BLOG_TEST_ENGINE)"


def pytest_runtest_setup(item) -> None:
    if ENGINE == "postgresql" and item.get_closest_marker("sqlite_only"):
        pytest.skip("tests SQLite itself: it runs in the SQLite pass")
    if ENGINE == "sqlite" and item.get_closest_marker("postgresql_only"):
        if not IN_CI and not os.environ.get("BLOG_TEST_DATABASE_URL"):
            require(False, "PostgreSQL (set BLOG_TEST_DATABASE_URL)", "postgresql")
        pytest.skip("tests PostgreSQL itself: it runs in the PostgreSQL pass")


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
    _migrate(f"sqlite:///{path}")
    return path


def _migrate(uri: str) -> None:
    from flask_migrate import upgrade

    app = create_app(base_config(uri))
    with app.app_context():
        upgrade()
        db.engine.dispose()


def postgresql_url() -> str:
    """Return BLOG_TEST_DATABASE_URL, skipping (failing in CI) when it is not set."""
    url = os.environ.get("BLOG_TEST_DATABASE_URL", "")
    require(bool(url), "PostgreSQL (set BLOG_TEST_DATABASE_URL)", "postgresql")
    return url


@pytest.fixture(scope="session")
def migrated_postgresql() -> Iterator[sa.Engine]:
    """Empty the PostgreSQL test database and migrate it once; yield an engine to clean it."""
    url = postgresql_url()
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    except sa.exc.OperationalError as error:
        require(False, f"PostgreSQL at {engine.url!r} ({error.orig})", "postgresql")
    _migrate(url)
    yield engine
    engine.dispose()


def _empty_postgresql(engine: sa.Engine) -> None:
    """Delete every row and restart the id sequences: a fresh database in a few milliseconds."""
    with engine.begin() as conn:
        # A connection leaked by a test must fail this loudly, not hang the suite.
        conn.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
        names = conn.scalars(
            sa.text(
                "SELECT quote_ident(tablename) FROM pg_tables "
                "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            )
        ).all()
        conn.exec_driver_sql(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE")


@pytest.fixture
def database_uri(request, tmp_path) -> str:
    """A migrated, empty database for one test: a copy of the SQLite template, or PostgreSQL."""
    if ENGINE == "postgresql":
        engine = request.getfixturevalue("migrated_postgresql")
        _empty_postgresql(engine)
        return engine.url.render_as_string(hide_password=False)
    path = tmp_path / "blog.sqlite"
    shutil.copy(request.getfixturevalue("migrated_sqlite"), path)
    return f"sqlite:///{path}"


# Every engine a test connected with, kept until the test ends and then disposed: an app a
# test builds and drops would otherwise leave its pooled connections to the garbage collector,
# and psycopg warns (an error here) when it closes an open connection that way.
_ENGINES: list[sa.Engine] = []


@sa.event.listens_for(sa.engine.Engine, "engine_connect")
def _remember_engine(connection: sa.Connection) -> None:
    if connection.engine not in _ENGINES:
        _ENGINES.append(connection.engine)


@pytest.fixture(autouse=True)
def _close_connections() -> Iterator[None]:
    yield
    while _ENGINES:
        _ENGINES.pop().dispose()


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
    # The page keys run on the driver, below SQLAlchemy's events (blog.prepared): count them too.
    prepared.observers.append(statements.append)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        prepared.observers.remove(statements.append)


@pytest.fixture
def queries():
    return count_queries


# --- gunicorn and Redis, for the production tests -------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


class Gunicorn:
    """A gunicorn serving the blog (gunicorn.conf.py, wsgi:app) on a free loopback port."""

    def __init__(self, database_uri: str, workers: int = 2, env: dict | None = None) -> None:
        self.log = Path(os.environ.get("TMPDIR", "/tmp")) / f"gunicorn-{os.getpid()}-{id(self)}.log"
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
        self.url = self._wait_for_port()

    def _wait_for_port(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", self.log.read_text())
            if found and "Booting worker" in self.log.read_text():
                return found.group(1)
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not start:\n{self.log.read_text()}")

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


@pytest.fixture
def gunicorn(database_uri):
    """Start gunicorn servers on the test database: gunicorn(workers=4) -> Gunicorn."""
    servers: list[Gunicorn] = []

    def start(workers: int = 2, **env: str) -> Gunicorn:
        servers.append(Gunicorn(database_uri, workers, env))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """BLOG_TEST_REDIS_URL (CI starts one), or a private redis-server on a free port."""
    if os.environ.get("BLOG_TEST_REDIS_URL"):
        yield os.environ["BLOG_TEST_REDIS_URL"]
        return
    server = shutil.which("redis-server")
    require(server is not None, "Redis (redis-server)", "redis-server")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
        + ["--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


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
