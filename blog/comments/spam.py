"""The moderation decision for a new comment: publish it, hold it for the writer, or bin it."""

from __future__ import annotations

from flask import Request

from blog.comments.forms import CommentForm
from blog.models import CommentStatus, Post


def comments_open(post: Post) -> bool:
    """Return True when readers may comment on post now."""
    return post.comments_open


def assess(post: Post, form: CommentForm, request: Request) -> tuple[str, str]:
    """Return (status, reason) for a valid new comment; reason tells the writer why it was held.

    The default policy publishes at once, as a fresh blog should; moderation rules, the
    honeypot and flood control plug in here so the view keeps asking one function.
    """
    return CommentStatus.APPROVED, ""
