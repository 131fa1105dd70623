"""Friendly error pages: the reader learns what happened, never a stack trace."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, current_app, make_response, render_template
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from blog.extensions import db

UNAVAILABLE = (
    "The blog’s database did not answer in time. Nothing you sent was lost on your side: "
    "please try again in a few seconds."
)


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return render_template("errors/error.html", error=error), error.code

    @app.errorhandler(InternalServerError)
    def server_error(error: InternalServerError):
        _rollback()
        return render_template("errors/error.html", error=InternalServerError()), 500

    @app.errorhandler(sa.exc.OperationalError)  # locked, disk full, server gone, timeouts
    @app.errorhandler(sa.exc.InterfaceError)  # a connection closed under the driver
    @app.errorhandler(sa.exc.TimeoutError)  # no connection free in the pool
    @app.errorhandler(sa.exc.PendingRollbackError)
    def database_unavailable(error: Exception):
        return unavailable_response(error)


def unavailable_response(error: Exception):
    """Roll back and answer 503 with Retry-After: the next request starts on a clean session."""
    current_app.logger.error("database unavailable: %s", error, exc_info=error)
    _rollback()
    retry_after = str(current_app.config["DATABASE_RETRY_AFTER"])
    page = ServiceUnavailable(UNAVAILABLE, retry_after=None)
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
