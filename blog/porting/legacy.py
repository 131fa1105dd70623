"""Old addresses of an imported blog (its posts, pages, tags, archives, feeds) answer 301 with
where the content lives now.

An old address is looked up only when no route of the blog answers the request (and for
WordPress's /?p=ID on the home page): a page of this blog always wins over an old address,
and every other page pays nothing. One indexed query finds it, in any of the spellings the
old server answered to: with or without a trailing slash, a folder's index.html, another
file extension (.php, .htm, .shtml), and under the blog's old folder (/blog/, /weblog/,
/archives/...), which is left out when addresses are stored.

A page's address, /<slug>/, has the shape of many old addresses (/about-me/): the route takes
them all, but only the slug of a page readers can see counts as answered (route_for); the page
view looks the others up before it answers 404 (redirect_legacy_path).
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app, g, has_request_context, redirect, request, url_for
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from blog.extensions import db
from blog.models import LegacyPath, Post, PostKind, Tag
from blog.permalinks import PAGE_PATH, post_comments_feed_url, post_url

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


def _page_shown(slug: str) -> bool:
    """True when readers see a page at /slug/ (drafts and pages not yet due leave it free)."""
    found = sa.select(Post.id).where(Post.slug == slug, Post.public_page_filter())
    return db.session.scalar(found) is not None


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


class PostRef(NamedTuple):
    """What an old address needs of its post (or page): enough to build its URLs."""

    slug: str
    published_at: datetime
    title: str
    kind: str = PostKind.POST


class TagRef(NamedTuple):
    slug: str
    name: str


@dataclass(frozen=True)
class Found:
    """A stored old address and where it leads now."""

    path: str
    target: str
    post: PostRef | None
    tag: TagRef | None
    url: str


def resolve_keys(keys: list[str]) -> Found | None:
    """The best stored address among keys and where it leads, in one query; or None.

    Columns, not ORM objects: this runs for every request no route answers, and loading
    entities cost about a third more (measured, BENCHMARKS.md)."""
    if not keys:
        return None
    rows = db.session.execute(
        sa.select(
            LegacyPath.path,
            LegacyPath.target,
            Post.slug,
            Post.published_at,
            Post.title,
            Post.kind,
            Tag.slug,
            Tag.name,
        )
        .outerjoin(Post, LegacyPath.post_id == Post.id)
        .outerjoin(Tag, LegacyPath.tag_id == Tag.id)
        .where(
            LegacyPath.path.in_(keys),
            # Only posts and pages readers may see: a draft's old address is no address yet.
            sa.or_(LegacyPath.post_id.is_(None), Post.visible_filter()),
        )
    ).all()
    found = []
    for path, target, post_slug, published_at, title, kind, tag_slug, tag_name in rows:
        post = PostRef(post_slug, published_at, title, kind) if post_slug is not None else None
        tag = TagRef(tag_slug, tag_name) if tag_slug is not None else None
        url = destination(path, target, post, tag)
        if url is not None:
            found.append((keys.index(path), Found(path, target, post, tag, url)))
    return min(found, key=lambda item: item[0])[1] if found else None


def resolve(path: str) -> Found | None:
    """Where the old address path leads now through a stored address, or None."""
    return resolve_keys(lookup_keys(path))


def redirect_legacy():
    """Answer an imported blog's old address with 301 to where it lives now."""
    found = resolve_keys(legacy_keys())
    if found is None:
        return None
    return redirect(found.url, 301)


def redirect_legacy_path(path: str):
    """Answer an old address that the page route took (/about-me/, no such page) with 301 to
    where it lives now; None when it leads nowhere."""
    if len(path) > MAX_PATH or any(ord(c) < 32 or ord(c) == 127 for c in path):
        return None
    found = resolve(path)
    return None if found is None else redirect(found.url, 301)


def route_for(path: str) -> tuple[str, dict] | None:
    """The (endpoint, arguments) of the route of this blog that answers GET path, or None.

    An old address that a route answers is never looked up (the route wins), so it is never
    stored either. A route that answers other methods only counts too (it answers 405). The
    routes under a page's address answer only the slugs of pages readers can see: any other
    /<slug>/ is looked up, as the page view does."""
    adapter = g.get("legacy_url_adapter")
    if adapter is None:  # bound once per app context: an import checks thousands of paths
        adapter = current_app.url_map.bind(current_app.config.get("SERVER_NAME") or "localhost")
        g.legacy_url_adapter = adapter
    try:
        rule, args = adapter.match(path, method="GET", return_rule=True)
        if rule.rule.startswith(PAGE_PATH) and not _page_shown(args["slug"]):
            return None
        return rule.endpoint, args
    except RequestRedirect:
        return None  # the route would only add a slash: the lookup runs first
    except MethodNotAllowed:
        return "", {}
    except NotFound:
        return None
