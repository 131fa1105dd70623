"""The one write path for comments: every change to a comment goes through these functions.

A post stores what its pages would otherwise count or compare on every read: comment_count
(its approved comments, shown on listings without a COUNT per post) and revision (bumped by
every change, the key of the cached comment list and part of the feed ETags). Both are kept
right here and only here: add, approve, hold, spam, delete, withdraw, edit, import and
re-render all end in _changed(), so a new kind of write cannot forget them and serve stale
comments.

The caller commits; nothing here does, so a change and its consequences share a transaction.
That includes the mail a change causes: blog.mail.notify records its jobs here (a comment held
for moderation, a comment published now or approved later), never in a view.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
import sqlalchemy.orm as so

from blog.comments.formatting import render_comment
from blog.extensions import db
from blog.mail import notify as mail
from blog.models import Comment, CommentFormat, CommentStatus, Post, utcnow
from blog.prepared import Prepared

# How bad a status is: an edit may make its comment's status worse, never better.
_SEVERITY = {CommentStatus.APPROVED: 0, CommentStatus.PENDING: 1, CommentStatus.SPAM: 2}


def add_comment(
    post: Post | PostRow,
    *,
    author_name: str,
    body: str,
    author_email: str = "",
    author_url: str = "",
    parent: Comment | None = None,
    status: str = CommentStatus.APPROVED,
    created_at: datetime | None = None,
    ip: str = "",
    user_agent: str = "",
    user_id: int | None = None,
    reason: str = "",
    notify: bool = True,
    source_url: str = "",
    format: str = CommentFormat.TEXT,
) -> Comment:
    """Sanitize and store a comment on post; replies to a reply attach to its top-level comment.

    notify=False for comments that are not news (imported, demo): no mail is recorded for them.
    source_url is where a reply received as a webmention was written (blog.webmention).
    format: what body is written in. The comment form sends Markdown; imports are plain text,
    and so is a webmention reply: its body is the source's HTML already cut to the tags
    comments allow, with the rest escaped (blog.webmention.parse), which Markdown would read
    again (a `*` or `_` in it would become emphasis).

    Two prebuilt statements on the session's connection, not the ORM's unit of work (which cost
    a millisecond of the four a comment may take): the INSERT, and an UPDATE that counts the
    comment and bumps the post's revision in the database itself, so concurrent comments never
    lose a count. The comment returned is in the session, as if loaded.
    """
    if parent is not None and parent.parent_id is not None:
        parent = db.session.get(Comment, parent.parent_id) or parent
    if db.session.new or db.session.dirty or db.session.deleted:
        db.session.flush()  # what the caller changed first goes first (ids, counts)
    values = {
        "post_id": post.id,
        "parent_id": parent.id if parent is not None else None,
        "author_name": author_name.strip(),
        "author_email": author_email.strip(),
        "author_url": author_url.strip(),
        "body": body,
        "body_html": render_comment(body, format),
        "format": str(format),
        "status": str(status),
        "created_at": created_at or utcnow(),
        "edited_at": None,
        "ip": ip,
        "user_agent": user_agent[:300],
        "user_id": user_id,
        "reason": reason,
        "source_url": source_url,
    }
    [(comment_id,)] = _INSERT.run_in_session(**{"v_" + k: v for k, v in values.items()})
    approved = 1 if status == CommentStatus.APPROVED else 0
    _COUNT_AND_TOUCH.run_in_session(post=post.id, approved=approved)
    if isinstance(post, Post) and post in db.session:
        # The row changed under the ORM: read these again when next asked.
        db.session.expire(post, ["comment_count", "revision"])
    comment = Comment(id=comment_id, **values)
    so.make_transient_to_detached(comment)
    db.session.add(comment)
    if notify:
        mail.comment_added(comment)
    return comment


class PostRow(Protocol):
    """What add_comment() needs of a post: its id (a Post, or a row read without the ORM)."""

    id: int


# On the tables, with prebuilt statements run on the driver (blog.prepared): the ORM's
# insert path, and SQLAlchemy's execution machinery, cost as much as the rest.
_COMMENTS, _POSTS = Comment.__table__, Post.__table__
_COLUMNS = [c for c in _COMMENTS.columns if c.name != "id"]
_INSERT = Prepared(
    _COMMENTS.insert()
    .values({c.name: sa.bindparam("v_" + c.name, type_=c.type) for c in _COLUMNS})
    .returning(_COMMENTS.c.id),
    **{"v_" + c.name: None for c in _COLUMNS},
)
_COUNT_AND_TOUCH = Prepared(
    _POSTS.update()
    .where(_POSTS.c.id == sa.bindparam("post", type_=sa.Integer()))
    .values(
        comment_count=_POSTS.c.comment_count + sa.bindparam("approved", type_=sa.Integer()),
        revision=_POSTS.c.revision + 1,
    ),
    post=0,
    approved=0,
)


def set_status(comments: Iterable[Comment], status: str) -> None:
    """Approve, hold or mark as spam each comment (those already in that state stay as they are)."""
    changed = [c for c in comments if c.status != status]
    for comment in changed:
        comment.status = status
    _changed({c.post for c in changed})
    mail.status_changed(changed)


def delete(comments: Iterable[Comment]) -> set[int]:
    """Delete comments for good (their replies stay, as top-level comments); return the ids gone.

    A withdrawn comment kept only for its replies goes too once its last reply is deleted.
    """
    comments = list(comments)
    posts = {c.post for c in comments}
    gone = {c.id for c in comments}
    for comment in comments:
        db.session.delete(comment)
    db.session.flush()
    for parent_id in {c.parent_id for c in comments} - gone - {None}:
        parent = db.session.get(Comment, parent_id)
        kept_for_replies = parent is not None and parent.status == CommentStatus.DELETED
        if kept_for_replies and not _has_replies(parent):
            db.session.delete(parent)
            gone.add(parent.id)
    _changed(posts)
    return gone


def withdraw(comment: Comment) -> set[int]:
    """Delete a comment at its author's wish: for good, unless it has replies; return the ids
    of the comments gone for good (none when it stays for its replies).

    With replies it stays as an empty row, status DELETED, shown as "This comment was deleted"
    so the replies still read as answers; nothing of what was written (text, name, email,
    website) is kept. It goes for good with its last reply (delete()).
    """
    if not _has_replies(comment):
        return delete([comment])
    comment.status = CommentStatus.DELETED
    comment.body = comment.body_html = ""
    comment.author_name = comment.author_email = comment.author_url = ""
    comment.edited_at = utcnow()
    _changed({comment.post})
    return set()


def _has_replies(comment: Comment) -> bool:
    return (
        db.session.scalar(sa.select(Comment.id).where(Comment.parent_id == comment.id).limit(1))
        is not None
    )


def edit(comment: Comment, body: str, status: str | None = None, reason: str = "") -> None:
    """Replace a comment's text, rendered in its own format and sanitized like a new one, and
    mark it edited now.

    status: the spam checks' verdict on the new text (blog.comments.spam.assess_edit); the
    comment takes it only when it is worse than its own (an edit that adds links is held again;
    one that removes them waits for the writer all the same). The writer's edits pass none.
    """
    comment.body = body
    comment.body_html = render_comment(body, comment.format)
    comment.edited_at = utcnow()
    held = status is not None and _SEVERITY.get(status, 0) > _SEVERITY.get(comment.status, 0)
    if held:
        comment.status = status
        comment.reason = reason[:200]
    _changed({comment.post})
    if held:
        # Held again: the writer hears of it as of a held new comment (once per comment, by the
        # job's key). An edit is never news to readers: "mail.comment" is recorded once per
        # comment, at its first approval, so approving the edit later sends nothing again.
        mail.status_changed([comment])


def update_from_source(
    comment: Comment,
    *,
    author_name: str,
    author_url: str,
    body: str,
    source_url: str,
    created_at: datetime,
) -> None:
    """Replace a reply received as a webmention with what its source says now (an update).

    Its moderation status stays the writer's decision; blog.webmention calls set_status() when
    the policy now bins it.
    """
    comment.author_name = author_name.strip()
    comment.author_url = author_url.strip()
    comment.body = body
    comment.body_html = render_comment(body, comment.format)
    comment.source_url = source_url
    comment.created_at = created_at
    _changed({comment.post})


def store_rendered(html_by_id: dict[int, str]) -> None:
    """Write comments' HTML made again from their text (flask rerender), in one statement."""
    if not html_by_id:
        return
    db.session.execute(
        sa.update(Comment), [{"id": id_, "body_html": html} for id_, html in html_by_id.items()]
    )
    post_ids = db.session.scalars(
        sa.select(Comment.post_id).where(Comment.id.in_(html_by_id)).distinct()
    )
    touch_posts(set(post_ids))


def touch_posts(post_ids: set[int]) -> None:
    """Bump the revision of these posts (their comments' HTML changed), locking the rows."""
    posts = db.session.scalars(
        sa.select(Post)
        .where(Post.id.in_(post_ids))
        .options(so.load_only(Post.revision), so.raiseload("*"))
        .with_for_update()
    )
    for post in posts:
        post.touch()


def _changed(posts: set[Post]) -> None:
    """Recount the approved comments of each post and mark it changed for caches and feeds."""
    if not posts:
        return
    db.session.flush()
    counts = dict(
        db.session.execute(
            sa.select(Comment.post_id, sa.func.count(Comment.id))
            .where(
                Comment.post_id.in_([p.id for p in posts]),
                Comment.status == CommentStatus.APPROVED,
            )
            .group_by(Comment.post_id)
        ).all()
    )
    for post in posts:
        post.comment_count = counts.get(post.id, 0)
        post.touch()
