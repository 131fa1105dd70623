"""Jinja helpers: URLs of posts and comments, dates in the blog's time zone, site settings,
search snippets."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from werkzeug.local import LocalProxy

from blog.comments.spam import comments_open
from blog.permalinks import comment_url, post_comments_feed_url, post_url
from blog.search.snippet import highlight, snippet
from blog.sharing import share, shown_author
from blog.site import SiteSettings, local


def isodate(value: datetime) -> str:
    """Format a datetime for a datetime attribute (ISO 8601, UTC)."""
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def longdate(value: datetime) -> str:
    """Format a date the way people read it, on the blog's clock: 25 November 2026."""
    value = local(value)
    return f"{value.day} {value:%B %Y}"


def longtime(value: datetime) -> str:
    """Format a date and time on the blog's clock: 25 November 2026 at 15:13 EST."""
    value = local(value)
    return f"{value.day} {value:%B %Y} at {value:%H:%M} {value:%Z}"


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        post_url=post_url,
        comment_url=comment_url,
        post_comments_feed_url=post_comments_feed_url,
        comments_open=comments_open,
        highlight=highlight,
        snippet=snippet,
        share=share,
        shown_author=shown_author,
        # The site settings, read on first use in a request (one query with every setting).
        site=LocalProxy(SiteSettings.load),
    )
    app.jinja_env.filters.update(isodate=isodate, longdate=longdate, longtime=longtime)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
