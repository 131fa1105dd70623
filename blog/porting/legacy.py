"""Old addresses of imported posts and pages answer 301 with their new address."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import redirect, request
from werkzeug.exceptions import NotFound
from werkzeug.routing import RequestRedirect

from blog.extensions import db
from blog.models import LegacyPath, Post
from blog.permalinks import post_comments_feed_url, post_url


def legacy_keys() -> list[str]:
    """The LegacyPath keys this request could be, or [] when it cannot be an old address.

    Only requests no route answers are looked up, plus WordPress's /?p=ID on the home page:
    every other page pays nothing."""
    if request.method not in ("GET", "HEAD"):
        return []
    if request.routing_exception is None:
        post_id = request.args.get("p", "")
        if request.path != "/" or not post_id.isdigit():
            return []
        feed = "&feed=rss2" if "feed" in request.args else ""
        return [f"/?p={post_id}{feed}"]
    if not isinstance(request.routing_exception, NotFound | RequestRedirect):
        return []
    path = request.path
    if len(path) > 500 or any(ord(c) < 32 or ord(c) == 127 for c in path):
        return []  # no stored old address is like this (and PostgreSQL refuses NUL bytes)
    other = path.rstrip("/") if path.endswith("/") else path + "/"
    return [path, other] if other != "" else [path]


def redirect_legacy():
    """Answer an imported post's old address with 301 to where it lives now."""
    return _redirect(legacy_keys())


def redirect_legacy_path(path: str):
    """Answer an old address that a route took (a page's /<slug>/ has the shape of many old
    addresses, /about-me/) but that led nowhere there; None when it is no old address."""
    if len(path) > 500 or any(ord(c) < 32 or ord(c) == 127 for c in path):
        return None
    other = path.rstrip("/") if path.endswith("/") else path + "/"
    return _redirect([path, other])


def _redirect(keys: list[str]):
    if not keys:
        return None
    row = db.session.execute(
        sa.select(LegacyPath.target, Post)
        .join(Post, LegacyPath.post_id == Post.id)
        .where(LegacyPath.path.in_(keys), Post.visible_filter())
        .options(so.lazyload(Post.author), so.lazyload(Post.tags))
        .limit(1)
    ).first()
    if row is None:
        return None
    target, post = row
    return redirect(
        post_comments_feed_url(post) if target == "comments-feed" else post_url(post), 301
    )
