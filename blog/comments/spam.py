"""The moderation decision for a new comment: publish it, hold it for the writer, or bin it."""

from __future__ import annotations

from flask import Request
from flask_login import current_user

from blog.comments.forms import CommentForm
from blog.discussion import auto_closed, moderation_verdict
from blog.models import CommentStatus, Post


def comments_open(post: Post) -> bool:
    """Return True when readers may comment on post now: open, and not closed by age."""
    return post.comments_open and not auto_closed(post)


def assess(post: Post, form: CommentForm, request: Request) -> tuple[str, str]:
    """Return (status, reason) for a valid new comment; reason tells the writer why it was held.

    The default policy publishes at once, as a fresh blog should; the writer's discussion
    settings (blog.discussion) hold or bin what they name. The writer's own comments pass.
    """
    if current_user.is_authenticated:
        return CommentStatus.APPROVED, ""
    verdict = moderation_verdict(
        post,
        author_email=form.author_email.data or "",
        body=form.body.data or "",
        ip=request.remote_addr or "",
    )
    return verdict or (CommentStatus.APPROVED, "")
