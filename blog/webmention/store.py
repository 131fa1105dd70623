"""The one write path for received webmentions: every change to a Webmention row is here.

A reply is a Comment, created and changed only through blog.comments.store (so moderation, the
comment count, the cached list, the feeds and the back office treat it like any comment); the
row keeps what the source said and links to it. Likes, reposts and mentions are shown from the
rows themselves, inside the post's cached comment section: every change that can alter what a
post page shows bumps Post.revision here, the key of that cache and of the page's ETag.

The caller commits; nothing here does.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

import sqlalchemy as sa

from blog.comments import store as comments
from blog.extensions import db
from blog.jobs import outbox
from blog.jobs.models import Job, JobStatus
from blog.models import Comment, CommentStatus, Post, utcnow
from blog.webmention.models import MentionKind, MentionState, Webmention, url_key
from blog.webmention.parse import Mention

VERIFY = "webmention.verify"


def _job_key(row: Webmention) -> str:
    return f"{VERIFY}:{row.id}:{row.requests}"


def received(post: Post, *, source: str, target: str, ip: str) -> Webmention:
    """Record that source says it mentions post, and queue its verification (a request's work).

    The same source and post are one row however often they are sent; each sending is verified
    again (an update or a delete), unless a verification that has not started yet will do.
    """
    key = url_key(source)
    row = db.session.scalar(
        sa.select(Webmention).where(Webmention.post_id == post.id, Webmention.source_key == key)
    )
    if row is None:
        row = Webmention(post=post, source=source, source_key=key, target=target, requests=0)
        db.session.add(row)
        db.session.flush()
    elif _waiting(row):
        row.target, row.ip, row.updated_at = target, ip, utcnow()
        return row
    row.target = target
    row.ip = ip
    row.updated_at = utcnow()
    row.requests = (row.requests or 0) + 1
    if row.state != MentionState.VERIFIED:  # a shown one stays shown while it is checked again
        row.state = MentionState.QUEUED
    outbox.record(VERIFY, {"webmention": row.id}, key=_job_key(row))
    return row


def _waiting(row: Webmention) -> bool:
    """True when the row's last verification job has not started: it will read the page anew."""
    if not row.requests:
        return False
    status = db.session.scalar(sa.select(Job.status).where(Job.key == _job_key(row)))
    return status == JobStatus.PENDING


def verified(row: Webmention, mention: Mention, status: str, reason: str) -> None:
    """Store what a verified source says; status and reason are the moderation policy's verdict.

    A new reply becomes a comment with that status. On an update the writer's decision stands
    (an approved reply stays approved with its new text), unless the policy now says spam.
    """
    # The policy decides a like's status the first time; after that the writer's decision stands.
    first = row.verified_at is None or row.kind == MentionKind.REPLY
    now = utcnow()
    row.kind = mention.kind
    row.state = MentionState.VERIFIED
    row.error = ""
    row.author_name = mention.author_name
    row.author_url = mention.author_url
    row.author_photo = mention.author_photo
    row.url = mention.url
    row.summary = mention.summary
    row.published_at = mention.published
    row.verified_at = now
    if mention.kind == MentionKind.REPLY:
        _reply(row, mention, status, reason, now)
    else:
        if row.comment is not None:  # it was a reply, and is one no more
            comments.delete([row.comment])
            row.comment = None
        if first or status == CommentStatus.SPAM:
            row.status, row.reason = status, reason
    comments.touch_posts({row.post_id})


def _reply(row: Webmention, mention: Mention, status: str, reason: str, now) -> None:
    body = mention.body or html.escape(mention.summary, quote=False) or "…"
    when = mention.published or row.received_at or now
    comment = row.comment
    if comment is None:
        row.comment = comments.add_comment(
            row.post,
            author_name=mention.author_name,
            author_url=mention.author_url,
            body=body,
            status=status,
            reason=reason,
            created_at=when,
            ip=row.ip,
            user_agent="Webmention",
            source_url=mention.url,
        )
        return
    comments.update_from_source(
        comment,
        author_name=mention.author_name,
        author_url=mention.author_url,
        body=body,
        source_url=mention.url,
        created_at=when,
    )
    if status == CommentStatus.SPAM and comment.status != CommentStatus.SPAM:
        comment.reason = reason
        comments.set_status([comment], CommentStatus.SPAM)


def removed(row: Webmention, why: str) -> None:
    """The source is gone (410) or no longer links: drop what it said (its comment too).

    A row never verified is simply rejected. The row stays, emptied, so the sender's status page
    and the back office can say what happened.
    """
    if row.comment is not None:
        comments.delete([row.comment])
        row.comment = None
    if row.state == MentionState.VERIFIED:
        row.state = MentionState.REMOVED
        row.author_name = row.author_url = row.author_photo = row.url = row.summary = ""
        row.published_at = None
        comments.touch_posts({row.post_id})
    else:
        row.state = MentionState.REJECTED
    row.error = why[:500]
    row.verified_at = utcnow()


def failed(row: Webmention, why: str) -> None:
    """Verification failed for a reason that says nothing about the mention itself (a 404, a
    page too large, not HTML, an address we never fetch): a shown mention stays as it was."""
    row.error = why[:500]
    row.verified_at = utcnow()
    if row.state != MentionState.VERIFIED:
        row.state = MentionState.REJECTED


def noted(row: Webmention, why: str) -> None:
    """Note a passing problem (the worker will try again) for the status page."""
    row.error = why[:500]


# --- The writer's moderation of likes, reposts and mentions (replies are comments) ------------


def set_status(rows: Iterable[Webmention], status: str) -> None:
    """Approve, hold or mark as spam likes, reposts and mentions."""
    changed = [r for r in rows if r.kind != MentionKind.REPLY and r.status != status]
    for row in changed:
        row.status = status
        row.reason = "" if status == CommentStatus.APPROVED else row.reason
    comments.touch_posts({r.post_id for r in changed})


def delete(rows: Iterable[Webmention]) -> None:
    """Delete webmentions and a reply's comment (the source may send it again later)."""
    rows = list(rows)
    replies: list[Comment] = [r.comment for r in rows if r.comment is not None]
    post_ids = {r.post_id for r in rows}
    if replies:
        comments.delete(replies)
    for row in rows:
        db.session.delete(row)
    comments.touch_posts(post_ids)
