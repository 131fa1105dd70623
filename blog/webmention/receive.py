"""Checking a webmention request at once, before anything is fetched (W3C Webmention 3.2.1).

Both URLs must be http(s), not the same page, and the target must be one of our published
posts, named by this site's host (the one the sender used, or SERVER_NAME). Anything else is
refused with 400 and a plain reason: the sender learns what to fix, and nothing is queued.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from flask import current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from blog.extensions import db
from blog.models import Post
from blog.permalinks import month_matches
from blog.webmention.models import MAX_URL
from blog.webmention.parse import normalize, web_url


class Invalid(Exception):
    """A request we refuse; str() is the reason the sender reads."""


def our_hosts() -> set[str]:
    """The host names (with port) under which this blog's posts are targets."""
    hosts = {request.host.lower()}
    if current_app.config.get("SERVER_NAME"):
        hosts.add(current_app.config["SERVER_NAME"].lower())
    return hosts


def check_request(source: str | None, target: str | None) -> tuple[str, str, Post]:
    """Return (source, target, the post) of a valid request, or raise Invalid with why not."""
    source, target = (source or "").strip(), (target or "").strip()
    if not source:
        raise Invalid("source is missing: send the address of the page that mentions the post.")
    if not target:
        raise Invalid("target is missing: send the address of the post it mentions.")
    for name, url in (("source", source), ("target", target)):
        if len(url) > MAX_URL:
            raise Invalid(f"{name} is longer than {MAX_URL} characters.")
        if not web_url(url):
            raise Invalid(f"{name} is not an http or https address.")
    if normalize(source) == normalize(target):
        raise Invalid("source and target are the same page.")
    post = post_at(target, our_hosts())
    if post is None:
        raise Invalid("target is not a published post of this blog.")
    return source, target, post


def post_at(url: str, hosts: set[str]) -> Post | None:
    """Return the published post whose permalink url is (query and fragment aside), if any."""
    parts = urlsplit(url)
    if parts.netloc.lower() not in hosts:
        return None
    adapter = current_app.url_map.bind(parts.netloc.lower())
    path = unquote(parts.path or "/")
    try:
        try:
            endpoint, args = adapter.match(path, method="GET")
        except RequestRedirect as moved:  # the permalink without its final slash, say
            endpoint, args = adapter.match(unquote(urlsplit(moved.new_url).path), method="GET")
    except HTTPException:
        return None
    if endpoint != "posts.detail":
        return None
    post = db.session.scalar(sa.select(Post).where(Post.slug == args["slug"], Post.public_filter()))
    # The month on the blog's clock; a month the post had in another time zone redirects to it.
    if post is None or month_matches(post.published_at, args["year"], args["month"]) is False:
        return None
    return post
