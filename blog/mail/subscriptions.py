"""Readers' subscriptions: subscribe from the comment form, confirm once, leave any time.

An address is confirmed once (double opt-in): the first subscription sends a confirmation mail,
and nothing else reaches the address until its link's page is answered with a POST. However
many forms name an address, it gets at most one confirmation mail an hour. Leaving everything
(or the writer removing every subscription) un-confirms the address.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from blog.extensions import db
from blog.jobs import outbox
from blog.mail.models import MailAddress, Subscription, new_key
from blog.models import Comment, Post, utcnow

KINDS = ("replies", "all")
CONFIRM_EVERY = timedelta(hours=1)


def normalize(email: str) -> str:
    return (email or "").strip().lower()


def address_for(email: str) -> MailAddress | None:
    return db.session.scalar(sa.select(MailAddress).where(MailAddress.email == normalize(email)))


def refusal(email: str) -> str | None:
    """Say why mail cannot be promised to email (its server refused it for good), else None."""
    address = address_for(email) if email else None
    if address is not None and address.bounced:
        return (
            "Mail to this address could not be delivered (the server answered: "
            f"{address.bounced[:120]}). Check the address, or choose not to get email."
        )
    return None


def _address(email: str) -> MailAddress:
    """Return the row of email, creating it without a race (two forms at once keep one row)."""
    email = normalize(email)
    dialect = sqlite if db.session.get_bind().dialect.name == "sqlite" else postgresql
    db.session.execute(
        dialect.insert(MailAddress)
        .values(email=email, key=new_key(), created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["email"])
    )
    return db.session.scalar(sa.select(MailAddress).where(MailAddress.email == email))


def subscribe(email: str, post: Post, comment: Comment, kind: str) -> MailAddress:
    """Subscribe email to post: every new comment ("all") or replies to comment ("replies").

    Records the confirmation mail when the address needs one (in the caller's transaction).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    address = _address(email)
    if comment.id is None:
        db.session.flush()
    thread = None if kind == "all" else (comment.parent_id or comment.id)
    exists = db.session.scalar(
        sa.select(Subscription.id).where(
            Subscription.address_id == address.id,
            Subscription.post_id == post.id,
            Subscription.comment_id.is_(None)
            if thread is None
            else Subscription.comment_id == thread,
        )
    )
    if exists is None:
        db.session.add(Subscription(address_id=address.id, post_id=post.id, comment_id=thread))
    now = utcnow()
    if not address.confirmed and (
        address.confirm_sent_at is None or address.confirm_sent_at <= now - CONFIRM_EVERY
    ):
        address.confirm_sent_at = now
        outbox.record("mail.confirm", {"address": address.id, "post": post.id})
    return address


def confirm(address: MailAddress) -> bool:
    """Confirm address (its link's page was answered); False when it already was."""
    if address.confirmed:
        return False
    address.confirmed_at = utcnow()
    address.bounced = ""
    return True


def subscriptions_of(address: MailAddress) -> list[Subscription]:
    return list(
        db.session.scalars(
            sa.select(Subscription)
            .where(Subscription.address_id == address.id)
            .order_by(Subscription.created_at, Subscription.id)
        )
    )


def unsubscribe(address: MailAddress, post: Post) -> int:
    """Stop every mail about post to address; return how many subscriptions ended."""
    result = db.session.execute(
        sa.delete(Subscription).where(
            Subscription.address_id == address.id, Subscription.post_id == post.id
        )
    )
    return result.rowcount


def remove(address: MailAddress, subscription_id: int) -> bool:
    """End one subscription of address (from its manage page)."""
    result = db.session.execute(
        sa.delete(Subscription).where(
            Subscription.address_id == address.id, Subscription.id == subscription_id
        )
    )
    return result.rowcount == 1


def unsubscribe_all(address: MailAddress) -> None:
    """End every subscription; the address must confirm again before it gets anything else.

    Its links keep working (a mail client may send the one-click POST twice), and lead to an
    empty list.
    """
    db.session.execute(sa.delete(Subscription).where(Subscription.address_id == address.id))
    address.confirmed_at = None
    address.confirm_sent_at = None


def subscribers_of(post: Post) -> list[tuple[Subscription, MailAddress]]:
    """Every subscription to post with its address, for the writer's back office."""
    rows = db.session.execute(
        sa.select(Subscription, MailAddress)
        .join(Subscription.address)
        .where(Subscription.post_id == post.id)
        .order_by(MailAddress.email, Subscription.id)
    )
    return [(row.Subscription, row.MailAddress) for row in rows]


def remove_subscribers(post: Post, subscription_ids: list[int]) -> int:
    """End these subscriptions to post (the writer's back office); an address left with none
    must confirm again before anything else reaches it."""
    addresses = set(
        db.session.scalars(
            sa.select(Subscription.address_id).where(
                Subscription.post_id == post.id, Subscription.id.in_(subscription_ids)
            )
        )
    )
    result = db.session.execute(
        sa.delete(Subscription).where(
            Subscription.post_id == post.id, Subscription.id.in_(subscription_ids)
        )
    )
    for address_id in addresses:
        left = db.session.scalar(
            sa.select(sa.func.count(Subscription.id)).where(Subscription.address_id == address_id)
        )
        if not left:
            unsubscribe_all(db.session.get(MailAddress, address_id))
    return result.rowcount


def counts_by_post(post_ids: list[int]) -> dict[int, int]:
    """How many subscriptions each post has (the back office's list of posts)."""
    rows = db.session.execute(
        sa.select(Subscription.post_id, sa.func.count(Subscription.id))
        .where(Subscription.post_id.in_(post_ids))
        .group_by(Subscription.post_id)
    )
    return dict(rows.all())
