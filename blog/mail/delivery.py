"""Sending: the "mail.send" job (a batch of stored messages), the hourly limit, the digest.

The batch is read once (the messages, and whether each is still wanted: a few queries in all);
then each message is sent in three steps, no transaction open while the server is talked to:
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

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app
from flask_mailman import EmailMultiAlternatives

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
from blog.site import site

WINDOW = timedelta(hours=1)
FINAL = (
    MailStatus.SENT,
    MailStatus.DIGESTED,
    MailStatus.CANCELLED,
    MailStatus.HELD,
    MailStatus.FAILED,
)


@dataclass(frozen=True)
class Outgoing:
    """What sending one message needs, read before any of the batch is sent."""

    id: int
    kind: str
    to: str
    address_id: int | None
    bounced: bool  # its address is marked as refused (cleared once a mail gets through)
    unwanted: str
    email: EmailMultiAlternatives


def send(job: Job) -> None:
    """ "mail.send": send stored messages over one connection, each marked sent once accepted.

    A recipient the server refuses for good (5xx) fails alone: its message is kept as failed,
    with the server's answer, for the back office, and the others go on. One it turns away
    for now (4xx, greylisting) is noted and the others go on; then the job fails, so it is
    tried again later, when only what is still unsent goes. A server that cannot be reached
    fails the job at once, the same way: what was sent stays sent.
    """
    turned_away = []
    for message in _outgoing(job.payload["messages"]):
        try:
            _send_one(message)
        except PermanentError as refused:
            _failed(message.id, str(refused))
        except transport.Deferred as deferred:
            turned_away.append(str(deferred))
            with write_transaction():
                _set(message.id, error=str(deferred)[:2000])
    if turned_away:
        raise transport.Deferred(
            f"{len(turned_away)} of {len(job.payload['messages'])} mails were turned away for "
            f"now and wait for the next attempt; the first: {turned_away[0]}"
        )


def _outgoing(ids: list[int]) -> list[Outgoing]:
    """Read the batch in a few queries: each message, and whether it is still wanted."""
    rows = db.session.scalars(
        sa.select(MailMessage)
        .where(MailMessage.id.in_(ids), MailMessage.status.not_in(FINAL))
        .options(so.selectinload(MailMessage.comment))
        .order_by(MailMessage.id)
    ).all()
    checks = Checks.for_rows(rows)
    outgoing = [
        Outgoing(
            id=row.id,
            kind=row.kind,
            to=row.to_address,
            address_id=row.address_id,
            bounced=bool(checks.address(row) and checks.address(row).bounced),
            unwanted=checks.unwanted(row),
            email=compose.email_message(row),
        )
        for row in rows
    ]
    db.session.commit()  # end the read: nothing is held while the server is talked to
    return outgoing


def _send_one(message: Outgoing) -> None:
    now = utcnow()
    with write_transaction():
        if message.unwanted:
            _set(message.id, status=MailStatus.CANCELLED, error=message.unwanted)
            return
        if message.kind in LIMITED_KINDS:
            _lock_address(message.to)
            recent = _recent(message.to, now, exclude=message.id)
            if len(recent) >= current_app.config["MAIL_HOURLY_LIMIT"]:
                _set(message.id, status=MailStatus.HELD)
                when = min(recent) + WINDOW
                outbox.record(
                    "mail.digest",
                    {"to": message.to},
                    key=f"mail.digest:{message.to}:{int(when.timestamp())}",
                    run_after=when,
                )
                return
        if not _set(message.id, status=MailStatus.SENDING, claimed_at=now):
            return  # another worker finished it meanwhile
    transport.send(message.email)
    with write_transaction():
        _set(message.id, status=MailStatus.SENT, sent_at=utcnow(), error="")
        if message.bounced:
            db.session.execute(
                sa.update(MailAddress)
                .where(MailAddress.id == message.address_id)
                .values(bounced="")
            )


# The per-message statements, built once: constructing SQLAlchemy expressions costs more CPU
# than running them (a profile of 200 mails: half the send loop), and they run for every mail.
_MAIL = MailMessage.__table__
_UNFINISHED = sa.or_(_MAIL.c.status == MailStatus.QUEUED, _MAIL.c.status == MailStatus.SENDING)
_UPDATE = _MAIL.update().where(_MAIL.c.id == sa.bindparam("message"), _UNFINISHED)
_RECENT = sa.select(_MAIL.c.claimed_at).where(
    _MAIL.c.to_address == sa.bindparam("to"),
    _MAIL.c.claimed_at >= sa.bindparam("since"),
    sa.or_(_MAIL.c.status == MailStatus.SENDING, _MAIL.c.status == MailStatus.SENT),
    _MAIL.c.id != sa.bindparam("message"),
)


def _set(message_id: int, **values) -> bool:
    """Update a message that no worker has finished; True when it was updated."""
    return db.session.execute(_UPDATE, {"message": message_id, **values}).rowcount == 1


def _failed(message_id: int, error: str) -> None:
    """Keep a message the server refused for good, with why; mark its reader's address."""
    with write_transaction():
        row = db.session.get(MailMessage, message_id)
        row.status = MailStatus.FAILED
        row.error = error[:2000]
        if row.address_id is not None:
            address = db.session.get(MailAddress, row.address_id)
            if address is not None:
                address.bounced = error[:500]


def failed_messages(limit: int = 200) -> list[MailMessage]:
    """The mails the server refused for good, newest first (the back office's list)."""
    return list(
        db.session.scalars(
            sa.select(MailMessage)
            .where(MailMessage.status == MailStatus.FAILED)
            .order_by(MailMessage.id.desc())
            .limit(limit)
        )
    )


def failed_count() -> int:
    return db.session.scalar(
        sa.select(sa.func.count(MailMessage.id)).where(MailMessage.status == MailStatus.FAILED)
    )


def retry_messages(message_ids: list[int]) -> list[int]:
    """Queue failed mails again (the back office's Retry); the caller commits."""
    ids = db.session.scalars(
        sa.update(MailMessage)
        .where(MailMessage.id.in_(message_ids), MailMessage.status == MailStatus.FAILED)
        .values(status=MailStatus.QUEUED)
        .returning(MailMessage.id)
    ).all()
    if ids:
        outbox.record("mail.send", {"messages": list(ids)})
    return list(ids)


def _recent(to: str, now: datetime, exclude: int | None = None) -> list[datetime]:
    """When each mail of the last hour to this address was handed to the server."""
    params = {"to": to, "since": now - WINDOW, "message": exclude or 0}
    return list(db.session.scalars(_RECENT, params))


def _lock_address(to: str) -> None:
    """Count and claim one address's mail one worker at a time (SQLite: the write lock does)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(to))))


@dataclass
class Checks:
    """What decides whether queued messages are still wanted, read in one query per table."""

    users: dict[int, User]
    addresses: dict[int, MailAddress]
    follows: set[tuple[int, int]]  # (address_id, post_id) with a subscription

    @classmethod
    def for_rows(cls, rows: list[MailMessage]) -> Checks:
        user_ids = {r.user_id for r in rows if r.user_id is not None}
        address_ids = {r.address_id for r in rows if r.address_id is not None}
        users = db.session.scalars(sa.select(User).where(User.id.in_(user_ids))) if user_ids else []
        addresses = (
            db.session.scalars(sa.select(MailAddress).where(MailAddress.id.in_(address_ids)))
            if address_ids
            else []
        )
        follows = (
            db.session.execute(
                sa.select(Subscription.address_id, Subscription.post_id).where(
                    Subscription.address_id.in_(address_ids)
                )
            ).all()
            if address_ids
            else []
        )
        return cls(
            {u.id: u for u in users},
            {a.id: a for a in addresses},
            {tuple(pair) for pair in follows},
        )

    def address(self, row: MailMessage) -> MailAddress | None:
        return self.addresses.get(row.address_id) if row.address_id is not None else None

    def unwanted(self, row: MailMessage) -> str:
        """Say why a queued message should no longer go out ("" when it should)."""
        comment = row.comment
        if row.kind in (MailKind.COMMENT, MailKind.HELD) and comment is None:
            return "the comment was deleted"
        if row.kind == MailKind.COMMENT and comment.status != CommentStatus.APPROVED:
            return "the comment is no longer published"
        if row.kind == MailKind.HELD and comment.status != CommentStatus.PENDING:
            return "the comment was moderated meanwhile"
        if row.user_id is not None:
            user = self.users.get(row.user_id)
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
        address = self.address(row)
        if address is None:
            return "the address was removed"
        if row.kind == MailKind.CONFIRM:
            return "the address is confirmed already" if address.confirmed else ""
        if not address.confirmed:
            return "the address is not confirmed"
        if row.kind == MailKind.COMMENT and (address.id, row.post_id) not in self.follows:
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
    checks = Checks.for_rows(held)
    wanted = [row for row in held if not checks.unwanted(row)]
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
        subject=f"{len(comments)} new comments on {site().title}",
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
        ids = job.payload.get("messages") or [0]
        row = db.session.get(MailMessage, ids[0])
        if row is None:
            return "Mail that no longer exists"
        if len(ids) == 1:
            return f"Mail to {row.to_address}: {row.subject or row.kind}"
        return f"{len(ids)} mails: {row.subject or row.kind}"
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
