"""Sending: the "mail.send" job (one stored message), the hourly limit, and the digest.

A message is sent in three steps, none holding a transaction open while the server is talked to:
  1. decide (write transaction): still wanted? within the address's hourly limit? -> "sending"
     (over the limit it is held for the digest instead, and the digest job is recorded)
  2. hand it to the server (or the .eml folder), which accepts it or raises
  3. mark it sent (write transaction), only after the server accepted it
A worker killed before step 3 leaves the message "sending"; its job runs again and sends the
same bytes with the same Message-ID. So nothing is lost, and nothing is sent twice unless the
kill falls between the server's "250 OK" and the mark, a few milliseconds; even then the copy
carries the same Message-ID, which mail clients and mailbox providers use to drop duplicates.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from blog.extensions import db, write_transaction
from blog.jobs import outbox
from blog.jobs.models import Job
from blog.jobs.registry import PermanentError, Postpone
from blog.mail import compose, fanout, transport
from blog.mail.models import (
    LIMITED_KINDS,
    MailAddress,
    MailKind,
    MailMessage,
    MailStatus,
    Subscription,
)
from blog.models import CommentStatus, User, WriterNotify, utcnow

WINDOW = timedelta(hours=1)
FINAL = (MailStatus.SENT, MailStatus.DIGESTED, MailStatus.CANCELLED, MailStatus.HELD)


def send(job: Job) -> None:
    """ "mail.send": send one stored message, at most once per server acceptance."""
    with write_transaction():
        row = db.session.get(MailMessage, job.payload["message"])
        if row is None or row.status in FINAL:
            return
        why_not = unwanted(row)
        if why_not:
            row.status = MailStatus.CANCELLED
            return
        now = utcnow()
        if row.kind in LIMITED_KINDS:
            _lock_address(row.to_address)
            recent = _recent(row.to_address, now, exclude=row.id)
            if len(recent) >= current_app.config["MAIL_HOURLY_LIMIT"]:
                row.status = MailStatus.HELD
                when = min(recent) + WINDOW
                outbox.record(
                    "mail.digest",
                    {"to": row.to_address},
                    key=f"mail.digest:{row.to_address}:{int(when.timestamp())}",
                    run_after=when,
                )
                return
        row.status = MailStatus.SENDING
        row.claimed_at = now
        email = compose.email_message(row)
        address_id = row.address_id
    try:
        transport.send(email)
    except PermanentError as refused:
        if address_id is not None:
            with write_transaction():
                address = db.session.get(MailAddress, address_id)
                if address is not None:
                    address.bounced = str(refused)[:500]
        raise
    with write_transaction():
        db.session.execute(
            sa.update(MailMessage)
            .where(MailMessage.id == job.payload["message"])
            .values(status=MailStatus.SENT, sent_at=utcnow())
        )
        if address_id is not None:
            db.session.execute(
                sa.update(MailAddress)
                .where(MailAddress.id == address_id, MailAddress.bounced != "")
                .values(bounced="")
            )


def _recent(to: str, now: datetime, exclude: int | None = None) -> list[datetime]:
    """When each mail of the last hour to this address was handed to the server."""
    return list(
        db.session.scalars(
            sa.select(MailMessage.claimed_at).where(
                MailMessage.to_address == to,
                MailMessage.claimed_at >= now - WINDOW,
                MailMessage.status.in_((MailStatus.SENDING, MailStatus.SENT)),
                MailMessage.id != (exclude or 0),
            )
        )
    )


def _lock_address(to: str) -> None:
    """Count and claim one address's mail one worker at a time (SQLite: the write lock does)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(to))))


def unwanted(row: MailMessage) -> str:
    """Say why a queued message should no longer go out ("" when it should)."""
    comment = row.comment
    if row.kind in (MailKind.COMMENT, MailKind.HELD) and row.comment_id is None:
        return "the comment was deleted"
    if row.kind == MailKind.COMMENT and comment.status != CommentStatus.APPROVED:
        return "the comment is no longer published"
    if row.kind == MailKind.HELD and comment.status != CommentStatus.PENDING:
        return "the comment was moderated meanwhile"
    if row.user_id is not None:
        user = db.session.get(User, row.user_id)
        if user is None:
            return "the account is gone"
        if row.kind == MailKind.EMAIL_CHANGE:
            return "" if user.email_pending == row.to_address else "another address was chosen"
        if user.email != row.to_address:
            return "the writer's address changed"
        if user.notify == WriterNotify.NONE:
            return "the writer turned comment mail off"
        if row.kind == MailKind.COMMENT and user.notify != WriterNotify.EACH:
            return "the writer no longer wants every comment"
        return ""
    address = db.session.get(MailAddress, row.address_id) if row.address_id else None
    if address is None:
        return "the address was removed"
    if row.kind == MailKind.CONFIRM:
        return "the address is confirmed already" if address.confirmed else ""
    if not address.confirmed:
        return "the address is not confirmed"
    if row.kind == MailKind.COMMENT:
        follows = db.session.scalar(
            sa.select(Subscription.id)
            .where(Subscription.address_id == address.id, Subscription.post_id == row.post_id)
            .limit(1)
        )
        if follows is None:
            return "the reader unsubscribed from this post"
    return ""


def digest(job: Job) -> None:
    """ "mail.digest": what the hourly limit held back for one address, in one mail."""
    to = job.payload["to"]
    held = db.session.scalars(
        sa.select(MailMessage)
        .where(MailMessage.to_address == to, MailMessage.status == MailStatus.HELD)
        .order_by(MailMessage.id)
    ).all()
    wanted = [row for row in held if not unwanted(row)]
    dropped = [row.id for row in held if row not in wanted]
    if dropped:
        with write_transaction():
            db.session.execute(
                sa.update(MailMessage)
                .where(MailMessage.id.in_(dropped))
                .values(status=MailStatus.CANCELLED)
            )
    if not wanted:
        return
    now = utcnow()
    recent = _recent(to, now)
    if len(recent) >= current_app.config["MAIL_HOURLY_LIMIT"]:
        raise Postpone(min(recent) + WINDOW, "the address's hourly limit is still reached")
    first = wanted[0]
    if first.user_id is not None:
        recipient = fanout.writer(
            db.session.get(User, first.user_id), "you are the writer of this blog"
        )
    else:
        recipient = fanout.reader(
            db.session.get(MailAddress, first.address_id), None, "you subscribed to comments"
        )
    comments = [row.comment for row in wanted]
    row = fanout.message(
        MailKind.DIGEST,
        recipient,
        dedupe=f"digest-j{job.id}:{wanted[-1].id}",
        subject=f"{len(comments)} new comments on {current_app.config['SITE_TITLE']}",
        template="digest",
        items=fanout.digest_items(comments),
        count=len(comments),
        daily=False,
        limit=current_app.config["MAIL_HOURLY_LIMIT"],
    )
    ids = [held_row.id for held_row in wanted]
    new = fanout.store([row])
    with write_transaction():
        db.session.execute(
            sa.update(MailMessage)
            .where(MailMessage.id.in_(ids), MailMessage.status == MailStatus.HELD)
            .values(status=MailStatus.DIGESTED, digest_id=new[0] if new else None)
        )


def describe(job: Job) -> str:
    """What a mail job is about, for the back office's list of jobs."""
    if job.kind == "mail.send":
        row = db.session.get(MailMessage, job.payload.get("message") or 0)
        if row is None:
            return "A mail that no longer exists"
        return f"Mail to {row.to_address}: {row.subject or row.kind}"
    labels = {
        "mail.comment": "Mails about comment {comment}",
        "mail.held": "Moderation mail about comment {comment}",
        "mail.confirm": "Confirmation mail for a subscription",
        "mail.email_change": "Confirmation of the writer's new address",
        "mail.digest": "Digest to {to}",
        "mail.daily": "Daily digest of {day}",
    }
    try:
        return labels[job.kind].format(**job.payload)
    except (KeyError, IndexError):
        return job.kind


def prune() -> int:
    """Delete mail finished long ago (JOBS_KEEP_DAYS): sent, digested, cancelled."""
    before = utcnow() - timedelta(days=current_app.config["JOBS_KEEP_DAYS"])
    done = (MailStatus.SENT, MailStatus.DIGESTED, MailStatus.CANCELLED)
    with write_transaction():
        result = db.session.execute(
            sa.delete(MailMessage).where(
                MailMessage.status.in_(done), MailMessage.created_at < before
            )
        )
    return result.rowcount
