"""The spam decision for a new comment, and the defences that refuse one before it is stored.

assess() is the single decision point: publish, hold (pending) or bin (spam), always with a
reason the writer reads in the back office. Nothing a rule catches is destroyed. Flood control
(Flask-Limiter, per IP) and duplicate detection refuse a comment instead, keeping the text in
the reader's form. Every threshold is a discussion setting (blog.discussion); none of these
checks sends anything anywhere.
"""

from __future__ import annotations

import time
from datetime import timedelta

import sqlalchemy as sa
from flask import Request, current_app
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer

from blog.comments.forms import CommentForm
from blog.discussion import DiscussionSettings, auto_closed, moderation_verdict
from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, utcnow

STAMP_SALT = "comment-form-issued"
DUPLICATE_WINDOW = timedelta(days=1)


def comments_open(post: Post) -> bool:
    """Return True when readers may comment on post now: open, and not closed by age."""
    return post.comments_open and not auto_closed(post)


# --- The signed form timestamp ----------------------------------------------------------------


def _stamps() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=STAMP_SALT)


def form_stamp(at: float | None = None) -> str:
    """Return the signed time the comment form is shown at (now unless at, a Unix time)."""
    return _stamps().dumps(round(time.time() if at is None else at, 3))


def stamp_age(stamp: str | None) -> float | None:
    """Return how many seconds ago a form stamp was issued; None when missing or forged."""
    if not stamp:
        return None
    try:
        issued = _stamps().loads(stamp)
    except BadSignature:
        return None
    if not isinstance(issued, int | float) or isinstance(issued, bool):
        return None
    return time.time() - issued


def min_seconds() -> int:
    """Return the fewest seconds a person takes to write a comment: config, else the setting."""
    configured = current_app.config.get("COMMENT_MIN_SECONDS")
    if configured is not None:
        return int(configured)
    return DiscussionSettings.load().min_seconds


# --- The decision ---------------------------------------------------------------------------


def robot_verdict(form: CommentForm) -> str | None:
    """Return why the form looks sent by a robot (honeypot, too fast, bad stamp), else None."""
    settings = DiscussionSettings.load()
    if settings.honeypot and form.subject.data:
        return "Filled in the hidden robot trap (honeypot)"
    least = min_seconds()
    if least <= 0:
        return None
    age = stamp_age(form.issued.data)
    if age is None:
        return "Form timestamp missing or forged" if form.issued.data else "No form timestamp"
    if age < least:
        return f"Sent {max(age, 0):.1f} s after the form was shown (less than {least} s)"
    return None


def assess(post: Post, form: CommentForm, request: Request) -> tuple[str, str]:
    """Return (status, reason) for a valid new comment; reason tells the writer why it was held.

    The default policy publishes at once, as a fresh blog should; a robot's tell (the honeypot,
    a form sent faster than a person writes, a forged stamp) bins the comment, and the writer's
    discussion settings (blog.discussion) hold or bin what they name. The writer's own comments
    pass.
    """
    if current_user.is_authenticated:
        return CommentStatus.APPROVED, ""
    robot = robot_verdict(form)
    if robot is not None:
        return CommentStatus.SPAM, robot
    verdict = moderation_verdict(
        post,
        author_email=form.author_email.data or "",
        body=form.body.data or "",
        ip=request.remote_addr or "",
    )
    return verdict or (CommentStatus.APPROVED, "")


def duplicate_of(post: Post, form: CommentForm, ip: str) -> Comment | None:
    """Return this person's comment on post with the same text from the last day, if any.

    The same person is the same email (any case) or, without an email, the same name and IP.
    """
    if not DiscussionSettings.load().refuse_duplicates:
        return None
    email = (form.author_email.data or "").strip().casefold()
    if email:
        same_person = sa.func.lower(Comment.author_email) == email
    else:
        same_person = sa.and_(
            Comment.author_email == "",
            Comment.author_name == (form.author_name.data or "").strip(),
            Comment.ip == ip,
        )
    return db.session.scalar(
        sa.select(Comment)
        .where(
            Comment.post_id == post.id,
            Comment.body == (form.body.data or ""),
            Comment.created_at >= utcnow() - DUPLICATE_WINDOW,
            same_person,
        )
        .limit(1)
    )


# --- Flood control (Flask-Limiter, per IP) ----------------------------------------------------


def flood_limit() -> str:
    """Return the per-IP pace limit, e.g. "1 per 15 second"."""
    return f"1 per {max(DiscussionSettings.load().flood_seconds, 1)} second"


def hourly_limit() -> str:
    """Return the per-IP hourly cap, e.g. "20 per hour"."""
    return f"{max(DiscussionSettings.load().hourly_limit, 1)} per hour"


def flood_exempt() -> bool:
    """The writer is never slowed down; a setting of 0 turns the pace limit off."""
    return current_user.is_authenticated or DiscussionSettings.load().flood_seconds <= 0


def hourly_exempt() -> bool:
    """The writer is never capped; a setting of 0 turns the hourly cap off."""
    return current_user.is_authenticated or DiscussionSettings.load().hourly_limit <= 0


def stored(response) -> bool:
    """Count only comments that were stored (not refused forms) against the limits."""
    return response.status_code in (200, 201, 303)
