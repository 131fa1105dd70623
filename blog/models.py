"""The data: users, posts, comments, tags, settings, and the queries that read them."""

from __future__ import annotations

import enum
import functools
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import has_app_context
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from blog.extensions import db, request_cache
from blog.prepared import Prepared


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored naive in UTC and always read back timezone-aware."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use an aware one (UTC)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class PostStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    SCHEDULED = "scheduled"


# A scheduled post goes public by itself when its published_at passes: no job flips its status.
VISIBLE_STATUSES = (PostStatus.PUBLISHED, PostStatus.SCHEDULED)


class PostKind(enum.StrEnum):
    """A dated post (listings, feeds, archives) or a page (About, Colophon: /<slug>/, undated)."""

    POST = "post"
    PAGE = "page"


class CommentStatus(enum.StrEnum):
    APPROVED = "approved"
    PENDING = "pending"
    SPAM = "spam"
    # Deleted by its author while it had replies: kept, emptied, as "This comment was deleted"
    # so the thread still reads (blog.comments.store.withdraw). Never counted or in a feed.
    DELETED = "deleted"


class CommentFormat(enum.StrEnum):
    """How a comment's text becomes HTML (blog.comments.formatting)."""

    TEXT = "text"  # plain text with line breaks and a few tags: imported and older comments
    MARKDOWN = "markdown"  # CommonMark: comments written since Markdown came


class WriterNotify(enum.StrEnum):
    """Which comments the writer hears about by mail (held ones always, but with NONE)."""

    HELD = "held"  # only comments held for moderation
    EACH = "each"  # every new comment, one mail each
    DAILY = "daily"  # held ones at once, and a daily digest of the day's comments
    NONE = "none"  # no mail about comments


post_tags = sa.Table(
    "post_tags",
    db.metadata,
    sa.Column("post_id", sa.ForeignKey("post.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("tag_id", sa.ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True),
    sa.Index("ix_post_tags_tag_id", "tag_id", "post_id"),
)


class User(UserMixin, db.Model):
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    username: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    display_name: so.Mapped[str] = so.mapped_column(sa.String(120))
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(256))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    # Where the writer's notifications go (blog.mail); "" = none. A new address waits in
    # email_pending until a link sent to it is followed.
    email: so.Mapped[str] = so.mapped_column(sa.String(254), default="", server_default="")
    email_pending: so.Mapped[str] = so.mapped_column(sa.String(254), default="", server_default="")
    # Which comments the writer hears about by mail (WriterNotify).
    notify: so.Mapped[str] = so.mapped_column(sa.String(16), default="held", server_default="held")

    posts: so.WriteOnlyMapped[Post] = so.relationship(back_populates="author")
    logins: so.WriteOnlyMapped[Login] = so.relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    # The token of the login this object was loaded for (blog.sessions sets it). Flask-Login
    # keeps get_id() in the session and the remember-me cookie: a login's random token, never
    # the user's number, so ending the login (its row deleted) voids both cookies.
    login_token = None

    def get_id(self) -> str:
        if not self.login_token:
            raise RuntimeError("log users in through blog.sessions.start_login()")
        return self.login_token

    def set_password(self, password: str) -> None:
        """Set a new password; every login of the account ends (a stolen cookie dies with it)."""
        self.password_hash = generate_password_hash(password)
        if self.id is not None:
            db.session.execute(sa.delete(Login).where(Login.user_id == self.id))

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class Login(db.Model):
    """One signed-in browser: the server side of its session and remember-me cookies.

    The cookies carry a random token; only its SHA-256 is stored, so the table alone logs
    nobody in. Logging out deletes the row, and with it every copy of those cookies.
    """

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    remember: so.Mapped[bool] = so.mapped_column(default=False)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    # Updated at most every few minutes (blog.sessions.SEEN_EVERY), never on every page view.
    last_seen_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    # When the server stops honouring the cookies, whatever the browser keeps.
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    user_agent: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    ip: so.Mapped[str] = so.mapped_column(sa.String(45), default="")

    user: so.Mapped[User] = so.relationship(back_populates="logins", lazy="joined")

    def __repr__(self) -> str:
        return f"<Login {self.id} of user {self.user_id}>"


class Tag(db.Model):
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(80))
    slug: so.Mapped[str] = so.mapped_column(sa.String(100), unique=True)

    posts: so.Mapped[list[Post]] = so.relationship(
        secondary=post_tags, back_populates="tags", lazy="raise_on_sql"
    )

    def __repr__(self) -> str:
        return f"<Tag {self.slug}>"


class Post(db.Model):
    __table_args__ = (
        # Listings, archives and prev/next walk posts by publication time (newest first, id
        # breaking ties); the status check reads the row. Slugs have their unique index.
        sa.Index("ix_post_published_at_id", "published_at", "id"),
        # The newest change to any post: part of the sitemap's version, read on every request.
        sa.Index("ix_post_updated_at", "updated_at"),
        # The few pages, in navigation order, without walking the posts (a post's nav_order
        # is NULL). Not on kind: an index on kind tempted SQLite into reading every post
        # through it, then sorting them (feeds, listings). Not partial (WHERE kind = 'page')
        # either: SQLite then re-prepares, before every run, each statement comparing kind to
        # a bound parameter, which made the post page's key read 7 times slower.
        sa.Index("ix_post_nav_order", "nav_order"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(300))
    slug: so.Mapped[str] = so.mapped_column(sa.String(200), unique=True)
    body: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    body_html: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    # The text of body_html without markup, made with it at write time: what search indexes
    # (blog/search) and what its snippets are cut from.
    body_text: so.Mapped[str] = so.mapped_column(sa.Text, default="", server_default="")
    excerpt: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default=PostStatus.DRAFT)
    published_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    author_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"), index=True)
    comments_open: so.Mapped[bool] = so.mapped_column(default=True)
    # Approved comments, kept in step by Comment writes so listings need no COUNT per post.
    comment_count: so.Mapped[int] = so.mapped_column(default=0)
    # Bumped on every change to the post or its comments: the key for caches and ETags.
    revision: so.Mapped[int] = so.mapped_column(default=1)
    # The page elsewhere this post answers (the editor's "In reply to"): marked u-in-reply-to,
    # and sent a webmention like every link of the post.
    in_reply_to: so.Mapped[str] = so.mapped_column(sa.String(2000), default="", server_default="")
    kind: so.Mapped[str] = so.mapped_column(
        sa.String(8), default=PostKind.POST, server_default=PostKind.POST
    )
    # A page's place in the site's navigation (lowest first); None keeps it out of it.
    nav_order: so.Mapped[int | None] = so.mapped_column()

    author: so.Mapped[User] = so.relationship(back_populates="posts", lazy="joined")
    tags: so.Mapped[list[Tag]] = so.relationship(
        secondary=post_tags, back_populates="posts", order_by="Tag.name", lazy="selectin"
    )
    comments: so.WriteOnlyMapped[Comment] = so.relationship(
        back_populates="post", cascade="all, delete-orphan", passive_deletes=True
    )
    legacy_paths: so.WriteOnlyMapped[LegacyPath] = so.relationship(
        back_populates="post", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def is_public(self) -> bool:
        """Return True when readers may see the post now."""
        return (
            self.status in VISIBLE_STATUSES
            and self.published_at is not None
            and self.published_at <= utcnow()
        )

    @property
    def is_page(self) -> bool:
        return self.kind == PostKind.PAGE

    def touch(self) -> None:
        """Mark the post changed for caches, feeds and ETags."""
        self.revision = (self.revision or 0) + 1

    def __repr__(self) -> str:
        return f"<Post {self.slug}>"

    @staticmethod
    def published(
        start: datetime | None = None, end: datetime | None = None
    ) -> sa.Select[tuple[Post]]:
        """Select the posts readers may see, newest first; published in [start, end) if given."""
        now = utcnow()
        if end is None or end > now:
            select = sa.select(Post).where(Post.public_filter(now))
        else:
            # One upper bound only: given "<= now" and "< end", SQLite ranges over one of them
            # and may pick "<= now", walking every newer post (an archive at 100,000 posts).
            select = sa.select(Post).where(
                Post.kind == PostKind.POST,
                Post.status.in_(VISIBLE_STATUSES),
                Post.published_at < end,
            )
        if start is not None:
            select = select.where(Post.published_at >= start)
        return select.order_by(Post.published_at.desc(), Post.id.desc())

    @staticmethod
    def visible_filter(now: Any = None) -> sa.ColumnElement[bool]:
        """Posts and pages readers may see: published, or scheduled and due (now: a time or
        bindparam)."""
        return sa.and_(
            Post.status.in_(VISIBLE_STATUSES),
            Post.published_at <= (utcnow() if now is None else now),
        )

    @staticmethod
    def is_page_filter() -> sa.ColumnElement[bool]:
        """Pages only."""
        return Post.kind == PostKind.PAGE

    @staticmethod
    def public_filter(now: Any = None) -> sa.ColumnElement[bool]:
        """Published posts, and scheduled posts whose time has come: never a page.

        Listings, archives, feeds and previous/next read posts through this; pages are found
        by slug alone (Post.visible_filter). The kind is read from the row like the status, so
        the index walks stay the same.
        """
        return sa.and_(Post.kind == PostKind.POST, Post.visible_filter(now))

    @staticmethod
    def public_page_filter(now: Any = None) -> sa.ColumnElement[bool]:
        """Pages readers may see at /<slug>/: published, or scheduled and due."""
        return sa.and_(Post.is_page_filter(), Post.visible_filter(now))

    def previous_post(self) -> Post | None:
        """Return the published post just before this one."""
        statement = _neighbours()["older" if self.is_public else "older, visible now"]
        return db.session.scalar(statement, self._place())

    def next_post(self) -> Post | None:
        """Return the published post just after this one."""
        return db.session.scalar(_neighbours()["newer"], self._place())

    def _place(self) -> dict[str, Any]:
        """This post's place among the others: the parameters of _neighbours()' statements."""
        return {"at": self.published_at, "post_id": self.id, "now": utcnow()}

    def approved_comments(self, with_deleted: bool = False) -> list[Comment]:
        """Return the approved comments, oldest first; with_deleted: and those kept, emptied,
        for their replies (CommentStatus.DELETED), where the thread shows them."""
        statuses = [CommentStatus.APPROVED]
        if with_deleted:
            statuses.append(CommentStatus.DELETED)
        return list(
            db.session.scalars(
                sa.select(Comment)
                .where(Comment.post_id == self.id, Comment.status.in_(statuses))
                .order_by(Comment.created_at, Comment.id)
            )
        )


@functools.cache
def _neighbours() -> dict[str, sa.Select[tuple[Post]]]:
    """The statements of Post.previous_post() and next_post(), built once (a rendered post page
    cost 1.5 ms more building them each time): title and URL parts only."""
    neighbour = sa.select(Post).options(
        so.load_only(Post.id, Post.title, Post.slug, Post.kind, Post.published_at),
        so.lazyload(Post.author),
        so.lazyload(Post.tags),
    )
    place = sa.tuple_(
        sa.bindparam("at", type_=UTCDateTime()), sa.bindparam("post_id", type_=sa.Integer())
    )
    row = sa.tuple_(Post.published_at, Post.id)
    now = sa.bindparam("now", type_=UTCDateTime())
    # A row-value comparison is one index range; the equivalent OR was not and scanned every
    # newer post (30 ms in the middle of 100,000 posts). Older than a public post is public
    # once visible: a second upper bound ("<= now") would only tempt SQLite to range over that
    # one instead, so it is there only for a post not public itself.
    older = neighbour.where(
        Post.kind == PostKind.POST, Post.status.in_(VISIBLE_STATUSES), row < place
    )
    newest_first = (Post.published_at.desc(), Post.id.desc())
    return {
        "older": older.order_by(*newest_first).limit(1),
        "older, visible now": older.where(Post.published_at <= now)
        .order_by(*newest_first)
        .limit(1),
        "newer": neighbour.where(Post.public_filter(now), row > place)
        .order_by(Post.published_at.asc(), Post.id.asc())
        .limit(1),
    }


class Comment(db.Model):
    __table_args__ = (
        sa.Index("ix_comment_post_status_id", "post_id", "status", "id"),
        # One post's approved comments by time (its comment feed, newest first), read without
        # walking every approved comment of the blog.
        sa.Index("ix_comment_post_status_created_at", "post_id", "status", "created_at"),
        sa.Index("ix_comment_status_created_at", "status", "created_at"),
        sa.Index("ix_comment_ip_created_at", "ip", "created_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    post_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("post.id", ondelete="CASCADE"))
    parent_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("comment.id", ondelete="SET NULL"), index=True
    )
    # Set when the writer comments while logged in: the page marks it as the author's.
    user_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    author_name: so.Mapped[str] = so.mapped_column(sa.String(100))
    author_email: so.Mapped[str] = so.mapped_column(sa.String(254), default="")
    author_url: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    body_html: so.Mapped[str] = so.mapped_column(sa.Text)
    # What body is written in; rendering (and flask rerender) follows it.
    format: so.Mapped[str] = so.mapped_column(
        sa.String(16), default=CommentFormat.TEXT, server_default=CommentFormat.TEXT.value
    )
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default=CommentStatus.APPROVED)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    # When its author (or the writer) last changed the text: shown as "edited".
    edited_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    ip: so.Mapped[str] = so.mapped_column(sa.String(45), default="")
    user_agent: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    # Why a rule held or binned it, shown to the writer in the queue.
    reason: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    # A reply written on another site and received as a webmention: where it was written
    # (shown as "replied on <site>"). Empty for comments posted here.
    source_url: so.Mapped[str] = so.mapped_column(sa.String(2000), default="", server_default="")

    post: so.Mapped[Post] = so.relationship(back_populates="comments")
    parent: so.Mapped[Comment | None] = so.relationship(remote_side=[id])
    user: so.Mapped[User | None] = so.relationship()

    def __repr__(self) -> str:
        return f"<Comment {self.id} on post {self.post_id}>"


class LegacyPath(db.Model):
    """An old URL of an imported blog that redirects (301) to where that content lives now.

    target says where (blog/porting/legacy.py has the list): a post or its comment feed
    (post_id), a tag's page or feed (tag_id: an old category), or a page that needs neither
    (the home page, a month's archive, the site feeds)."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    path: so.Mapped[str] = so.mapped_column(sa.String(500), unique=True)
    post_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("post.id", ondelete="CASCADE"))
    tag_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("tag.id", ondelete="CASCADE"), index=True
    )
    target: so.Mapped[str] = so.mapped_column(sa.String(20), default="post")
    # How the address became known: "export" (the export named it), "rebuilt" (made from the
    # title the way the old platform did), "list" (an --old-urls list), "archive", "feed".
    origin: so.Mapped[str] = so.mapped_column(
        sa.String(20), default="export", server_default="export"
    )

    post: so.Mapped[Post | None] = so.relationship(back_populates="legacy_paths")
    tag: so.Mapped[Tag | None] = so.relationship()


class GonePost(db.Model):
    """The address of a deleted post: it answers 410 Gone, so sites it mentioned drop it."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    path: so.Mapped[str] = so.mapped_column(sa.String(500), unique=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    deleted_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class Setting(db.Model):
    """A site setting kept in the database (discussion policy, site settings and the like).

    A request reads every row once (a handful of small rows) and keeps them while it runs, so
    the site settings, the navigation and the discussion policy cost one query together.
    Every write of a setting pages show bumps the "revision" row: the settings' version, for
    caches of whole pages.
    """

    REVISION = "revision"

    key: so.Mapped[str] = so.mapped_column(sa.String(64), primary_key=True)
    value: so.Mapped[Any] = so.mapped_column(sa.JSON)

    @staticmethod
    def snapshot() -> dict[str, Any]:
        """Return every setting by key, read from the database once per request.

        A prebuilt statement on the session's connection (blog.prepared): through the ORM the
        read cost 0.24 ms of CPU, this way 0.14. What the request changed is flushed first, as
        the ORM's autoflush did, so settings saved in this request are read back.
        """
        cache = request_cache() if has_app_context() else {}
        if "settings" not in cache:
            if db.session.new or db.session.dirty or db.session.deleted:
                db.session.flush()
            cache["settings"] = dict(_ALL_SETTINGS.run_in_session())
        return cache["settings"]

    @staticmethod
    def stored_text(key: str) -> sa.ScalarSelect:
        """The stored text of one setting, as a column of another statement: for the reads
        that must stay one statement (a cached page's key, posting a comment), parsed there."""
        text = sa.select(sa.cast(Setting.value, sa.Text)).where(Setting.key == key)
        return text.scalar_subquery()

    @staticmethod
    def get(key: str, default: Any = None) -> Any:
        value = Setting.snapshot().get(key)
        return default if value is None else value

    @staticmethod
    def put(key: str, value: Any, *, shown: bool = True) -> None:
        """Store a setting and bump the settings' revision (the caller commits).

        shown=False for a setting no page shows (the worker's heartbeat, every minute; the
        setup token): it must not make every cached page stale.
        """
        row = db.session.get(Setting, key)
        if row is None:
            db.session.add(Setting(key=key, value=value))
        else:
            row.value = value
        if not shown:
            if has_app_context():
                request_cache().pop("settings", None)
            return
        # Locked while bumped: two writers at once still give two revisions (PostgreSQL).
        revision = db.session.get(
            Setting, Setting.REVISION, with_for_update=True, populate_existing=True
        )
        if revision is None:
            db.session.add(Setting(key=Setting.REVISION, value=1))
        else:
            revision.value = int(revision.value or 0) + 1
        if has_app_context():
            request_cache().pop("settings", None)

    @staticmethod
    def delete(key: str) -> None:
        """Remove a setting (the caller commits)."""
        row = db.session.get(Setting, key)
        if row is not None:
            db.session.delete(row)
        if has_app_context():
            request_cache().pop("settings", None)

    @staticmethod
    def revision() -> int:
        """Return the settings' version: it changes whenever any setting does."""
        return int(Setting.get(Setting.REVISION, 0))


_ALL_SETTINGS = Prepared(sa.select(Setting.key, Setting.value))
