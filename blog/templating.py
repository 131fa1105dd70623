"""Jinja helpers: URLs of posts and comments, dates, site settings."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, url_for

from blog.models import Comment, Post


def post_url(post: Post, _external: bool = False, endpoint: str = "posts.detail", **values) -> str:
    """Return the permalink of a published post (or another URL under it, by endpoint)."""
    when = post.published_at
    return url_for(
        endpoint,
        year=when.year,
        month=when.month,
        slug=post.slug,
        _external=_external,
        **values,
    )


def post_comments_feed_url(post: Post, fmt: str = "atom", _external: bool = False) -> str:
    """Return the URL of a post's comment feed (Atom by default)."""
    return post_url(post, _external=_external, endpoint=f"feeds.post_comments_{fmt}")


def comment_url(comment: Comment, _external: bool = False) -> str:
    """Return the permalink of a comment: its post's URL with #comment-N."""
    return post_url(comment.post, _external=_external, _anchor=f"comment-{comment.id}")


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
        post_url=post_url, comment_url=comment_url, post_comments_feed_url=post_comments_feed_url
    )
    app.jinja_env.filters.update(isodate=isodate, longdate=longdate, longtime=longtime)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
