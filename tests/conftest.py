"""Fixtures and hooks: a real app on a real, migrated database; clients; servers; Chromium.

The `app` fixture is created and yielded outside any app context, as in Flask's tutorial:
each request the test client makes gets its own app context (so its own `flask.g`, its own
Flask-Login user, its own database session), as on a real server. A test that reads or
writes the database itself opens `with app.app_context():`, or uses tests/helpers/factories.
Helpers live in tests/helpers/; this module defines fixtures and hooks only.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from blog import create_app
from tests.helpers import auth as auth_actions
from tests.helpers import browser as chromium
from tests.helpers.cli import CommandRunner
from tests.helpers.config import ENGINE, IN_CI, base_config, postgresql_url, require
from tests.helpers.database import (
    count_queries,
    empty_postgresql,
    migrate,
    reset_postgresql,
    worker_database,
)
from tests.helpers.servers import Gunicorn, redis_server, serve_in_thread
from tests.helpers.smtp import SMTPServer

# --- Markers and the two passes ----------------------------------------------------------------


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "sqlite_only: a test of SQLite itself (the SQLite pass)")
    config.addinivalue_line(
        "markers", "postgresql_only: a test of PostgreSQL itself (the PostgreSQL pass)"
    )
    config.addinivalue_line(
        "markers",
        "engine_independent: uses the database, but what it checks does not depend on the "
        "engine (a browser, HTML validity, headers): it runs in the SQLite pass only",
    )


def pytest_report_header(config) -> str:
    return f"database engine: {ENGINE} (BLOG_TEST_ENGINE)"


def _needs_a_second_engine(item) -> bool:
    """Whether the PostgreSQL pass must run item: it touches the database, and the engine
    may change its outcome. A test without the database_uri fixture never reaches one."""
    if item.get_closest_marker("postgresql_only"):
        return True
    if item.get_closest_marker("sqlite_only") or item.get_closest_marker("engine_independent"):
        return False
    return "database_uri" in item.fixturenames


def pytest_collection_modifyitems(config, items) -> None:
    """Tests under tests/browser/ are engine-independent; the PostgreSQL pass runs only the
    tests that need a second engine (the others were run by the SQLite pass)."""
    browser_dir = Path(__file__).parent / "browser"
    for item in items:
        if browser_dir in Path(item.path).parents:
            item.add_marker(pytest.mark.engine_independent)
    if ENGINE != "postgresql":
        return
    kept, once = [], []
    for item in items:
        (kept if _needs_a_second_engine(item) else once).append(item)
    if once:
        config.hook.pytest_deselected(items=once)
        items[:] = kept


def pytest_runtest_setup(item) -> None:
    if ENGINE == "postgresql" and item.get_closest_marker("sqlite_only"):
        pytest.skip("tests SQLite itself: it runs in the SQLite pass")
    if ENGINE == "sqlite" and item.get_closest_marker("postgresql_only"):
        if not IN_CI and not os.environ.get("BLOG_TEST_DATABASE_URL"):
            require(False, "PostgreSQL (set BLOG_TEST_DATABASE_URL)", "postgresql")
        pytest.skip("tests PostgreSQL itself: it runs in the PostgreSQL pass")


# --- Databases ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def worker_id_or_master(request) -> str:
    """pytest-xdist's worker id ("gw0", "gw1"...), or "master" without xdist."""
    return getattr(request.config, "workerinput", {}).get("workerid", "master")


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """Migrate one empty SQLite file per session; each test gets a copy of it."""
    path = tmp_path_factory.mktemp("template") / "blog.sqlite"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def migrated_postgresql(worker_id_or_master) -> Iterator[sa.Engine]:
    """This worker's PostgreSQL database, emptied and migrated once; an engine to clean it."""
    url = worker_database(postgresql_url(), worker_id_or_master)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        reset_postgresql(engine)
    except sa.exc.OperationalError as error:
        require(False, f"PostgreSQL at {engine.url!r} ({error.orig})", "postgresql")
    migrate(url)
    yield engine
    engine.dispose()


@pytest.fixture
def database_uri(request, tmp_path) -> str:
    """A migrated, empty database for one test: a copy of the SQLite template, or PostgreSQL."""
    if ENGINE == "postgresql":
        engine = request.getfixturevalue("migrated_postgresql")
        empty_postgresql(engine)
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


# --- The app and its clients -------------------------------------------------------------------


@pytest.fixture
def app_config(database_uri, tmp_path) -> dict:
    """The test_config of the app; a test module overrides this fixture to change it.

    Uploaded images go to the test's own folder, never the checkout's instance/media."""
    return base_config(database_uri, MEDIA_FOLDER=str(tmp_path / "media"))


@pytest.fixture
def app(app_config) -> Flask:
    """The app, outside any context: each request (and each `with app.app_context()`) gets
    its own, so nothing a request keeps in flask.g reaches the next one."""
    app = create_app(app_config)
    app.test_cli_runner_class = CommandRunner
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    """Run flask commands: runner.invoke(args=["import", path]) (each in its own context)."""
    return app.test_cli_runner()


@pytest.fixture
def auth(client):
    """Log the client fixture in and out as a writer: auth.login(), auth.logout()."""
    return auth_actions.AuthActions(client)


@pytest.fixture
def demo(app):
    """Load the demo blog into the test database (in an app context of its own)."""
    from blog.demo import load_demo

    with app.app_context():
        load_demo()
    return app


@pytest.fixture
def hx() -> dict[str, str]:
    """Headers of a request made by htmx."""
    return {"HX-Request": "true"}


@pytest.fixture
def queries(app):
    """`with queries() as statements:` collects the SQL the app runs inside the block."""
    return partial(count_queries, app)


# --- gunicorn and Redis, for the production tests ----------------------------------------------


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


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    """A real SMTP server (aiosmtpd) on a free loopback port; .messages has what it accepted."""
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """BLOG_TEST_REDIS_URL (CI starts one), or a private redis-server on a free port.

    A shared server is fine: each test keeps its counters under a key prefix of its own.
    """
    if os.environ.get("BLOG_TEST_REDIS_URL"):
        yield os.environ["BLOG_TEST_REDIS_URL"]
        return
    require(shutil.which("redis-server") is not None, "Redis (redis-server)", "redis-server")
    with redis_server() as url:
        yield url


# --- A live server and Chromium, for tests/browser ---------------------------------------------


@pytest.fixture
def live_server(app):
    """Serve the test app on a free loopback port in a thread; yield its base URL."""
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    require(os.path.exists(chromium.CHROMIUM), "Chromium", "chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = chromium.launch(p)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    yield page
    context.close()
