"""Feed URLs: Atom and RSS for posts, comments, one post's comments and one tag's posts.

Each view reads its version first (a cheap indexed query), answers 304 when the reader already
has it, and otherwise serves the document from a small per-process cache keyed by the ETag, or
builds it. The ETag hashes everything the document depends on, so the cache cannot go stale
when another process writes.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, request, url_for
from werkzeug.http import is_resource_modified

from blog.cache import app_cache
from blog.feeds import queries
from blog.feeds.build import MEDIA_TYPES, Channel, Format, Item, render, tag_uri
from blog.media.markup import absolute_urls
from blog.models import Comment, Post, PostKind
from blog.permalinks import PAGE_PATH, POST_PATH, comment_url, month_matches, moved, post_url
from blog.site import site

bp = Blueprint("feeds", __name__)


def tag_authority() -> str:
    """Return the authority of entry ids: FEED_TAG_AUTHORITY, else this site's host name.

    The site's host name is SERVER_NAME's when it is set (never the Host a request claims),
    else the request's.
    """
    configured = current_app.config.get("FEED_TAG_AUTHORITY")
    home = url_for("posts.index", _external=True)
    return (configured or urlsplit(home).hostname or "localhost").lower()


def _etag(feed: str, fmt: Format, version: queries.Version) -> str:
    settings = site()
    about_site = (
        settings.title,
        settings.tagline,
        settings.language,
        settings.author_name,  # each entry's author when set
        settings.timezone,  # entry links: a post's month is the blog's
        current_app.config["FEED_MAX_AGE"],  # the RSS <ttl>
    )
    # Absolute URLs and ids depend on the site's address (SERVER_NAME, or the trusted Host the
    # reader used), so it is part of the version.
    root = url_for("posts.index", _external=True)
    parts = (feed, fmt, root, tag_authority(), about_site, version.key)
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


def _respond(
    feed: str, fmt: Format, version: queries.Version, build: Callable[[], Channel]
) -> Response:
    """Answer 304 if the reader's copy is current, else the document; cache headers either way."""
    etag = _etag(feed, fmt, version)
    if not is_resource_modified(request.environ, etag=etag, last_modified=version.last_modified):
        response = Response(status=304)
    else:
        cache = app_cache("feed_cache", "FEED_CACHE_SIZE")
        body = cache.get_or_build(etag, lambda: render(build(), fmt))
        response = Response(body, content_type=MEDIA_TYPES[fmt])
    response.set_etag(etag)
    response.last_modified = version.last_modified
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["FEED_MAX_AGE"]
    return response


def _channel(
    feed_id: str, title: str, subtitle: str, self_endpoint: str, alternate: str, **kw
) -> Channel:
    """Return a channel without entries; self_endpoint and kw build its absolute self URL."""
    settings = site()
    return Channel(
        id=feed_id,
        title=title,
        subtitle=subtitle,
        self_url=url_for(self_endpoint, _external=True, **kw),
        alternate_url=alternate,
        language=settings.language,
        author=settings.author_name or settings.title,
        ttl_minutes=max(1, current_app.config["FEED_MAX_AGE"] // 60),
    )


def post_item(post: Post) -> Item:
    """Return a post as a feed entry."""
    return Item(
        id=tag_uri(tag_authority(), post.created_at, f"post-{post.id}"),
        title=post.title,
        link=post_url(post, _external=True),
        published=post.published_at,
        updated=max(post.published_at, post.updated_at),
        author=site().author_name or post.author.display_name,
        # A feed reader resolves "/media/…" against its own address, if at all: absolute URLs
        # (images, their srcset, links to this site's pages). The host is in the ETag.
        content_html=absolute_urls(post.body_html, request.host_url.rstrip("/")),
        summary=post.excerpt,
        categories=tuple(tag.name for tag in post.tags),
        comments_link=post_url(post, _external=True, _anchor="comments"),
    )


def comment_item(comment: Comment) -> Item:
    """Return an approved comment as a feed entry (no email, no IP: they are never published)."""
    name = comment.author_name or "Anonymous"
    return Item(
        id=tag_uri(tag_authority(), comment.created_at, f"comment-{comment.id}"),
        title=f"Comment on {comment.post.title} by {name}",
        link=comment_url(comment, _external=True),
        published=comment.created_at,
        updated=comment.edited_at or comment.created_at,
        author=name,
        author_uri=comment.author_url,
        content_html=comment.body_html,
    )


def _with_items(channel: Channel, items: list[Item]) -> Channel:
    updated = max((item.updated for item in items), default=channel.updated)
    return dataclasses.replace(channel, items=items, updated=updated)


def _limit(key: str) -> int:
    return max(1, int(current_app.config[key]))


@bp.route("/feeds/posts.atom", endpoint="posts_atom", defaults={"fmt": "atom"})
@bp.route("/feeds/posts.rss", endpoint="posts_rss", defaults={"fmt": "rss"})
def posts(fmt: Format):
    """Serve the latest published posts, newest first."""
    limit = _limit("FEED_POSTS_LIMIT")

    def build() -> Channel:
        settings = site()
        channel = _channel(
            url_for("feeds.posts_atom", _external=True),
            settings.title,
            settings.tagline,
            f"feeds.posts_{fmt}",
            url_for("posts.index", _external=True),
        )
        return _with_items(channel, [post_item(p) for p in queries.latest_posts(limit)])

    return _respond("posts", fmt, queries.posts_version(limit), build)


@bp.route("/feeds/comments.atom", endpoint="comments_atom", defaults={"fmt": "atom"})
@bp.route("/feeds/comments.rss", endpoint="comments_rss", defaults={"fmt": "rss"})
def comments(fmt: Format):
    """Serve the latest approved comments across the blog, newest first."""
    limit = _limit("FEED_COMMENTS_LIMIT")

    def build() -> Channel:
        title = site().title
        channel = _channel(
            url_for("feeds.comments_atom", _external=True),
            f"Comments on {title}",
            f"The latest comments from the readers of {title}.",
            f"feeds.comments_{fmt}",
            url_for("posts.index", _external=True),
        )
        return _with_items(channel, [comment_item(c) for c in queries.latest_comments(limit)])

    return _respond("comments", fmt, queries.comments_version(limit), build)


@bp.route(POST_PATH + "comments.atom", endpoint="post_comments_atom", defaults={"fmt": "atom"})
@bp.route(PAGE_PATH + "comments.atom", endpoint="post_comments_atom", defaults={"fmt": "atom"})
@bp.route(POST_PATH + "comments.rss", endpoint="post_comments_rss", defaults={"fmt": "rss"})
@bp.route(PAGE_PATH + "comments.rss", endpoint="post_comments_rss", defaults={"fmt": "rss"})
def post_comments(slug: str, fmt: Format, year: int | None = None, month: int | None = None):
    """Serve one published post's (or page's) approved comments, newest first (closed too)."""
    ref = queries.public_post_ref(slug, PostKind.PAGE if year is None else PostKind.POST)
    if ref is None:
        abort(404)
    if year is not None:
        where = month_matches(ref.published_at, year, month)
        if where is False:
            abort(404)
        if where is None:  # the post moved to another month with the blog's time zone
            return moved(ref)
    limit = _limit("FEED_COMMENTS_LIMIT")

    def build() -> Channel:
        post, comments = queries.post_comments(ref, limit)
        channel = _channel(
            tag_uri(tag_authority(), ref.created_at, f"post-{ref.id}:comments"),
            f"Comments on “{post.title}”",
            f"Readers’ comments on “{post.title}”, {site().title}.",
            f"feeds.post_comments_{fmt}",
            post_url(post, _external=True, _anchor="comments"),
            **request.view_args,
        )
        return _with_items(channel, [comment_item(c) for c in comments])

    return _respond("post-comments", fmt, queries.post_comments_version(ref), build)


@bp.route("/tags/<tag>/feed.atom", endpoint="tag_atom", defaults={"fmt": "atom"})
@bp.route("/tags/<tag>/feed.rss", endpoint="tag_rss", defaults={"fmt": "rss"})
def tag(tag: str, fmt: Format):
    """Serve the latest published posts with a tag, newest first."""
    found = queries.tag_by_slug(tag)
    if found is None:
        abort(404)
    limit = _limit("FEED_POSTS_LIMIT")

    def build() -> Channel:
        channel = _channel(
            url_for("feeds.tag_atom", tag=found.slug, _external=True),
            f"{site().title}: posts tagged “{found.name}”",
            f"The latest posts tagged “{found.name}”.",
            f"feeds.tag_{fmt}",
            url_for("posts.tag", tag=found.slug, _external=True),
            tag=found.slug,
        )
        return _with_items(channel, [post_item(p) for p in queries.latest_posts(limit, found.id)])

    version = queries.posts_version(limit, found.id)
    key = (found.id, found.name, found.slug, *version.key)
    return _respond("tag", fmt, queries.Version(key, version.last_modified), build)
