"""Who gets which mail: the jobs that turn an event into composed messages, one per recipient.

Each job reads what it needs, composes every message outside any write transaction (templates
and links cost a millisecond or two each), then inserts them in one short transaction with a
"mail.send" job each. A message's dedupe key names the event and the recipient, so a job that
runs twice (its worker died before marking it done) adds nothing the second time.

The rules: nothing about a comment before it is approved (held ones go to the writer only), a
reader never hears about their own comment, an unconfirmed or refused address gets nothing but
its confirmation, and one address gets one mail per comment however it subscribed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, url_for
from sqlalchemy.dialects import postgresql, sqlite

from blog.extensions import db, write_transaction
from blog.jobs import outbox
from blog.jobs.models import Job
from blog.mail import compose, tokens
from blog.mail.models import MailAddress, MailKind, MailMessage, Subscription
from blog.mail.subscriptions import normalize
from blog.models import Comment, CommentStatus, Post, User, WriterNotify, utcnow
from blog.permalinks import comment_url, post_url
from blog.site import site


@dataclass(frozen=True)
class Recipient:
    """Where a mail goes and how its reader stops it.

    Ids, not rows: a fan-out commits a batch at a time, and every commit expires the rows it
    read, so a row kept here would cost a SELECT per recipient of the next batch.
    """

    to: str
    address_id: int | None  # a reader's address
    user_id: int | None  # else the writer
    unsubscribe_url: str
    unsubscribe_token: str
    manage_url: str
    # Why they get it, said at the foot of every mail ("you asked for replies to your comment").
    why: str

    def dedupe(self, event: str) -> str:
        return f"{event}:a{self.address_id}" if self.address_id else f"{event}:u{self.user_id}"


def reader(address: MailAddress, post: Post | None, why: str) -> Recipient:
    """A reader: the one-click link stops mail about post (about everything when None)."""
    token = tokens.unsubscribe_token(address, post)
    return Recipient(
        to=address.email,
        address_id=address.id,
        user_id=None,
        unsubscribe_url=url_for("subscriptions.unsubscribe", token=token, _external=True),
        unsubscribe_token=token,
        manage_url=url_for(
            "subscriptions.manage", token=tokens.manage_token(address), _external=True
        ),
        why=why,
    )


def writer(user: User, why: str) -> Recipient:
    """The writer: the one-click link stops mail about comments; settings are in the account."""
    token = tokens.writer_unsubscribe_token(user)
    return Recipient(
        to=user.email,
        address_id=None,
        user_id=user.id,
        unsubscribe_url=url_for("subscriptions.unsubscribe", token=token, _external=True),
        unsubscribe_token=token,
        manage_url=url_for("admin.mail.account", _external=True),
        why=why,
    )


def message(
    kind: str,
    recipient: Recipient,
    *,
    dedupe: str | None,
    subject: str,
    template: str,
    headers: dict[str, str] | None = None,
    post: Post | None = None,
    comment: Comment | None = None,
    **context: Any,
) -> MailMessage:
    """Compose one message (not yet stored)."""
    row = MailMessage(
        message_id=compose.new_message_id(kind),
        kind=kind,
        to_address=recipient.to,
        post_id=post.id if post else None,
        comment_id=comment.id if comment else None,
        dedupe=dedupe,
        address_id=recipient.address_id,
        user_id=recipient.user_id,
    )
    list_headers = compose.list_headers(recipient.unsubscribe_url, recipient.unsubscribe_token)
    compose.fill(
        row,
        subject,
        template,
        {**list_headers, **(headers or {})},
        recipient=recipient,
        post=post,
        comment=comment,
        # The site settings' title and language (the back office's Site page), not config's.
        site=site().title,
        language=site().language,
        home_url=url_for("posts.index", _external=True),
        **context,
    )
    return row


# Messages per "mail.send" job: one SMTP connection sends a batch; two worker threads send two.
BATCH = 50


# The columns message() fills; the others take their defaults (status "queued", created_at).
_COMPOSED = (
    "message_id",
    "kind",
    "to_address",
    "address_id",
    "user_id",
    "post_id",
    "comment_id",
    "dedupe",
    "subject",
    "text_body",
    "html_body",
    "headers",
)


def store(rows: list[MailMessage]) -> list[int]:
    """Insert composed messages (skipping those whose dedupe key exists) and their mail.send
    jobs (one per BATCH messages), in one write transaction; return the new message ids.

    One INSERT for the lot (executemany with RETURNING; a row whose dedupe key exists returns
    nothing): a statement built and run per message cost a third of a fan-out's CPU."""
    new: list[int] = []
    with write_transaction():
        if rows:
            dialect = sqlite if db.session.get_bind().dialect.name == "sqlite" else postgresql
            statement = (
                dialect.insert(MailMessage.__table__)
                .on_conflict_do_nothing(index_elements=["dedupe"])
                .returning(MailMessage.__table__.c.id)
            )
            values = [{name: getattr(row, name) for name in _COMPOSED} for row in rows]
            new = sorted(db.session.scalars(statement, values))
        for start in range(0, len(new), BATCH):
            outbox.record("mail.send", {"messages": new[start : start + BATCH]})
    return new


# --- Jobs ------------------------------------------------------------------------------------


def comment_published(job: Job) -> None:
    """ "mail.comment": tell the post's subscribers (and a writer who wants every comment)."""
    comment = db.session.get(Comment, job.payload["comment"])
    if comment is None or comment.status != CommentStatus.APPROVED or not comment.post.is_public:
        return
    post = comment.post
    author = normalize(comment.author_email)
    recipients: dict[str, Recipient] = {}
    thread = comment.parent_id
    wanted = Subscription.comment_id.is_(None)
    if thread is not None:
        wanted = sa.or_(wanted, Subscription.comment_id == thread)
    rows = db.session.execute(
        sa.select(Subscription.comment_id, MailAddress)
        .join(Subscription.address)
        .where(
            Subscription.post_id == post.id,
            wanted,
            MailAddress.confirmed_at.is_not(None),
            MailAddress.bounced == "",
        )
        .order_by(Subscription.comment_id.is_not(None), MailAddress.id)
    )
    for thread_id, address in rows:
        if address.email == author or address.email in recipients:
            continue
        why = (
            "every new comment on this post"
            if thread_id is None
            else "replies to your comment on this post"
        )
        recipients[address.email] = reader(address, post, f"you asked for {why}")
    user = post.author
    if (
        user.email
        and user.notify == WriterNotify.EACH
        and comment.user_id != user.id
        and normalize(user.email) not in (author, *recipients)
    ):
        recipients[normalize(user.email)] = writer(
            user, "you asked for a mail about every new comment on your posts"
        )
    context = {
        "subject": f"New comment on “{post.title}”",
        "template": "comment",
        "headers": compose.thread_headers(post),
        "post": post,
        "comment": comment,
        "comment_text": compose.text_of(comment.body_html),
        "comment_link": comment_url(comment, _external=True),
        "parent": comment.parent,
    }
    everyone = list(recipients.values())
    # Stored a batch at a time, so the first mails go out while the rest are being composed.
    for start in range(0, len(everyone), BATCH):
        store(
            [
                message(MailKind.COMMENT, r, dedupe=r.dedupe(f"c{comment.id}"), **context)
                for r in everyone[start : start + BATCH]
            ]
        )


def comment_held(job: Job) -> None:
    """ "mail.held": the writer learns that a comment waits, and why."""
    comment = db.session.get(Comment, job.payload["comment"])
    if comment is None or comment.status != CommentStatus.PENDING:
        return
    post = comment.post
    user = post.author
    if not user.email or user.notify == WriterNotify.NONE:
        return
    recipient = writer(user, "you are the writer of this blog")
    row = message(
        MailKind.HELD,
        recipient,
        dedupe=recipient.dedupe(f"held-c{comment.id}"),
        subject=f"Comment awaiting moderation on “{post.title}”",
        template="held",
        headers=compose.thread_headers(post),
        post=post,
        comment=comment,
        comment_text=compose.text_of(comment.body_html),
        moderate_url=url_for("admin.comment", comment_id=comment.id, _external=True),
        post_link=post_url(post, _external=True) if post.is_public else "",
    )
    store([row])


def confirmation(job: Job) -> None:
    """ "mail.confirm": the one mail an unconfirmed address gets, with the link to confirm it."""
    address = db.session.get(MailAddress, job.payload["address"])
    post = db.session.get(Post, job.payload.get("post") or 0)
    if address is None or address.confirmed:
        return
    recipient = reader(address, None, "this address was given on a comment form")
    row = message(
        MailKind.CONFIRM,
        recipient,
        dedupe=f"confirm-j{job.id}",
        subject=f"Confirm your subscription to comments on {site().title}",
        template="confirm",
        post=post,
        confirm_url=url_for(
            "subscriptions.confirm", token=tokens.confirm_token(address), _external=True
        ),
        post_link=post_url(post, _external=True) if post and post.is_public else "",
        max_days=max(1, current_app.config["MAIL_CONFIRM_MAX_AGE"] // 86400),
    )
    store([row])


def new_email(job: Job) -> None:
    """ "mail.email_change": the writer's new address receives the link that confirms it."""
    user = db.session.get(User, job.payload["user"])
    if user is None or not user.email_pending:
        return
    token = tokens.new_email_token(user)
    recipient = Recipient(
        to=user.email_pending,
        address_id=None,
        user_id=user.id,
        unsubscribe_url=url_for("admin.mail.account", _external=True),
        unsubscribe_token=token,
        manage_url=url_for("admin.mail.account", _external=True),
        why="this address was entered in the account settings of the blog",
    )
    row = message(
        MailKind.EMAIL_CHANGE,
        recipient,
        dedupe=f"email-j{job.id}",
        subject=f"Confirm your new address for {site().title}",
        template="email_change",
        confirm_url=url_for("admin.mail.confirm_email", token=token, _external=True),
        max_days=max(1, current_app.config["MAIL_CONFIRM_MAX_AGE"] // 86400),
    )
    # Not a list mail: nothing to unsubscribe from, and the writer asked for it just now.
    for name in ("List-Id", "List-Unsubscribe", "List-Unsubscribe-Post", "Precedence"):
        row.headers.pop(name, None)
    store([row])


def record_daily_digests() -> None:
    """Periodic: record today's digest job for every writer who asked for one."""
    today = utcnow().date().isoformat()
    users = db.session.scalars(
        sa.select(User).where(User.notify == WriterNotify.DAILY, User.email != "")
    ).all()
    with write_transaction():
        for user in users:
            outbox.record(
                "mail.daily", {"user": user.id, "day": today}, key=f"mail.daily:{user.id}:{today}"
            )


def daily_digest(job: Job) -> None:
    """ "mail.daily": the writer's comments of the last day, approved and held, in one mail."""
    user = db.session.get(User, job.payload["user"])
    if user is None or not user.email or user.notify != WriterNotify.DAILY:
        return
    until = job.created_at
    comments = db.session.scalars(
        sa.select(Comment)
        .join(Comment.post)
        .where(
            Post.author_id == user.id,
            Comment.status.in_((CommentStatus.APPROVED, CommentStatus.PENDING)),
            Comment.created_at >= until - timedelta(days=1),
            Comment.created_at < until,
            sa.or_(Comment.user_id.is_(None), Comment.user_id != user.id),
        )
        .order_by(Comment.post_id, Comment.created_at, Comment.id)
    ).all()
    if not comments:
        return
    recipient = writer(user, "you asked for a daily digest of the comments on your posts")
    row = message(
        MailKind.DAILY,
        recipient,
        dedupe=f"daily:u{user.id}:{job.payload['day']}",
        subject=f"Comments on {site().title}: {len(comments)} in the last day",
        template="digest",
        items=digest_items(comments),
        count=len(comments),
        daily=True,
    )
    store([row])


@dataclass(frozen=True)
class Item:
    comment: Comment
    text: str
    link: str


def digest_items(comments: list[Comment]) -> list[tuple[Post, list[Item]]]:
    """Group comments by post for a digest: each with its text and where to read or moderate it."""
    groups: dict[int, tuple[Post, list[Item]]] = {}
    for comment in comments:
        if comment.status == CommentStatus.APPROVED:
            link = comment_url(comment, _external=True)
        else:
            link = url_for("admin.comment", comment_id=comment.id, _external=True)
        post, items = groups.setdefault(comment.post_id, (comment.post, []))
        items.append(Item(comment, compose.text_of(comment.body_html), link))
    return list(groups.values())
