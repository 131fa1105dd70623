"""Old addresses of an imported blog answer 301 with where the content lives now.

An old address is looked up only when no route of the blog answers the request (and for
WordPress's /?p=ID on the home page): a page of this blog always wins over an old address,
and every other page pays nothing. One indexed query finds it, in any of the spellings the
old server answered to: with or without a trailing slash, a folder's index.html, another
file extension (.php, .htm, .shtml), and under the blog's old folder (/blog/, /weblog/,
/archives/...), which is left out when addresses are stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app, g, has_request_context, redirect, request, url_for
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from blog.extensions import db
from blog.models import LegacyPath, Post, Tag
from blog.permalinks import post_comments_feed_url, post_url

# Where an old address may lead (LegacyPath.target), with the row it needs.
POST_TARGETS = ("post", "comments-feed")
TAG_TARGETS = ("tag", "tag-atom", "tag-rss")
SITE_TARGETS = {
    "home": "posts.index",
    "posts-atom": "feeds.posts_atom",
    "posts-rss": "feeds.posts_rss",
    "comments-atom": "feeds.comments_atom",
    "comments-rss": "feeds.comments_rss",
}
# A month's (or a day's) archive: the date is read from the old address itself.
ARCHIVE_TARGETS = ("month",)
TARGETS = (*POST_TARGETS, *TAG_TARGETS, *SITE_TARGETS, *ARCHIVE_TARGETS)

MAX_PATH = 500
# How many leading folders an old address may have above the stored one: /blog/ on TypePad,
# /weblog/archives/ on a Movable Type site.
MAX_FOLDERS = 2
_INDEX_FILE = re.compile(r"/index\.(?:html?|php|shtml|asp)$")
_OTHER_EXTENSION = re.compile(r"\.(?:htm|php|shtml|asp)$")
_YEAR_MONTH = re.compile(r"/((?:19|20)\d\d)/(0[1-9]|1[0-2])(?:/|$)")


def spellings(path: str) -> list[str]:
    """The ways one old address could be written and served the same page."""
    found = [path]
    if path.endswith("/"):
        if path != "/":
            found += [path[:-1], path + "index.html", path[:-1] + ".html"]
    elif index := _INDEX_FILE.search(path):
        folder = path[: index.start() + 1]
        if folder != "/":  # /index.html stays itself: "/" is this blog's home page
            found += [folder, folder[:-1] + ".html"]
    else:
        found.append(path + "/")
        if _OTHER_EXTENSION.search(path):
            found.append(_OTHER_EXTENSION.sub(".html", path))
    return found


def without_folders(path: str) -> list[str]:
    """path, then path without its first folder, then without two (never down to "/", an
    index file alone, or a path that starts with a year: those are no blog folder)."""
    found = [path]
    rest = path
    for _ in range(MAX_FOLDERS):
        match = re.match(r"/([^/]+)(/.+)$", rest)
        if match is None or match.group(1).isdigit():
            break
        rest = match.group(2)
        if _INDEX_FILE.fullmatch(rest):
            break
        found.append(rest)
    return found


def lookup_keys(path: str) -> list[str]:
    """Every stored LegacyPath.path that could be this old address, best first."""
    keys: list[str] = []
    for base in without_folders(path):
        for key in spellings(base):
            if key not in keys and len(key) <= MAX_PATH:
                keys.append(key)
    return keys


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
    if len(path) > MAX_PATH or any(ord(c) < 32 or ord(c) == 127 for c in path):
        return []  # no stored old address is like this (and PostgreSQL refuses NUL bytes)
    return lookup_keys(path)


def url_context() -> AbstractContextManager:
    """A request context for building URLs (relative to the site) from a command."""
    return nullcontext() if has_request_context() else current_app.test_request_context()


def destination(path: str, target: str, post, tag) -> str | None:
    """The URL the old address path (a LegacyPath's target) leads to, or None.

    post and tag are the row's (anything with their slug and, for a post, published_at);
    whether the post may be shown is the caller's to check."""
    if target in POST_TARGETS:
        if post is None:
            return None
        return post_comments_feed_url(post) if target == "comments-feed" else post_url(post)
    if target in TAG_TARGETS:
        if tag is None:
            return None
        if target == "tag":
            return url_for("posts.tag", tag=tag.slug)
        return url_for("feeds.tag_" + target.removeprefix("tag-"), tag=tag.slug)
    if target in SITE_TARGETS:
        return url_for(SITE_TARGETS[target])
    if target in ARCHIVE_TARGETS:
        date = _YEAR_MONTH.search(path)
        if date is None:
            return None
        return url_for("posts.archive", year=int(date.group(1)), month=int(date.group(2)))
    return None


def _rows(keys: Iterable[str]) -> list[tuple[LegacyPath, Post | None, Tag | None]]:
    """The stored addresses among keys that lead somewhere now, in one query."""
    return db.session.execute(
        sa.select(LegacyPath, Post, Tag)
        .outerjoin(Post, LegacyPath.post_id == Post.id)
        .outerjoin(Tag, LegacyPath.tag_id == Tag.id)
        .where(
            LegacyPath.path.in_(list(keys)),
            sa.or_(LegacyPath.post_id.is_(None), Post.public_filter()),
        )
        .options(so.lazyload(Post.author), so.lazyload(Post.tags))
    ).all()


def resolve_keys(keys: list[str]) -> tuple[LegacyPath, str] | None:
    """The best stored address among keys and where it leads, or None."""
    if not keys:
        return None
    found = []
    for row, post, tag in _rows(keys):  # only public posts: the query checks
        url = destination(row.path, row.target, post, tag)
        if url is not None:
            found.append((keys.index(row.path), row, url))
    if not found:
        return None
    _rank, row, url = min(found, key=lambda item: item[0])
    return row, url


def resolve(path: str) -> tuple[LegacyPath, str] | None:
    """Where the old address path leads now through a stored address, or None."""
    return resolve_keys(lookup_keys(path))


def redirect_legacy():
    """Answer an imported blog's old address with 301 to where it lives now."""
    found = resolve_keys(legacy_keys())
    if found is None:
        return None
    return redirect(found[1], 301)


def route_for(path: str) -> tuple[str, dict] | None:
    """The (endpoint, arguments) of the route of this blog that answers GET path, or None.

    An old address that a route answers is never looked up (the route wins), so it is never
    stored either. A route that answers other methods only counts too (it answers 405)."""
    adapter = g.get("legacy_url_adapter")
    if adapter is None:  # bound once per app context: an import checks thousands of paths
        adapter = current_app.url_map.bind(current_app.config.get("SERVER_NAME") or "localhost")
        g.legacy_url_adapter = adapter
    try:
        return adapter.match(path, method="GET")
    except RequestRedirect:
        return None  # the route would only add a slash: the lookup runs first
    except MethodNotAllowed:
        return "", {}
    except NotFound:
        return None
