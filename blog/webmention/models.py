"""Webmentions received (one row per source and post) and sent (one row per post and link)."""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from blog.extensions import db
from blog.models import Comment, Post, UTCDateTime, utcnow

# The longest source or target URL accepted (characters; the endpoint answers 400 beyond it).
MAX_URL = 2000


def url_key(url: str) -> str:
    """Return the fixed-size key a URL is looked up by (an index on 2,000 characters is not)."""
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()


class MentionKind(enum.StrEnum):
    REPLY = "reply"  # in-reply-to the post: shown as a comment (a Comment row)
    LIKE = "like"  # like-of: a name in the row under the post
    REPOST = "repost"  # repost-of: likewise
    MENTION = "mention"  # any other page that links to the post: listed under the comments


class MentionState(enum.StrEnum):
    QUEUED = "queued"  # received; the worker has not verified it yet
    VERIFIED = "verified"  # the source links to the post: shown or moderated
    REJECTED = "rejected"  # could not be verified (error says why); nothing is shown
    REMOVED = "removed"  # the source is gone (410) or no longer links: what it said is dropped


class Webmention(db.Model):
    """A page elsewhere that says it mentions one of our posts, and what we made of it.

    A reply lives on as a Comment (comment_id), moderated in the comment queue like any other;
    likes, reposts and mentions are moderated here (status, reason). Rows are written only by
    blog.webmention.store.
    """

    __table_args__ = (
        # Idempotence: one row per source and post, however often the source is sent.
        sa.UniqueConstraint("post_id", "source_key", name="uq_webmention_post_source"),
        # The post page's likes, reposts and mentions (its approved, verified rows).
        sa.Index("ix_webmention_post_state_status", "post_id", "state", "status"),
        # The back office's list, newest first.
        sa.Index("ix_webmention_updated_at", "updated_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    post_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("post.id", ondelete="CASCADE"))
    source: so.Mapped[str] = so.mapped_column(sa.String(MAX_URL))
    source_key: so.Mapped[str] = so.mapped_column(sa.String(64))
    # The target as the sender gave it: the source must link to exactly this.
    target: so.Mapped[str] = so.mapped_column(sa.String(MAX_URL))
    kind: so.Mapped[str] = so.mapped_column(sa.String(16), default=MentionKind.MENTION)
    state: so.Mapped[str] = so.mapped_column(sa.String(16), default=MentionState.QUEUED)
    # Moderation of likes, reposts and mentions (CommentStatus values); a reply's is its comment's.
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default="pending")
    reason: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    # Why the last verification failed or removed it, in plain words ("" when it passed).
    error: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    comment_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("comment.id", ondelete="SET NULL"), index=True
    )
    author_name: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    author_url: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    # Recorded for the back office, never shown as an image (see README: no hot-linking).
    author_photo: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    # Where it was written (the h-entry's url, e.g. a Mastodon post behind Bridgy), else source.
    url: so.Mapped[str] = so.mapped_column(sa.String(MAX_URL), default="")
    # Its title or the start of its text, plain, for the list of mentions.
    summary: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    published_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # The sender's address: the blocklist's IP rules, and the back office.
    ip: so.Mapped[str] = so.mapped_column(sa.String(45), default="")
    # How many times it was sent: each sending is verified again (the job key counts them).
    requests: so.Mapped[int] = so.mapped_column(default=0)
    received_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    verified_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    post: so.Mapped[Post] = so.relationship()
    comment: so.Mapped[Comment | None] = so.relationship()

    def __repr__(self) -> str:
        return f"<Webmention {self.id} {self.kind} {self.state} from {self.source}>"


class SendState(enum.StrEnum):
    QUEUED = "queued"  # a job will discover the endpoint and send
    SENT = "sent"  # the endpoint answered 2xx
    NO_ENDPOINT = "no_endpoint"  # the page announces no endpoint: nothing to send
    FAILED = "failed"  # discovery or sending failed (result says why)


class SentWebmention(db.Model):
    """A link from one of our posts to a page elsewhere, and what sending it a webmention gave.

    Kept after the link is removed (linked=False: a last webmention tells the page) and after
    the post is deleted (post_id NULL; source keeps the address that now answers 410).
    """

    __tablename__ = "sent_webmention"
    __table_args__ = (
        sa.UniqueConstraint("post_id", "target_key", name="uq_sent_webmention_post_target"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    post_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("post.id", ondelete="SET NULL"))
    source: so.Mapped[str] = so.mapped_column(sa.String(MAX_URL))
    target: so.Mapped[str] = so.mapped_column(sa.String(MAX_URL))
    target_key: so.Mapped[str] = so.mapped_column(sa.String(64))
    # False once the post no longer links to target (the last webmention tells it so).
    linked: so.Mapped[bool] = so.mapped_column(default=True)
    state: so.Mapped[str] = so.mapped_column(sa.String(16), default=SendState.QUEUED)
    endpoint: so.Mapped[str] = so.mapped_column(sa.String(MAX_URL), default="")
    http_status: so.Mapped[int | None] = so.mapped_column()
    # What happened, in plain words, for the editor ("202 Accepted", "no endpoint", "timed out").
    result: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    # Bumped each time a send is queued: the job's key, so each edit sends once.
    round: so.Mapped[int] = so.mapped_column(default=0)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    attempted_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<SentWebmention {self.id} {self.state} to {self.target}>"
