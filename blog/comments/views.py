"""Posting comments in place: the form, new comments, replies, and others' comments arriving."""

from __future__ import annotations

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
from werkzeug.exceptions import NotFound, RequestEntityTooLarge

from blog import errors
from blog.bounds import row_id
from blog.comments import spam, store
from blog.comments.forms import CommentForm
from blog.comments.section import (
    POLL_BATCH,
    approved_after,
    author_of,
    new_form,
    remember_author,
    remember_held,
    top_level_comment,
)
from blog.errors import size_words
from blog.extensions import db, limiter, retry_after
from blog.htmx import is_htmx, retarget
from blog.mail import subscriptions
from blog.models import Comment, CommentStatus, Post, PostKind
from blog.permalinks import PAGE_PATH, POST_PATH, get_public_post, month_matches, post_url
from blog.posts.page import render_post_page

bp = Blueprint("comments", __name__)

# A post's comments, and a page's: the same views under both addresses.
COMMENTS = POST_PATH + "comments"
PAGE_COMMENTS = PAGE_PATH + "comments"
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


@bp.post(COMMENTS)
@bp.post(PAGE_COMMENTS)
@limiter.limit(spam.flood_limit, exempt_when=spam.flood_exempt, deduct_when=spam.stored)
@limiter.limit(spam.hourly_limit, exempt_when=spam.hourly_exempt, deduct_when=spam.stored)
def create(slug: str, year: int | None = None, month: int | None = None):
    """Add a comment: htmx gets the new fragments, a plain form post a redirect to the comment."""
    post = get_public_post(slug, year, month)
    form = CommentForm()
    if not spam.comments_open(post):
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
        return _form_again(post, form, 409)
    refused = subscriptions.refusal(form.author_email.data) if form.subscribe.data else None
    if refused:
        form.author_email.errors = [refused]
        form.parent_id.data = parent.id if parent else None
        return _form_again(post, form, 422)
    status, reason = spam.assess(post, form, request)
    comment = store.add_comment(
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
    subscribed = None
    if form.subscribe.data and comment.status != CommentStatus.SPAM:
        subscribed = subscriptions.subscribe(
            form.author_email.data, post, comment, form.subscribe.data
        ).confirmed
    db.session.commit()
    author = author_of(form) if form.remember.data else None
    if is_htmx():
        after = request.form.get("after", type=row_id)
        news = approved_after(post.id, after) if after is not None else []
        if comment.status != CommentStatus.APPROVED or comment not in news:
            news = sorted([*news, comment], key=lambda c: c.id)
        response = make_response(
            render_template(
                "comments/_created.html",
                post=post,
                comment=comment,
                new_comments=news,
                last_id=max([after or 0, *(c.id for c in news if c.status == "approved")]),
                subscribed=subscribed,
                # The fresh form keeps who is writing; only the comment is cleared.
                form=new_form(post, author=author_of(form), remember=bool(author)),
            )
        )
        retarget(response, "#comment-form-slot", "innerHTML")
    else:
        response = redirect(post_url(post, _anchor=f"comment-{comment.id}"), 303)
    if comment.status != CommentStatus.APPROVED:
        remember_held(response, comment)
    remember_author(response, author)
    return response


@bp.get(COMMENTS)
@bp.get(PAGE_COMMENTS)
def poll(slug: str, year: int | None = None, month: int | None = None):
    """Send the comments published after ?after=N (204 when there are none), in one query."""
    if not is_htmx():
        return redirect(post_url(get_public_post(slug, year, month), _anchor="comments"), 303)
    after = request.args.get("after", type=row_id)
    if after is None:
        abort(400, "Say which comments you already have: ?after=<the last comment id>.")
    rows = db.session.execute(
        sa.select(Comment, Post)
        .join(Comment.post)
        .where(
            Post.slug == slug,
            Post.kind == (PostKind.PAGE if year is None else PostKind.POST),
            Post.visible_filter(),
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
    if year is not None and month_matches(post.published_at, year, month) is False:
        abort(404)
    news = [row.Comment for row in rows]
    return render_template(
        "comments/_arrived.html", post=post, new_comments=news, last_id=news[-1].id
    )


@bp.get(COMMENTS + "/form")
@bp.get(PAGE_COMMENTS + "/form")
def form(slug: str, year: int | None = None, month: int | None = None):
    """Send the comment form, moved under the comment being answered when ?replyto=N."""
    post = get_public_post(slug, year, month)
    replyto = request.args.get("replyto", type=row_id)
    if not is_htmx():
        return redirect(post_url(post, replyto=replyto, _anchor="comment-form"), 303)
    if not spam.comments_open(post):
        return _closed(post, CommentForm(formdata=None))
    form = new_form(post, replyto=replyto)
    response = make_response(render_template("comments/_form_moved.html", post=post, form=form))
    slot = f"#reply-slot-{form.parent_id.data}" if form.parent_id.data else "#comment-form-slot"
    return retarget(response, slot, "innerHTML")


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
    seconds = retry_after(15)
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
    return retarget(response, "#comment-form-alert")


def _form_again(post: Post, form: CommentForm, status: int, alert: str = "") -> Response:
    """Answer with the form as sent and its messages: the fragment for htmx, else the page."""
    if is_htmx():
        response = make_response(
            render_template("comments/_form.html", post=post, form=form, alert=alert), status
        )
        return retarget(response, "#comment-form") if status != 422 else response
    return make_response(render_post_page(post, form=form, alert=alert), status)


def _refused(status: int, alert: str) -> Response:
    """Give a comment refused before its view ran back to the reader, with why (404: no post)."""
    try:
        post = get_public_post(**request.view_args)
    except NotFound as missing:
        return make_response(render_template("errors/error.html", error=missing), 404)
    form = CommentForm()
    form.parent_id.data = getattr(top_level_comment(post, form.parent_id.data), "id", None)
    return _form_again(post, form, status, alert=alert)


def _closed(post: Post, form: CommentForm) -> Response:
    """Refuse a comment on a closed post with 403, showing the reader what they wrote."""
    context: dict[str, Any] = {"post": post, "unsent": form.body.data or ""}
    if is_htmx():
        response = make_response(render_template("comments/_closed.html", **context), 403)
        return retarget(response, "#comment-form")
    return make_response(render_template("comments/closed.html", **context), 403)
