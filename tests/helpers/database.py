"""The test databases (a migrated SQLite template, a PostgreSQL database per xdist worker),
counting the SQL a block runs, and reading rows back as detached snapshots.

Every function that touches the app's database takes the app and opens its own app context:
the tests hold none between requests, as a server holds none between requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from flask import Flask

from blog import create_app, prepared
from blog.extensions import db, upgrade_database
from blog.models import Comment, LegacyPath, Post, Tag
from tests.helpers.config import base_config


def migrate(uri: str) -> None:
    """Run every migration on the (empty) database at uri."""
    app = create_app(base_config(uri))
    upgrade_database(app)
    with app.app_context():
        db.engine.dispose()


def worker_database(url: str, worker: str) -> str:
    """Return the URL of this xdist worker's own PostgreSQL database, created if missing.

    Workers must not share one: each test empties the database it runs on. "master" (no
    xdist) uses the database of url itself.
    """
    if worker == "master":
        return url
    base = sa.engine.make_url(url)
    name = f"{base.database}_{worker}"
    engine = sa.create_engine(base, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            found = conn.scalar(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            )
            if not found:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def reset_postgresql(engine: sa.Engine) -> None:
    """Drop everything in the public schema (a database left by an earlier run)."""
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")


def empty_postgresql(engine: sa.Engine) -> None:
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


@contextmanager
def count_queries(app: Flask) -> Iterator[list[str]]:
    """Collect the SQL statements app runs inside the block (no context needs to be pushed)."""
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA", "COMMIT", "ROLLBACK")):
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    # The page keys run on the driver, below SQLAlchemy's events (blog.prepared): count them too.
    prepared.observers.append(statements.append)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        prepared.observers.remove(statements.append)


def detached(rows) -> list:
    """Detach freshly read rows from the session (call inside the app context): their columns,
    author and tags stay readable after the context ends."""
    rows = list(rows)
    for row in rows:
        db.session.expunge(row)
    return rows


def comments(app: Flask) -> list[Comment]:
    """Every comment in the database, oldest first, as detached snapshots."""
    with app.app_context():
        return detached(db.session.scalars(sa.select(Comment).order_by(Comment.id)))


def post_by_slug(app: Flask, slug: str) -> Post:
    """The post with this slug, as a detached snapshot (its tags loaded too)."""
    with app.app_context():
        post = db.session.scalar(sa.select(Post).where(Post.slug == slug))
        assert post is not None, f"no post {slug!r}"
        return detached([post])[0]


def count(app: Flask, model, *where) -> int:
    """How many rows of model match where."""
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def counts(app: Flask) -> dict[str, int]:
    """How many rows each table the importer writes holds."""
    return {model.__name__: count(app, model) for model in (Post, Comment, Tag, LegacyPath)}
