"""Posting comments in place: the form, new comments, replies, and others' comments arriving."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
)
from flask_limiter import RateLimitExceeded
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.exceptions import NotFound, RequestEntityTooLarge

from blog import errors
from blog.comments import spam
from blog.comments.forms import CommentForm
from blog.comments.spam import comments_open
from blog.content import add_comment
from blog.errors import size_words
from blog.extensions import db, limiter
from blog.htmx import is_htmx, vary_on_htmx
from blog.models import Comment, CommentStatus, Post
from blog.posts.views import POST_PATH, get_public_post, render_detail
from blog.templating import post_url

bp = Blueprint("comments", __name__)

COMMENTS = POST_PATH + "comments"
REMEMBER_COOKIE = "comment_author"
HELD_COOKIE = "comment_held"
HELD_KEEP = 50
HELD_SECONDS = 60 * 60 * 24 * 90
POLL_BATCH = 100
MAX_ROW_ID = 2**63 - 1  # the largest integer PostgreSQL and SQLite store
CLOSED = "Comments are closed."
EXPIRED = (
    "Your comment could not be sent: the form had expired. It is still here: please send it again."
)
TOO_FAST = (
    "You're commenting too fast — try again in {seconds} seconds. Your comment is still here."
)
DUPLICATE = (
    "You already sent this comment here today{held}. Change it if you meant to say something new."
)
TOO_LARGE = (
    "Your comment could not be sent: it is larger than this blog accepts (at most {limit}). "
    "Nothing you typed was lost; please shorten it and send it again."
)


def row_id(value: str) -> int:
    """Read a comment id from a form or query: a whole number the database can hold, else none."""
    number = int(value)
    if not 0 <= number <= MAX_ROW_ID:
        raise ValueError("out of range")
    return number


@bp.after_request
def add_vary(response: Response) -> Response:
    return vary_on_htmx(response)


@bp.app_template_global()
def comment_form(post: Post) -> CommentForm:
    """Return the empty comment form for post, under ?replyto=N when the reader is replying."""
    return new_form(post, replyto=request.args.get("replyto", type=row_id))


bp.add_app_template_global(comments_open)


@bp.app_template_global()
def last_comment_id(threads: list[tuple[Comment, list[Comment]]]) -> int:
    """Return the newest approved comment id on the page: where the poll starts."""
    shown = (c for top, replies in threads for c in (top, *replies))
    return max((c.id for c in shown if c.status == CommentStatus.APPROVED), default=0)


@bp.post(COMMENTS)
@limiter.limit(spam.flood_limit, exempt_when=spam.flood_exempt, deduct_when=spam.stored)
@limiter.limit(spam.hourly_limit, exempt_when=spam.hourly_exempt, deduct_when=spam.stored)
def create(year: int, month: int, slug: str):
    """Add a comment: htmx gets the new fragments, a plain form post a redirect to the comment."""
    post = get_public_post(year, month, slug)
    form = CommentForm()
    if not comments_open(post):
        return _closed(post, form)
    parent = top_level_comment(post, form.parent_id.data)
    if not form.validate_on_submit():
        form.parent_id.data = parent.id if parent else None
        return _form_again(post, form, 422)
    duplicate = spam.duplicate_of(post, form, request.remote_addr or "")
    if duplicate is not None:
        held = "" if duplicate.status == CommentStatus.APPROVED else " (it waits for moderation)"
        form.body.errors = [DUPLICATE.format(held=held)]
        form.parent_id.data = parent.id if parent else None
        return _form_again(post, form, 409, retarget=True)
    status, reason = spam.assess(post, form, request)
    comment = add_comment(
        post,
        author_name=form.author_name.data,
        author_email=form.author_email.data or "",
        author_url=form.author_url.data or "",
        body=form.body.data,
        parent=parent,
        status=status,
        reason=reason,
        ip=request.remote_addr or "",
        user_agent=request.user_agent.string,
        user_id=current_user.id if current_user.is_authenticated else None,
    )
    db.session.commit()
    author = _author(form) if form.remember.data else None
    if is_htmx():
        after = request.form.get("after", type=row_id)
        news = _approved_after(post, after) if after is not None else []
        if comment.status != CommentStatus.APPROVED or comment not in news:
            news = sorted([*news, comment], key=lambda c: c.id)
        response = make_response(
            render_template(
                "comments/_created.html",
                post=post,
                comment=comment,
                new_comments=news,
                last_id=max([after or 0, *(c.id for c in news if c.status == "approved")]),
                # The fresh form keeps who is writing; only the comment is cleared.
                form=new_form(post, author=_author(form), remember=bool(author)),
            )
        )
        response.headers["HX-Retarget"] = "#comment-form-slot"
        response.headers["HX-Reswap"] = "innerHTML"
    else:
        response = redirect(post_url(post, _anchor=f"comment-{comment.id}"), 303)
    if comment.status != CommentStatus.APPROVED:
        _remember_held(response, comment)
    _remember_author(response, author)
    return response


@bp.get(COMMENTS)
def poll(year: int, month: int, slug: str):
    """Send the comments published after ?after=N (204 when there are none), in one query."""
    if not is_htmx():
        return redirect(post_url(get_public_post(year, month, slug), _anchor="comments"), 303)
    after = request.args.get("after", type=row_id)
    if after is None:
        abort(400, "Say which comments you already have: ?after=<the last comment id>.")
    rows = db.session.execute(
        sa.select(Comment, Post)
        .join(Comment.post)
        .where(
            Post.slug == slug,
            Post.public_filter(),
            Comment.status == CommentStatus.APPROVED,
            Comment.id > after,
        )
        .order_by(Comment.id)
        .limit(POLL_BATCH)
        .options(so.lazyload(Post.tags), so.lazyload(Post.author))
    ).all()
    if not rows:
        return "", 204
    post = rows[0].Post
    if (post.published_at.year, post.published_at.month) != (year, month):
        abort(404)
    news = [row.Comment for row in rows]
    return render_template(
        "comments/_arrived.html", post=post, new_comments=news, last_id=news[-1].id
    )


@bp.get(COMMENTS + "/form")
def form(year: int, month: int, slug: str):
    """Send the comment form, moved under the comment being answered when ?replyto=N."""
    post = get_public_post(year, month, slug)
    replyto = request.args.get("replyto", type=row_id)
    if not is_htmx():
        return redirect(post_url(post, replyto=replyto, _anchor="comment-form"), 303)
    if not comments_open(post):
        return _closed(post, CommentForm(formdata=None))
    form = new_form(post, replyto=replyto)
    response = make_response(render_template("comments/_form_moved.html", post=post, form=form))
    slot = f"#reply-slot-{form.parent_id.data}" if form.parent_id.data else "#comment-form-slot"
    response.headers["HX-Retarget"] = slot
    response.headers["HX-Reswap"] = "innerHTML"
    return response


@bp.errorhandler(CSRFError)
def csrf_error(error: CSRFError):
    """Explain an expired or missing form token, keeping the comment the reader typed.

    Other forms get the site-wide page of blog.errors; this one gives the comment back.
    """
    if request.endpoint != "comments.create":
        return errors.csrf_error(error)
    return _refused(400, EXPIRED)


@bp.errorhandler(RateLimitExceeded)
def too_fast(error: RateLimitExceeded):
    """Ask a reader who comments too often to wait, saying how long, keeping the comment."""
    if request.endpoint != "comments.create":
        return errors.http_error(error)
    limit = limiter.current_limit
    seconds = max(1, int(limit.reset_at - time.time())) if limit else 15
    response = _refused(429, TOO_FAST.format(seconds=seconds))
    if response.status_code == 429:
        response.headers["Retry-After"] = str(seconds)
    return response


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error: RequestEntityTooLarge):
    """Say a comment is over the size limit; for htmx only the alert changes, keeping the text."""
    if request.endpoint != "comments.create" or not is_htmx():
        return errors.too_large(error)
    limit = size_words(current_app.config.get("MAX_CONTENT_LENGTH") or 0)
    response = make_response(
        render_template("comments/_alert.html", alert=TOO_LARGE.format(limit=limit)), 413
    )
    response.headers["HX-Retarget"] = "#comment-form-alert"
    response.headers["HX-Reswap"] = "outerHTML"
    return vary_on_htmx(response)


def new_form(
    post: Post,
    replyto: int | None = None,
    author: dict[str, str] | None = None,
    remember: bool = True,
) -> CommentForm:
    """Return a blank comment form, pre-filled with the remembered author (or the writer's name)."""
    form = CommentForm(formdata=None)
    form.issued.data = spam.form_stamp()
    author = remembered_author() if author is None else author
    if author:
        form.author_name.data = author.get("name", "")
        form.author_email.data = author.get("email", "")
        form.author_url.data = author.get("url", "")
        form.remember.data = remember
    elif current_user.is_authenticated:
        form.author_name.data = current_user.display_name
    parent = top_level_comment(post, replyto)
    form.parent_id.data = parent.id if parent else None
    return form


def top_level_comment(post: Post, comment_id: int | None) -> Comment | None:
    """Return the approved top-level comment of post that a reply to comment_id goes under."""
    if not comment_id:
        return None
    comment = db.session.get(Comment, comment_id)
    if comment is not None and comment.parent_id is not None:
        comment = db.session.get(Comment, comment.parent_id)
    if comment is None or comment.post_id != post.id or comment.status != CommentStatus.APPROVED:
        return None
    return comment


def visible_comments(post: Post) -> list[Comment]:
    """Return the approved comments plus this reader's own held ones, oldest first."""
    comments = post.approved_comments()
    held = held_ids()
    if held:
        mine = db.session.scalars(
            sa.select(Comment).where(
                Comment.id.in_(held),
                Comment.post_id == post.id,
                Comment.status != CommentStatus.APPROVED,
            )
        )
        comments = sorted([*comments, *mine], key=lambda c: (c.created_at, c.id))
    return comments


def _approved_after(post: Post, after: int) -> list[Comment]:
    return list(
        db.session.scalars(
            sa.select(Comment)
            .where(
                Comment.post_id == post.id,
                Comment.status == CommentStatus.APPROVED,
                Comment.id > after,
            )
            .order_by(Comment.id)
            .limit(POLL_BATCH)
        )
    )


def _form_again(
    post: Post, form: CommentForm, status: int, alert: str = "", retarget: bool = False
) -> Response:
    """Answer with the form as sent and its messages: the fragment for htmx, else the page."""
    if is_htmx():
        response = make_response(
            render_template("comments/_form.html", post=post, form=form, alert=alert), status
        )
        if retarget:
            # htmx swaps only 2xx and 422 by itself; comments.js swaps a 4xx that names its target.
            response.headers["HX-Retarget"] = "#comment-form"
            response.headers["HX-Reswap"] = "outerHTML"
        return response
    return make_response(render_detail(post, form=form, alert=alert), status)


def _refused(status: int, alert: str) -> Response:
    """Give a comment refused before its view ran back to the reader, with why (404: no post)."""
    try:
        post = get_public_post(**request.view_args)
    except NotFound as missing:
        return vary_on_htmx(make_response(render_template("errors/error.html", error=missing), 404))
    form = CommentForm()
    form.parent_id.data = getattr(top_level_comment(post, form.parent_id.data), "id", None)
    return vary_on_htmx(_form_again(post, form, status, alert=alert, retarget=True))


def _closed(post: Post, form: CommentForm) -> Response:
    """Refuse a comment on a closed post with 403, showing the reader what they wrote."""
    context: dict[str, Any] = {"post": post, "unsent": form.body.data or ""}
    if is_htmx():
        response = make_response(render_template("comments/_closed.html", **context), 403)
        response.headers["HX-Retarget"] = "#comment-form"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    return make_response(render_template("comments/closed.html", **context), 403)


# --- Cookies: the remembered author, and the reader's own comments held for moderation ----


def _serializer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=salt)


def _load_cookie(name: str) -> Any:
    raw = request.cookies.get(name)
    if not raw:
        return None
    try:
        return _serializer(name).loads(raw)
    except BadSignature:
        return None


def _set_cookie(response: Response, name: str, value: Any, max_age: int) -> None:
    response.set_cookie(
        name,
        _serializer(name).dumps(value),
        max_age=max_age,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )


def _author(form: CommentForm) -> dict[str, str]:
    return {
        "name": form.author_name.data or "",
        "email": form.author_email.data or "",
        "url": form.author_url.data or "",
    }


def remembered_author() -> dict[str, str]:
    """Return the name, email and website this browser asked us to remember, if any."""
    value = _load_cookie(REMEMBER_COOKIE)
    if not isinstance(value, dict):
        return {}
    return {k: str(value.get(k, ""))[:500] for k in ("name", "email", "url")}


def _remember_author(response: Response, author: dict[str, str] | None) -> None:
    """Keep the author's details when they opted in; forget them when they did not."""
    if author:
        _set_cookie(
            response, REMEMBER_COOKIE, author, current_app.config["COMMENTS_REMEMBER_SECONDS"]
        )
    elif REMEMBER_COOKIE in request.cookies:
        response.delete_cookie(REMEMBER_COOKIE, httponly=True, samesite="Lax")


def held_ids() -> list[int]:
    """Return the ids of this reader's comments that wait for moderation."""
    value = _load_cookie(HELD_COOKIE)
    if not isinstance(value, list):
        return []
    return [i for i in value if isinstance(i, int)][-HELD_KEEP:]


def _remember_held(response: Response, comment: Comment) -> None:
    _set_cookie(response, HELD_COOKIE, [*held_ids(), comment.id][-HELD_KEEP:], HELD_SECONDS)
