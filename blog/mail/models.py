"""Readers' addresses and subscriptions, and every mail the blog sends (its outbox of mail)."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from blog.extensions import db
from blog.models import Comment, Post, UTCDateTime, utcnow


def new_key() -> str:
    return secrets.token_urlsafe(12)


class MailAddress(db.Model):
    """A reader's address: confirmed once (double opt-in), then good for every subscription."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # Lower case: one row per mailbox however it was typed.
    email: so.Mapped[str] = so.mapped_column(sa.String(254), unique=True)
    # Part of every signed link: a new key (after "unsubscribe from everything") voids old links.
    key: so.Mapped[str] = so.mapped_column(sa.String(32), default=new_key)
    confirmed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # The last confirmation mail: at most one an hour, however many forms name the address.
    confirm_sent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # Why the mail server refused it for good ("550 no such user"); such an address gets nothing.
    bounced: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    subscriptions: so.WriteOnlyMapped[Subscription] = so.relationship(
        back_populates="address", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None


class Subscription(db.Model):
    """An address following a post: every new comment (comment_id None) or replies to one."""

    __table_args__ = (
        sa.UniqueConstraint("address_id", "post_id", "comment_id"),
        # The fan-out's question: who follows this post?
        sa.Index("ix_subscription_post_id", "post_id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    address_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("mail_address.id", ondelete="CASCADE")
    )
    post_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("post.id", ondelete="CASCADE"))
    # The top-level comment whose replies are wanted; None: every comment on the post.
    comment_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("comment.id", ondelete="CASCADE"), index=True
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    address: so.Mapped[MailAddress] = so.relationship(back_populates="subscriptions")
    post: so.Mapped[Post] = so.relationship()
    comment: so.Mapped[Comment | None] = so.relationship()

    @property
    def kind(self) -> str:
        return "all" if self.comment_id is None else "replies"


class MailKind(enum.StrEnum):
    CONFIRM = "confirm"  # a reader confirms an address
    COMMENT = "comment"  # a new comment, to a subscriber or to the writer
    HELD = "held"  # a comment waits for the writer's moderation
    DIGEST = "digest"  # what the hourly limit held back, in one mail
    DAILY = "daily"  # the writer's daily digest
    EMAIL_CHANGE = "email_change"  # the writer confirms a new address


# Kinds that wait for the hourly limit (a confirmation has its own, one an hour; a daily
# digest comes once a day).
LIMITED_KINDS = frozenset({MailKind.COMMENT, MailKind.HELD})


class MailStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting for its mail.send job
    SENDING = "sending"  # handed to the server; sent_at comes when the server accepts it
    SENT = "sent"
    HELD = "held"  # over the hourly limit: goes out in the next digest
    DIGESTED = "digested"  # went out in a digest (digest_id)
    CANCELLED = "cancelled"  # no longer wanted (unsubscribed, comment removed...)
    FAILED = "failed"  # refused by the server for good (error says why); kept for a retry


class MailMessage(db.Model):
    """One mail to one address: composed once, sent by a mail.send job, marked when accepted."""

    __table_args__ = (
        # The hourly limit counts an address's recent mail; the digest finds what was held.
        sa.Index("ix_mail_message_to_claimed", "to_address", "claimed_at"),
        sa.Index("ix_mail_message_to_status", "to_address", "status"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # The Message-ID header, fixed when the row is made: a resent mail is the same message.
    message_id: so.Mapped[str] = so.mapped_column(sa.String(250), unique=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(20))
    to_address: so.Mapped[str] = so.mapped_column(sa.String(254))
    # Who it is for: a reader's address, or the writer.
    address_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("mail_address.id", ondelete="SET NULL"), index=True
    )
    user_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    post_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("post.id", ondelete="SET NULL"), index=True
    )
    comment_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("comment.id", ondelete="SET NULL"), index=True
    )
    # One mail per (event, recipient), however often the fan-out runs ("c12:a5").
    dedupe: so.Mapped[str | None] = so.mapped_column(sa.String(120), unique=True)
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default=MailStatus.QUEUED)
    subject: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    text_body: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    html_body: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    # Headers beyond From/To/Subject, fixed at composition (Date, threading, List-*).
    headers: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON, default=dict)
    # The server's last refusal of it ("550 No such user").
    error: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    # The digest that carried it (a MailMessage id).
    digest_id: so.Mapped[int | None] = so.mapped_column()
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    claimed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    sent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    post: so.Mapped[Post | None] = so.relationship()
    comment: so.Mapped[Comment | None] = so.relationship()

    @property
    def composed(self) -> bool:
        return bool(self.subject)
