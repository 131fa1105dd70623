"""Jinja helpers: URLs of posts and comments, dates, site settings."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from blog.comments.spam import comments_open
from blog.permalinks import comment_url, post_comments_feed_url, post_url


def isodate(value: datetime) -> str:
    """Format a datetime for a datetime attribute (ISO 8601, UTC)."""
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def longdate(value: datetime) -> str:
    """Format a date the way people read it: 25 November 2026."""
    return f"{value.day} {value:%B %Y}"


def longtime(value: datetime) -> str:
    """Format a date and time: 25 November 2026 at 20:13 UTC."""
    return f"{value.day} {value:%B %Y} at {value:%H:%M} UTC"


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        post_url=post_url,
        comment_url=comment_url,
        post_comments_feed_url=post_comments_feed_url,
        comments_open=comments_open,
    )
    app.jinja_env.filters.update(isodate=isodate, longdate=longdate, longtime=longtime)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
