"""Where posts, pages and comments live: the permalink rules, their URLs, finding an entry by them.

Every blueprint that hangs a URL off a post or a page (its page, its comments, its comment
feeds) and every template that links to one reads the rules here; none of them imports
another's views.

A post lives at /YYYY/MM/<slug>/, the year and month of its publication on the blog's clock
(the time zone of the site settings): a post published on 31 March at 22:00 in New York is a
March post, as its date on the page and its month's archive say. Changing the zone later can
move a post published near the turn of a month into the next or previous month; its old
address then answers 301 with the new one (any month the post had in some zone, UTC-12 to
UTC+14, is recognised; other months are 404). Feeds' entry ids do not depend on the URL.

A page lives at /<slug>/ (a slug no route of the blog starts with: PageSlugConverter). Routes
that hang off both register the two rules on one endpoint
(POST_PATH + "comments", PAGE_PATH + "comments"); url_for picks the rule the values fill.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import abort, current_app, has_request_context, redirect, request, url_for
from werkzeug.routing import BaseConverter, Map

from blog.extensions import db
from blog.models import Comment, GonePost, Post, PostKind, UTCDateTime, utcnow
from blog.site import local, zone

# A post's permalink, /YYYY/MM/<slug>/; its comments and comment feeds hang off it.
POST_PATH = "/<int(fixed_digits=4):year>/<int(fixed_digits=2):month>/<slug>/"
# A page's, /<slug>/ (About, Colophon); its comments hang off it the same way.
PAGE_PATH = "/<page:slug>/"
# The endpoint that shows a page, where a post's is posts.detail.
PAGE_ENDPOINTS = {"posts.detail": "pages.detail"}
# The UTC offsets time zones use: a post's month in any of them is a month it may have had.
ZONE_OFFSETS = (timedelta(hours=-12), timedelta(hours=14))


# First path segments a page's slug may not take: the blog's routes (tests/test_pages.py
# checks every rule of the URL map is here) and those of features to come (DESIGN.md §6).
RESERVED_SEGMENTS = frozenset(
    {
        "admin",
        "feeds",
        "tags",
        "search",
        "login",
        "logout",
        "setup",
        "static",
        "sitemap.xml",
        "robots.txt",
        "_bench",
        "comments",
        "media",
        "subscriptions",
        "webmention",
    }
)
# A segment of digits only is read as a year (/<int:year>/) and never reaches a page.
DIGITS = re.compile(r"\d+")


def route_segments(url_map: Map) -> set[str]:
    """Return the first path segments the rules of url_map start with (admin, feeds...)."""
    segments = set()
    for rule in url_map.iter_rules():
        first = rule.rule.lstrip("/").split("/", 1)[0]
        if first and "<" not in first:
            segments.add(first)
    return segments


def taken_segments() -> frozenset[str]:
    """Return the first path segments the blog itself uses, now or soon."""
    return RESERVED_SEGMENTS | route_segments(current_app.url_map)


def page_slug_problem(slug: str) -> str:
    """Say why /slug/ cannot be a page's address, or return "" when it can."""
    if DIGITS.fullmatch(slug):
        return f"/{slug}/ would be read as a year's archive: choose a slug with a letter in it."
    if slug in taken_segments():
        return f"/{slug}/ is an address the blog itself uses: choose another slug."
    return ""


class PageSlugConverter(BaseConverter):
    """A page's slug in a URL: one path segment that is no route's first, no number, no file.

    The pattern itself leaves those out: a GET of /logout (a POST-only route) must stay 405,
    not be redirected to a page /logout/ (werkzeug adds the slash before asking any view).
    Built as each rule is added; create_app registers the pages last, so /<slug>/ sees them all.
    """

    def __init__(self, url_map: Map, *args, **kwargs) -> None:
        super().__init__(url_map, *args, **kwargs)
        taken = sorted(RESERVED_SEGMENTS | route_segments(url_map), key=len, reverse=True)
        words = "|".join(re.escape(segment) for segment in taken)
        # No dot either: slugs have none, and /favicon.ico must stay a plain 404.
        self.regex = rf"(?!(?:{words}|\d+)(?:/|$))[^/.]+"


def permalink_month(when: datetime, clock: ZoneInfo | None = None) -> tuple[int, int]:
    """Return the (year, month) of a post's address: its publication on the blog's clock.

    clock: the blog's zone when the caller has it already (read with its post, blog.posts.keys
    and blog.comments.views; or once for many posts), else it is read from the site settings.
    """
    moment = local(when) if clock is None else when.astimezone(clock)
    return moment.year, moment.month


def get_public_post(slug: str, year: int | None = None, month: int | None = None) -> Post:
    """Return the public post at /year/month/slug/ (or the public page at /slug/), else abort:
    410 where a deleted entry was, 404 elsewhere.

    A post asked for under a month it had in another time zone answers 301 (308 for a form
    sent there) with its address now.
    """
    statement = _PUBLIC_PAGE if year is None else _PUBLIC_POST
    post = db.session.scalar(statement, {"slug": slug, "now": utcnow()})
    if post is not None and year is not None:
        where = month_matches(post.published_at, year, month)
        if where is None:
            abort(moved(post))
        if where is False:
            post = None
    if post is None:
        path = f"/{slug}/" if year is None else f"/{year:04d}/{month:02d}/{slug}/"
        if db.session.scalar(sa.select(GonePost.id).where(GonePost.path == path)) is not None:
            # Sites that showed it (its webmentions) take 410 as "deleted" and drop it.
            abort(410, f"This {'page' if year is None else 'post'} was deleted by its writer.")
        abort(404)
    return post


# Built once: building them cost more than running them, on every page rendered for a reader.
_NOW = sa.bindparam("now", type_=UTCDateTime())
_PUBLIC_POST = sa.select(Post).where(Post.slug == sa.bindparam("slug"), Post.public_filter(_NOW))
_PUBLIC_PAGE = sa.select(Post).where(
    Post.slug == sa.bindparam("slug"), Post.public_page_filter(_NOW)
)


def public_path(post: Post) -> str:
    """Return the path of a post's or page's address (no url_for: the CLI has no request)."""
    if post.kind == PostKind.PAGE:
        return f"/{post.slug}/"
    year, month = permalink_month(post.published_at)
    return f"/{year:04d}/{month:02d}/{post.slug}/"


def month_matches(
    when: datetime, year: int, month: int, clock: ZoneInfo | None = None
) -> bool | None:
    """True: the post's month; None: a month it had in another zone (moved); False: wrong.

    clock: as permalink_month() takes it.
    """
    if (year, month) == permalink_month(when, clock):
        return True
    anywhere = {((when + offset).year, (when + offset).month) for offset in ZONE_OFFSETS}
    return None if (year, month) in anywhere else False


def moved(post: Post):
    """Return a redirect from this request's URL to the same endpoint under the post's month."""
    year, month = permalink_month(post.published_at)
    values = {**(request.view_args or {}), "year": year, "month": month}
    target = url_for(request.endpoint, **{**request.args.to_dict(flat=False), **values})
    return redirect(target, 301 if request.method in ("GET", "HEAD") else 308)


def post_url(post: Post, _external: bool = False, endpoint: str = "posts.detail", **values) -> str:
    """Return the permalink of a published post or page (or another URL under it, by endpoint)."""
    if post.kind == PostKind.PAGE:
        endpoint = PAGE_ENDPOINTS.get(endpoint, endpoint)
        return url_for(endpoint, slug=post.slug, _external=_external, **values)
    year, month = permalink_month(post.published_at)
    return url_for(endpoint, year=year, month=month, slug=post.slug, _external=_external, **values)


def post_urls(posts: Iterable[Post], _external: bool = False) -> Iterator[str]:
    """Yield the permalinks of many published posts (not pages): what post_url() gives, at half
    the cost.

    For a sitemap's 50,000 posts: one URL adapter, bound once, builds them all (url_for()
    builds a new one per call; a sitemap file took 1 s of CPU that way).
    """
    adapter = current_app.create_url_adapter(request if has_request_context() else None)
    clock = zone()  # once: the month of every address is on the blog's clock
    for post in posts:
        year, month = permalink_month(post.published_at, clock)
        values = {"year": year, "month": month, "slug": post.slug}
        yield adapter.build("posts.detail", values, force_external=_external)


def post_comments_feed_url(post: Post, fmt: str = "atom", _external: bool = False) -> str:
    """Return the URL of a post's comment feed (Atom by default)."""
    return post_url(post, _external=_external, endpoint=f"feeds.post_comments_{fmt}")


def comment_url(comment: Comment, _external: bool = False) -> str:
    """Return the permalink of a comment: its post's URL with #comment-N."""
    return post_url(comment.post, _external=_external, _anchor=f"comment-{comment.id}")
