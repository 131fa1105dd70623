"""A database that fails answers 503 with Retry-After, and the app recovers once it is back."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import request

from blog.extensions import csrf, db
from blog.models import Setting
from tests.helpers import factories
from tests.helpers.config import base_config
from tests.helpers.html import parse, text


@pytest.fixture
def app_config(database_uri) -> dict:
    # Give up on a lock after 0.2 s so a "locked for too long" database is quick to simulate.
    return base_config(database_uri, SQLITE_BUSY_TIMEOUT=200)


@pytest.fixture
def site(demo):
    """The demo blog with a write route (a test stand-in for any form post)."""

    @csrf.exempt
    def write():
        Setting.put("probe", request.form["value"])
        db.session.commit()
        return "stored"

    demo.add_url_rule("/_test/write", "test_write", write, methods=["POST"])
    return demo, factories.permalink(demo, factories.newest_post(demo))


def _stored(app) -> str | None:
    with app.app_context():
        return Setting.get("probe")


def _assert_unavailable(response) -> None:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Cache-Control"] == "no-store"
    doc = parse(response)
    assert doc.findtext(".//h1").strip() == "The blog is busy for a moment"
    assert "try again in a few seconds" in text(doc.find(".//main"))


@pytest.mark.sqlite_only
def test_database_locked_too_long_answers_503_and_recovers(site, client, database_uri):
    app, url = site
    assert client.get(url).status_code == 200
    # Another process holds the database exclusively (readers too) past the busy timeout;
    # it can only take that lock while no other connection has the file open.
    with app.app_context():
        db.engine.dispose()
    locker = sqlite3.connect(database_uri.removeprefix("sqlite:///"), isolation_level=None)
    locker.execute("PRAGMA locking_mode=EXCLUSIVE")
    locker.execute("BEGIN EXCLUSIVE")
    locker.execute("SELECT count(*) FROM post").fetchone()
    try:
        _assert_unavailable(client.get(url))
        _assert_unavailable(client.post("/_test/write", data={"value": "while locked"}))
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert client.get(url).status_code == 200
    assert client.post("/_test/write", data={"value": "after"}).status_code == 200
    assert _stored(app) == "after"


@pytest.mark.sqlite_only
def test_disk_full_answers_503_while_pages_still_read(site, client):
    app, url = site
    full = {"on": True}

    def fill_disk(conn, cursor, statement, parameters, context, executemany):
        # SQLite's max_page_count caps the file like a full disk; lifting it frees the disk.
        limit = "(SELECT page_count FROM pragma_page_count())" if full["on"] else "1073741823"
        pages = cursor.connection.execute(f"SELECT {limit}").fetchone()[0]
        cursor.connection.execute(f"PRAGMA max_page_count={pages}")

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", fill_disk)
    try:
        _assert_unavailable(client.post("/_test/write", data={"value": "x" * 20000}))
        assert client.get(url).status_code == 200
        full["on"] = False
        assert client.post("/_test/write", data={"value": "x" * 20000}).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", fill_disk)
    assert _stored(app) == "x" * 20000


@contextmanager
def _admin(database_uri: str) -> Iterator[sa.Connection]:
    """A connection of the test's own, outside the app's pool, to break the app's ones."""
    engine = sa.create_engine(database_uri, poolclass=sa.pool.NullPool)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield conn
    finally:
        engine.dispose()


def _terminate_app_connections(admin: sa.Connection) -> int:
    return admin.exec_driver_sql(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    ).scalar()


@pytest.mark.postgresql_only
def test_postgresql_connections_lost_are_replaced(site, client, database_uri):
    app, url = site
    assert client.get(url).status_code == 200
    with _admin(database_uri) as conn:
        assert _terminate_app_connections(conn) >= 1
    assert client.get(url).status_code == 200  # pool_pre_ping reconnects: nobody sees it


@pytest.mark.postgresql_only
def test_postgresql_down_answers_503_and_recovers(site, client, database_uri):
    app, url = site
    assert client.get(url).status_code == 200
    with _admin(database_uri) as conn:
        name = conn.exec_driver_sql("SELECT quote_ident(current_database())").scalar()
        conn.exec_driver_sql(f"ALTER DATABASE {name} CONNECTION LIMIT 0")
        try:
            _terminate_app_connections(conn)  # the server "restarts" and refuses connections
            _assert_unavailable(client.get(url))
            _assert_unavailable(client.post("/_test/write", data={"value": "while down"}))
        finally:
            conn.exec_driver_sql(f"ALTER DATABASE {name} CONNECTION LIMIT -1")
    assert client.get(url).status_code == 200
    assert client.post("/_test/write", data={"value": "after"}).status_code == 200
    assert _stored(app) == "after"
