"""Flask extensions, created unbound and attached to an app by init_app()."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, g, has_app_context, has_request_context, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager as FlaskLoginManager
from flask_mailman import Mail
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

from blog.readers import session_in_use


class Base(DeclarativeBase):
    pass


class LoginManager(FlaskLoginManager):
    """Flask-Login that leaves alone the requests that never used a session.

    Its after-request hook asks the session about "remember me" on every response, which marks
    the session accessed and makes Flask add `Vary: Cookie` to every page, shared ones too. A
    request that sent no session cookie and whose code never read the session has nothing for
    the hook to do (login_user() and logout_user() read it), so the hook is skipped there.
    """

    def _update_remember_cookie(self, response):
        if not session_in_use():
            return response
        return super()._update_remember_cookie(response)


db = SQLAlchemy(model_class=Base)
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address)


def retry_after(default: int) -> int:
    """Whole seconds until the breached limit lifts, rounded up: waiting that long is enough.

    Counted from the window's own reset time: Flask-Limiter's reset_at is int(reset + 1), a
    second more, so a limit of one comment per 15 s told the reader to wait 16.
    """
    limit = limiter.current_limit
    return max(1, math.ceil(limit.window[0] - time.time())) if limit else default


# Configured by blog.mail.transport.init_app (which picks SMTP or .eml files first).
mail = Mail()

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def init_app(app: Flask) -> None:
    """Attach every extension to app, tuning SQLite for a web server."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if uri.startswith("sqlite"):
        connect_args = dict(options.get("connect_args") or {})
        # pysqlite's own busy timeout (seconds) covers the connect-time pragmas too.
        connect_args.setdefault("timeout", app.config["SQLITE_BUSY_TIMEOUT"] / 1000)
        options["connect_args"] = connect_args
    else:
        # A server restart or a dropped connection costs one ping, not a failed request.
        options.setdefault("pool_pre_ping", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    if uri.startswith("sqlite"):
        with app.app_context():
            _tune_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT"])
    app.cli.add_command(_MigrationCommands(app), name="db")
    csrf.init_app(app)
    # No context processor: it loads the user for every template (see blog.readers).
    login_manager.init_app(app, add_context_processor=False)
    login_manager.login_view = "admin.login"
    limiter.init_app(app)


def migrations(app: Flask):
    """Attach Flask-Migrate to app (once) and return it: `flask db ...` and
    flask_migrate.upgrade() need it.

    Not done by init_app: Flask-Migrate imports Alembic and Mako, about 10 MB in every process,
    and a web worker never migrates. The `db` command group attaches it when it is used.
    """
    if "migrate" not in app.extensions:
        from flask_migrate import Migrate

        Migrate(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    return app.extensions["migrate"].migrate


def upgrade_database(app: Flask) -> None:
    """Apply every migration app's database lacks (what `flask db upgrade` does)."""
    migrations(app)
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


class _MigrationCommands(click.Group):
    """`flask db`: stands in app.cli for Flask-Migrate's command group until it is invoked."""

    def __init__(self, app: Flask) -> None:
        super().__init__(help="Database migrations (Flask-Migrate, Alembic).")
        self.app = app

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        migrations(self.app)
        from flask_migrate.cli import db as commands

        return commands.make_context(info_name, args, parent=parent, **extra)


def takes_write_lock() -> bool:
    """Return True when the transaction about to begin may write: a POST-like request or a command.

    Page views read concurrently in WAL mode. Anything else (a test body, a thread outside
    a request) begins deferred, so a read there never holds the write lock and blocks the server,
    unless it runs inside write_transaction() (the background worker's writes).
    """
    if has_app_context() and g.get("write_transaction"):
        return True
    if has_request_context():
        return request.method not in READ_ONLY_METHODS
    return click.get_current_context(silent=True) is not None


@contextmanager
def write_transaction() -> Iterator[None]:
    """Run the block as one transaction that takes SQLite's write lock up front, then commit.

    For code outside requests and commands (the worker's threads): their reads begin deferred,
    and a deferred transaction that writes after another writer committed fails at once with
    "database is locked". Any transaction still open is committed first, so the flag decides
    how the block's own transaction begins. On an error the block's changes are rolled back.
    """
    db.session.commit()
    g.write_transaction = True
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        g.write_transaction = False


def request_cache() -> dict:
    """Return a dict that lives as long as the current request (else the app context).

    Kept on the request object rather than in flask.g: an app context can outlive a request
    (a test's, a command's), and what one request read must not be served to the next.
    """
    holder = request._get_current_object() if has_request_context() else g._get_current_object()
    cache = getattr(holder, "_blog_cache", None)
    if cache is None:
        cache = {}
        holder._blog_cache = cache
    return cache


def _tune_sqlite(engine: sa.Engine, busy_timeout_ms: int) -> None:
    """WAL, a busy timeout and foreign keys; writes take the lock up front (BEGIN IMMEDIATE)."""

    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def on_begin(connection):
        # A deferred transaction that reads and then writes cannot wait for the lock: in WAL
        # mode, if another writer committed since its read began, SQLite answers "database
        # is locked" at once, busy timeout or not. BEGIN IMMEDIATE waits for the lock first.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if takes_write_lock() else "BEGIN")
