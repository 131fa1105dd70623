"""The spam decision for a new comment, and the defences that refuse one before it is stored.

assess() is the single decision point: publish, hold (pending) or bin (spam), always with a
reason the writer reads in the back office. Nothing a rule catches is destroyed. Flood control
(Flask-Limiter, per IP) and duplicate detection refuse a comment instead, keeping the text in
the reader's form. Every threshold is a discussion setting (blog.discussion); none of these
checks sends anything anywhere.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple

import sqlalchemy as sa
from flask import Request, current_app, request
from itsdangerous import BadSignature, URLSafeSerializer

from blog import readers
from blog.comments.forms import CommentForm
from blog.discussion import DiscussionSettings, auto_closed, moderation_verdict
from blog.models import Comment, CommentStatus, Post, UTCDateTime, utcnow
from blog.prepared import Prepared

STAMP_SALT = "comment-form-issued"
DUPLICATE_WINDOW = timedelta(days=1)


def comments_open(post: Post) -> bool:
    """Return True when readers may comment on post now: open, and not closed by age."""
    return post.comments_open and not auto_closed(post)


# --- The signed form timestamp ----------------------------------------------------------------
#
# A stamp is the time a form was shown, signed. A fresh stamp is made for one reader when they
# see the form: in a page rendered for them, in a form sent back to them, or fetched by
# static/js/comments.js from /comments/stamp when they start writing on a shared page. A page
# stamp is the time a shared page was made, which may be long before anyone reads it: its age
# bounds how long the reader had the form from above only, so a page stamp younger than the
# minimum still tells a robot, and an older one proves nothing (needs_confirmation()).


def _stamps() -> URLSafeSerializer:
    return _stamps_for(current_app.secret_key)


@functools.lru_cache(maxsize=8)
def _stamps_for(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=STAMP_SALT)


def form_stamp(at: float | None = None) -> str:
    """Return a fresh stamp: the signed time the form is shown to a reader (now unless at)."""
    return _stamps().dumps(round(time.time() if at is None else at, 3))


def page_stamp(at: float | None = None) -> str:
    """Return a page stamp: the signed time a shared page is made, marked as such."""
    return _stamps().dumps({"page": round(time.time() if at is None else at, 3)})


@dataclass(frozen=True)
class Stamp:
    age: float  # seconds since it was issued
    page: bool  # True for a page stamp


def read_stamp(stamp: str | None) -> Stamp | None:
    """Return what a stamp says; None when missing or forged."""
    if not stamp:
        return None
    try:
        issued = _stamps().loads(stamp)
    except BadSignature:
        return None
    page = isinstance(issued, dict) and set(issued) == {"page"}
    if page:
        issued = issued["page"]
    if not isinstance(issued, int | float) or isinstance(issued, bool):
        return None
    return Stamp(time.time() - issued, page)


def stamp_age(stamp: str | None) -> float | None:
    """Return how long ago a stamp (fresh or page) was issued; None when missing or forged."""
    read = read_stamp(stamp)
    return None if read is None else read.age


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
    stamp = read_stamp(form.issued.data)
    if stamp is None:
        return "Form timestamp missing or forged" if form.issued.data else "No form timestamp"
    if stamp.age < least:
        shown = "the page was made" if stamp.page else "the form was shown"
        return f"Sent {max(stamp.age, 0):.1f} s after {shown} (less than {least} s)"
    return None


def needs_confirmation(form: CommentForm) -> bool:
    """Return True when a reader's comment must be confirmed before it is stored.

    That is when the time check is on and the form carries a page stamp old enough to prove
    nothing (no JavaScript fetched a fresh one: a browser without it, or a robot). The answer
    shows the comment and the form again with a fresh stamp: one more click for a person, and
    for a robot the same wait as a fresh form. The trap and a too-young stamp still decide at
    once (robot_verdict()); the writer is never asked.
    """
    if readers.writer() is not None or min_seconds() <= 0:
        return False
    if DiscussionSettings.load().honeypot and form.subject.data:
        return False
    stamp = read_stamp(form.issued.data)
    return stamp is not None and stamp.page and stamp.age >= min_seconds()


def assess(post: Post, form: CommentForm, request: Request) -> tuple[str, str]:
    """Return (status, reason) for a valid new comment; reason tells the writer why it was held.

    The default policy publishes at once, as a fresh blog should; a robot's tell (the honeypot,
    a form sent faster than a person writes, a forged stamp) bins the comment, and the writer's
    discussion settings (blog.discussion) hold or bin what they name. The writer's own comments
    pass.
    """
    if readers.writer() is not None:
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


def assess_edit(post: Post, comment: Comment, body: str, request: Request) -> tuple[str, str]:
    """Return (status, reason) for a comment's new text: the writer's discussion policy again.

    An edit that adds links past the limit, or a blocked word, is held or binned like a new
    comment would be (the caller keeps the worse of this and the comment's status). The robot
    checks of the form (trap, stamp) are not run again: the edit form has neither, and the
    comment already passed them. The writer's own edits pass.
    """
    if readers.writer() is not None:
        return CommentStatus.APPROVED, ""
    verdict = moderation_verdict(
        post, author_email=comment.author_email, body=body, ip=request.remote_addr or ""
    )
    return verdict or (CommentStatus.APPROVED, "")


def stamp_after_preview(form: CommentForm) -> None:
    """Let a previewed comment be posted without being asked to confirm it again.

    A shared page's stamp old enough to prove nothing asks for a confirmation before posting
    (needs_confirmation()); a preview is that confirmation, so the form comes back with a fresh
    stamp dated the fewest seconds a person takes ago: posting it at once is not too fast, and
    a robot still pays two requests, as with the confirmation.
    """
    stamp = read_stamp(form.issued.data)
    least = min_seconds()
    if stamp is not None and stamp.page and stamp.age >= least:
        form.issued.data = form_stamp(time.time() - least)


class Duplicate(NamedTuple):
    id: int
    status: str


def duplicate_of(post: Post, form: CommentForm, ip: str) -> Duplicate | None:
    """Return this person's comment on post with the same text from the last day, if any.

    The same person is the same email (any case) or, without an email, the same name and IP.
    """
    if not DiscussionSettings.load().refuse_duplicates:
        return None
    email = (form.author_email.data or "").strip().casefold()
    common = {
        "post_id": post.id,
        "body": form.body.data or "",
        "since": utcnow() - DUPLICATE_WINDOW,
    }
    if email:
        rows = _SAME_EMAIL.run_in_session(**common, email=email)
    else:
        name = (form.author_name.data or "").strip()
        rows = _SAME_NAME_AND_IP.run_in_session(**common, name=name, ip=ip)
    return Duplicate(*rows[0]) if rows else None


# Built once and run on the driver (blog.prepared): building the query for each comment cost
# more than running it.
_SAME_TEXT = (
    sa.select(Comment.id, Comment.status)
    .where(
        Comment.post_id == sa.bindparam("post_id", type_=sa.Integer()),
        Comment.body == sa.bindparam("body", type_=sa.Text()),
        Comment.created_at >= sa.bindparam("since", type_=UTCDateTime()),
    )
    .limit(1)
)
_SAMPLE = {"post_id": 0, "body": "", "since": None}
_SAME_EMAIL = Prepared(
    _SAME_TEXT.where(
        sa.func.lower(Comment.author_email) == sa.bindparam("email", type_=sa.String())
    ),
    **_SAMPLE,
    email="",
)
_SAME_NAME_AND_IP = Prepared(
    _SAME_TEXT.where(
        Comment.author_email == "",
        Comment.author_name == sa.bindparam("name", type_=sa.String()),
        Comment.ip == sa.bindparam("ip", type_=sa.String()),
    ),
    **_SAMPLE,
    name="",
    ip="",
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
    return readers.writer() is not None or DiscussionSettings.load().flood_seconds <= 0


def hourly_exempt() -> bool:
    """The writer is never capped; a setting of 0 turns the hourly cap off."""
    return readers.writer() is not None or DiscussionSettings.load().hourly_limit <= 0


# Previews and edits run the sanitizer as a new comment does, but store nothing new: counted on
# every request (not only when stored), in buckets of their own (Flask-Limiter keys a limit by its
# view), and PREVIEW_FACTOR times as many, so that a reader may preview a comment a few times
# before posting it without waiting.
PREVIEW_FACTOR = 5


def preview_pace() -> str:
    """Return the per-IP pace of previews and edits, e.g. "5 per 15 second"."""
    return f"{PREVIEW_FACTOR} per {max(DiscussionSettings.load().flood_seconds, 1)} second"


def preview_hourly() -> str:
    """Return the per-IP hourly cap of previews and edits, e.g. "100 per hour"."""
    return f"{PREVIEW_FACTOR * max(DiscussionSettings.load().hourly_limit, 1)} per hour"


def mark_stored() -> None:
    """Note that this request stored a comment (the limits count only those)."""
    request.environ["blog.comment_stored"] = True


def stored(response) -> bool:
    """Count only comments that were stored (not refused or unconfirmed ones) against the limits."""
    return bool(request.environ.get("blog.comment_stored"))
