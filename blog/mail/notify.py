"""The hooks blog.comments.store calls when a comment's state changes: they record jobs.

Nothing is composed or sent here; this runs inside the request's transaction and only records
what the worker will do, so the mail exists exactly when the comment does:
  - a comment that is (or becomes) approved: "mail.comment", once per comment (its key), when
    anyone may want it (the writer asked for every comment, or the post has subscribers);
  - a comment held for moderation: "mail.held", for a writer with an address who wants mail.
Spam is never mailed about. Who exactly gets what is decided by the worker (blog.mail.fanout),
which also skips whatever changed meanwhile (a comment approved, then deleted).
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from blog.extensions import db
from blog.jobs import outbox
from blog.mail.models import Subscription
from blog.models import Comment, CommentStatus, Post, User, WriterNotify
from blog.prepared import Prepared


def comment_added(comment: Comment) -> None:
    """Record the mail a new comment causes (the caller commits)."""
    _record(comment)


def status_changed(comments: Iterable[Comment]) -> None:
    """Record the mail of comments whose status just changed (approved later: sent then)."""
    for comment in comments:
        _record(comment)


def _record(comment: Comment) -> None:
    [(email, notify, followed)] = _AUDIENCE.run_in_session(post=comment.post_id)
    if comment.status == CommentStatus.APPROVED:
        wants_each = email and notify == WriterNotify.EACH
        if wants_each or followed:
            _flush(comment)
            outbox.record("mail.comment", {"comment": comment.id}, key=f"mail.comment:{comment.id}")
    elif comment.status == CommentStatus.PENDING:
        if email and notify != WriterNotify.NONE:
            _flush(comment)
            outbox.record("mail.held", {"comment": comment.id}, key=f"mail.held:{comment.id}")


# Who may want mail about a comment on a post: its writer's address and choice, and whether
# anybody follows the post. One prebuilt statement on the driver (blog.prepared), run with every
# comment posted: loading the post, its author and its tags through the ORM, then asking about
# subscriptions, took three statements of the six a comment may cost (issue 13).
_AUDIENCE = Prepared(
    sa.select(
        User.email,
        User.notify,
        sa.exists().where(Subscription.post_id == Post.id),
    )
    .select_from(Post)
    .join(User, User.id == Post.author_id)
    .where(Post.id == sa.bindparam("post", type_=sa.Integer())),
    post=0,
)


def _flush(comment: Comment) -> None:
    if comment.id is None:
        db.session.flush()
