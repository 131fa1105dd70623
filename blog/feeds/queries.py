"""The database reads behind the feeds: their entries, and the cheap versions that validate them.

A version is read through indexes without loading any body or building any XML: the ids and
revisions of exactly the rows the feed would show (Post.revision is bumped by every change to a
post or its comments), plus the newest time among them for Last-Modified. Anything that changes
a feed changes its version, so the ETag, and any cache keyed by it, can never be stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from blog.extensions import db
from blog.feeds.build import EPOCH
from blog.models import Comment, CommentStatus, Post, PostKind, Tag, User, post_tags, utcnow


@dataclass(frozen=True)
class Version:
    """What a feed's content depends on (hashed into the ETag) and when it last changed."""

    key: tuple
    last_modified: datetime


@dataclass(frozen=True)
class PostRef:
    """The few columns of a public post that its comment feed needs to answer a 304."""

    id: int
    title: str
    slug: str
    published_at: datetime
    created_at: datetime
    updated_at: datetime
    revision: int
    approved: int
    newest_comment_id: int | None
    newest_comment_at: datetime | None  # the last comment posted or edited


def _newest(*times: datetime | None) -> datetime:
    return max((t for t in times if t is not None), default=EPOCH)


def _public_posts(tag_id: int | None) -> sa.Select:
    select = Post.published()
    if tag_id is not None:
        select = select.join(post_tags, post_tags.c.post_id == Post.id).where(
            post_tags.c.tag_id == tag_id
        )
    return select


# The version reads run on every request, 304s included, so their statements are built once
# (with bound "now", "limit", ...) and run on the connection without the ORM: building an
# SQLAlchemy statement costs more than running it. They mirror Post.public_filter().
_PUBLIC = Post.public_filter(sa.bindparam("now"))
_NEWEST_POSTS = (Post.published_at.desc(), Post.id.desc())
# A post's tags change only through save_post(), which bumps its revision; a tag keeps its
# name for good (tags_from_names() finds tags by slug), so the names need not be read here.
_POSTS_VERSION = (
    sa.select(Post.id, Post.revision, Post.published_at, Post.updated_at, User.display_name)
    .join(User, User.id == Post.author_id)
    .where(_PUBLIC)
    .order_by(*_NEWEST_POSTS)
    .limit(sa.bindparam("limit"))
)
_TAG_POSTS_VERSION = _POSTS_VERSION.join(post_tags, post_tags.c.post_id == Post.id).where(
    post_tags.c.tag_id == sa.bindparam("tag_id")
)


def _run(statement: sa.Select, **params) -> list[sa.Row]:
    return db.session.connection().execute(statement, {"now": utcnow(), **params}).all()


def posts_version(limit: int, tag_id: int | None = None) -> Version:
    """Return the version of the latest public posts (optionally with one tag)."""
    if tag_id is None:
        rows = _run(_POSTS_VERSION, limit=limit)
    else:
        rows = _run(_TAG_POSTS_VERSION, limit=limit, tag_id=tag_id)
    rows = [tuple(row) for row in rows]
    return Version(tuple(rows), _newest(*(r[2] for r in rows), *(r[3] for r in rows)))


def latest_posts(limit: int, tag_id: int | None = None) -> list[Post]:
    """Return the latest public posts, newest first, with author and tags loaded."""
    return list(db.session.scalars(_public_posts(tag_id).limit(limit)))


def _approved_on_public_posts() -> sa.Select:
    return (
        sa.select(Comment)
        .join(Comment.post)
        .where(Comment.status == CommentStatus.APPROVED, Post.public_filter())
        .order_by(Comment.created_at.desc(), Comment.id.desc())
    )


# A comment's last change: its edit, else its posting (the entry's <updated>).
_CHANGED_AT = sa.func.coalesce(Comment.edited_at, Comment.created_at)
_COMMENTS_VERSION = (
    sa.select(Comment.id, _CHANGED_AT, Post.id, Post.revision, Post.updated_at)
    .join(Post, Post.id == Comment.post_id)
    .where(Comment.status == CommentStatus.APPROVED, _PUBLIC)
    .order_by(Comment.created_at.desc(), Comment.id.desc())
    .limit(sa.bindparam("limit"))
)


def comments_version(limit: int) -> Version:
    """Return the version of the latest approved comments on public posts."""
    rows = [tuple(row) for row in _run(_COMMENTS_VERSION, limit=limit)]
    return Version(tuple(rows), _newest(*(r[1] for r in rows), *(r[4] for r in rows)))


_POST_FOR_COMMENTS = (
    so.load_only(Post.id, Post.title, Post.slug, Post.kind, Post.published_at, Post.created_at),
    so.raiseload(Post.author),
    so.raiseload(Post.tags),
)


def latest_comments(limit: int) -> list[Comment]:
    """Return the latest approved comments on public posts, newest first, each with its post."""
    select = _approved_on_public_posts().options(
        so.contains_eager(Comment.post).options(*_POST_FOR_COMMENTS)
    )
    return list(db.session.scalars(select.limit(limit)))


_APPROVED_HERE = sa.and_(Comment.post_id == Post.id, Comment.status == CommentStatus.APPROVED)
_POST_REF = sa.select(
    Post.id,
    Post.title,
    Post.slug,
    Post.published_at,
    Post.created_at,
    Post.updated_at,
    Post.revision,
    sa.select(sa.func.count(Comment.id)).where(_APPROVED_HERE).scalar_subquery(),
    sa.select(sa.func.max(Comment.id)).where(_APPROVED_HERE).scalar_subquery(),
    sa.select(sa.func.max(_CHANGED_AT)).where(_APPROVED_HERE).scalar_subquery(),
).where(
    Post.slug == sa.bindparam("slug"),
    Post.kind == sa.bindparam("kind"),
    Post.visible_filter(sa.bindparam("now")),
)


def public_post_ref(slug: str, kind: str = PostKind.POST) -> PostRef | None:
    """Return the public post (or page) with this slug and its comment totals, in one query.

    The caller checks the month of a post's address (blog.permalinks.month_matches)."""
    rows = _run(_POST_REF, slug=slug, kind=kind)
    return PostRef(*rows[0]) if rows else None


def post_comments_version(ref: PostRef) -> Version:
    """Return the version of one post's comment feed (nothing more to read than the ref)."""
    key = (ref.id, ref.revision, ref.approved, ref.newest_comment_id, ref.slug, ref.title)
    # The post's own edits count too: its title is in every entry's title.
    return Version(key, _newest(ref.newest_comment_at, ref.updated_at))


def post_comments(ref: PostRef, limit: int) -> tuple[Post, list[Comment]]:
    """Return the post and its latest approved comments, newest first."""
    post = db.session.get(Post, ref.id, options=_POST_FOR_COMMENTS)
    comments = db.session.scalars(
        sa.select(Comment)
        .where(Comment.post_id == ref.id, Comment.status == CommentStatus.APPROVED)
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(limit)
    )
    return post, list(comments)


_TAG = sa.select(Tag.id, Tag.name, Tag.slug).where(Tag.slug == sa.bindparam("slug"))


def tag_by_slug(slug: str) -> sa.Row | None:
    """Return the id, name and slug of the tag with this slug."""
    rows = _run(_TAG, slug=slug)
    return rows[0] if rows else None
