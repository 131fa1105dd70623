"""Friendly error pages: the reader learns what happened, never a stack trace."""

from __future__ import annotations

from flask import Flask, current_app, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge

from blog.extensions import db


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
        db.session.rollback()
        return render_template("errors/error.html", error=InternalServerError()), 500
