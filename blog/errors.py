"""Friendly error pages: the reader learns what happened, never a stack trace."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, current_app, make_response, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    RequestEntityTooLarge,
    ServiceUnavailable,
)

from blog.extensions import db
from blog.site import without_database

UNAVAILABLE = (
    "The blog’s database did not answer in time. Nothing you sent was lost on your side: "
    "please try again in a few seconds."
)


def size_words(limit: int) -> str:
    """Say a byte count the way people read it: 1 MB, 64 KB, 500 bytes."""
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if limit >= size:
            return f"{limit / size:g} {unit}"
    return f"{limit} bytes"


def csrf_error(error: CSRFError):
    """Explain a form refused for its missing or stale token, and what to do about it."""
    error.description = (
        "This form could not be sent: the page was open too long, cookies are blocked, or "
        "the form came from another site. Go back, copy what you typed, reload the page "
        f"and send it again. ({error.description})"
    )
    heading = "This form could not be sent"
    return render_template("errors/error.html", error=error, heading=heading), 400


def http_error(error: HTTPException):
    """Show an HTTP error's page: its status and what the reader can do."""
    return render_template("errors/error.html", error=error), error.code


def too_large(error: RequestEntityTooLarge):
    """Say what the size limit is, and that shortening and sending again works."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    most = f" (at most {size_words(limit)})" if limit else ""
    error.description = (
        f"What you sent is larger than this blog accepts{most}. "
        "Go back, shorten it and send it again."
    )
    heading = "That was too much to send"
    return render_template("errors/error.html", error=error, heading=heading), 413


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(RequestEntityTooLarge, too_large)
    app.register_error_handler(CSRFError, csrf_error)

    @app.errorhandler(InternalServerError)
    def server_error(error: InternalServerError):
        # Never the original exception's text: it may hold SQL, paths or secrets. The log has
        # it, under the request id the page shows.
        _rollback()
        return render_template("errors/error.html", error=InternalServerError()), 500

    @app.errorhandler(sa.exc.OperationalError)  # locked, disk full, server gone, timeouts
    @app.errorhandler(sa.exc.InterfaceError)  # a connection closed under the driver
    @app.errorhandler(sa.exc.TimeoutError)  # no connection free in the pool
    @app.errorhandler(sa.exc.PendingRollbackError)
    def database_unavailable(error: Exception):
        if not is_outage(error):
            # A bug in a query (SQLite reports "no such table" as OperationalError too) is a
            # 500 like any other: the log gets the traceback, the reader the plain page.
            current_app.log_exception((type(error), error, error.__traceback__))
            return server_error(InternalServerError())
        return unavailable_response(error)


# What SQLite says when the database, not the query, is the problem.
SQLITE_OUTAGES = (
    "database is locked",
    "database table is locked",
    "disk i/o error",
    "database or disk is full",
    "unable to open database",
    "readonly database",
)


def is_outage(error: Exception) -> bool:
    """Return True when error means the database is unavailable rather than a query is wrong."""
    orig = getattr(error, "orig", None)
    if isinstance(error, sa.exc.OperationalError) and type(orig).__module__.startswith("sqlite3"):
        return any(message in str(orig).lower() for message in SQLITE_OUTAGES)
    return True


def unavailable_response(error: Exception):
    """Roll back and answer 503 with Retry-After: the next request starts on a clean session."""
    current_app.logger.error("database unavailable: %s", error, exc_info=error)
    _rollback()
    retry_after = str(current_app.config["DATABASE_RETRY_AFTER"])
    page = ServiceUnavailable(UNAVAILABLE, retry_after=None)
    without_database()  # the page's title and navigation must not need the database
    try:
        body = render_template("errors/error.html", error=page)
    except Exception:  # a template that itself needs the database must not hide the answer
        body = UNAVAILABLE
    response = make_response(body, 503)
    response.headers["Retry-After"] = retry_after
    response.headers["Cache-Control"] = "no-store"
    return response


def _rollback() -> None:
    """End the request's transaction; a dead connection is discarded instead."""
    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError:
        db.session.invalidate()
