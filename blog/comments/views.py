"""Posting comments in place: the form, new comments, replies, and others' comments arriving.

The form comes from shared pages, so it carries no CSRF token: blog.origin refuses posts a
browser made from another site (and still wants the token from the logged-in writer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
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
    url_for,
)
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import NotFound, RequestEntityTooLarge

from blog import errors, origin, readers
from blog.bounds import row_id
from blog.comments import spam, store
from blog.comments.forms import CommentForm, EditCommentForm
from blog.comments.section import (
    POLL_BATCH,
    Preview,
    approved_after,
    author_of,
    comment_form,
    edit_deadline,
    edit_refusal,
    editable_ids,
    new_form,
    preview_of,
    remember_author,
    remember_held,
    remember_mine,
    remember_recent,
    top_level_comment,
)
from blog.errors import size_words
from blog.extensions import db, limiter, retry_after
from blog.htmx import is_htmx, retarget
from blog.mail import subscriptions
from blog.models import (
    Comment,
    CommentFormat,
    CommentStatus,
    Post,
    PostKind,
    Setting,
    UTCDateTime,
    utcnow,
)
from blog.permalinks import (
    PAGE_PATH,
    POST_PATH,
    get_public_post,
    month_matches,
    permalink_month,
    post_url,
)
from blog.posts.page import render_post_page
from blog.prepared import Prepared
from blog.site import SETTING_KEY as SITE_KEY
from blog.site import zone_of

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
CONFIRM = (
    "Please check your comment: this is how it will appear. Post it below, or change it first."
)
PREVIEWED = "This is how your comment will appear. It is not posted yet: post it below."
# The views that take the comment form: what refuses one gives the reader's text back.
FORM_VIEWS = frozenset({"comments.create", "comments.preview"})


@bp.before_request
def read_the_form_first() -> None:
    """Parse a posted comment before anything else looks at it (the rate limits included).

    A body over MAX_CONTENT_LENGTH then answers 413, in place and keeping the text, whatever
    else would refuse it too (CSRFProtect used to read the form first for its token).
    """
    if request.endpoint in FORM_VIEWS:
        request.form  # noqa: B018 (raises RequestEntityTooLarge)


@bp.post(COMMENTS)
@bp.post(PAGE_COMMENTS)
@limiter.limit(spam.flood_limit, exempt_when=spam.flood_exempt, deduct_when=spam.stored)
@limiter.limit(spam.hourly_limit, exempt_when=spam.hourly_exempt, deduct_when=spam.stored)
@origin.protect
def create(slug: str, year: int | None = None, month: int | None = None):
    """Add a comment: htmx gets the new fragments, a plain form post a redirect to the comment."""
    ref, form, parent, refusal = _read_form(slug, year, month)
    if refusal is not None:
        return refusal
    duplicate = spam.duplicate_of(ref, form, request.remote_addr or "")
    if duplicate is not None:
        held = "" if duplicate.status == CommentStatus.APPROVED else " (it waits for moderation)"
        form.body.errors = [DUPLICATE.format(held=held)]
        return _form_again(ref.load(), form, 409)
    refused = subscriptions.refusal(form.author_email.data) if form.subscribe.data else None
    if refused:
        form.author_email.errors = [refused]
        return _form_again(ref.load(), form, 422)
    if spam.needs_confirmation(form):
        return _form_again(ref.load(), form, 200, alert=CONFIRM, preview=preview_of(form))
    status, reason = spam.assess(ref, form, request)
    writer = readers.writer()
    comment = store.add_comment(
        ref,
        author_name=form.author_name.data,
        author_email=form.author_email.data or "",
        author_url=form.author_url.data or "",
        body=form.body.data,
        parent=parent,
        status=status,
        reason=reason,
        ip=request.remote_addr or "",
        user_agent=request.user_agent.string,
        user_id=writer.id if writer is not None else None,
        format=CommentFormat.MARKDOWN,
    )
    comment_id, approved = comment.id, status == CommentStatus.APPROVED
    subscribed = None
    if form.subscribe.data and status != CommentStatus.SPAM:
        # Subscribing is rare: the whole post is read for it, not for every comment.
        subscribed = subscriptions.subscribe(
            form.author_email.data, ref.load(), comment, form.subscribe.data
        ).confirmed
    db.session.commit()
    spam.mark_stored()
    if is_htmx():
        response = _created(ref.load(), form, comment, subscribed)
    else:
        response = redirect(ref.url(_anchor=f"comment-{comment_id}"), 303)
    if not approved:
        remember_held(response, comment_id)
    remember_recent(response, comment_id)
    remember_mine(response, comment_id)
    remember_author(response, author_of(form) if form.remember.data else None)
    return response


@bp.post(COMMENTS + "/preview")
@bp.post(PAGE_COMMENTS + "/preview")
@limiter.limit(spam.preview_pace, exempt_when=spam.flood_exempt)
@limiter.limit(spam.preview_hourly, exempt_when=spam.hourly_exempt)
@origin.protect
def preview(slug: str, year: int | None = None, month: int | None = None):
    """Show the comment as it will appear once posted, in the form, text kept; store nothing.

    htmx gets the form back with the preview above the fields; a plain form post the whole
    page. The comment is rendered as posting would render it (blog.comments.formatting).
    """
    ref, form, _, refusal = _read_form(slug, year, month)
    if refusal is not None:
        return refusal
    spam.stamp_after_preview(form)
    return _form_again(ref.load(), form, 200, alert=PREVIEWED, preview=preview_of(form))


def _read_form(slug: str, year: int | None, month: int | None):
    """Read the comment form sent to a post or page, for posting and previewing alike.

    Return (the post, the form, the comment answered, None), or the answer to send instead as
    the last item: the form back when comments are closed or a field is wrong.
    """
    ref = _post_to_comment(slug, year, month)
    form = comment_form()
    if not spam.comments_open(ref):
        return ref, form, None, _closed(ref.load(), form)
    parent = top_level_comment(ref, form.parent_id.data)
    form.parent_id.data = parent.id if parent else None
    if not form.validate_on_submit():
        return ref, form, parent, _form_again(ref.load(), form, 422)
    return ref, form, parent, None


@dataclass(frozen=True)
class PostRef:
    """What posting a comment needs of its post, read without the ORM (posting is the hot
    write); load() gives the whole post when a page must be shown instead."""

    id: int
    slug: str
    kind: str
    published_at: datetime
    comments_open: bool
    address: dict[str, int | str]  # the URL's values: the month on the blog's clock, the slug

    def load(self) -> Post:
        return db.session.get(Post, self.id)

    def url(self, **values) -> str:
        """Return the post's (or page's) address, without reading the site settings again."""
        endpoint = "pages.detail" if self.kind == PostKind.PAGE else "posts.detail"
        return url_for(endpoint, **self.address, **values)


def _post_to_comment(slug: str, year: int | None, month: int | None) -> PostRef:
    """Return the public post at /year/month/slug/, or the page at /slug/ when year is None.

    The site settings come with the post, for the blog's clock (which month is the post's).
    Anything but an exact hit goes through get_public_post, which answers it: 410 where a
    deleted entry was, a 308 to the post's month on the blog's clock, else 404.
    """
    page = year is None
    rows = (_PAGE_TO_COMMENT if page else _POST_TO_COMMENT).run_in_session(slug=slug, now=utcnow())
    if rows:
        post_id, published, comments_open, site_text = rows[0]
        published_at = datetime.fromisoformat(published).replace(tzinfo=UTC)
        if page or permalink_month(published_at, zone_of(site_text)) == (year, month):
            kind = PostKind.PAGE if page else PostKind.POST
            address = {"slug": slug} if page else {"year": year, "month": month, "slug": slug}
            return PostRef(post_id, slug, kind, published_at, bool(comments_open), address)
    get_public_post(slug, year, month)
    abort(404)


def _to_comment(visible: sa.ColumnElement[bool]) -> Prepared:
    """Build once the read of what posting needs, run on the driver in the request's
    transaction (blog.prepared)."""
    return Prepared(
        sa.select(
            Post.id,
            sa.cast(Post.published_at, sa.Text),
            sa.cast(Post.comments_open, sa.Integer),
            Setting.stored_text(SITE_KEY),
        ).where(Post.slug == sa.bindparam("slug", type_=sa.String()), visible),
        slug="",
        now=None,
    )


_NOW = sa.bindparam("now", type_=UTCDateTime())
_POST_TO_COMMENT = _to_comment(Post.public_filter(_NOW))
_PAGE_TO_COMMENT = _to_comment(Post.public_page_filter(_NOW))


def _created(post: Post, form: CommentForm, comment: Comment, subscribed: bool | None) -> Response:
    """Answer htmx: the new comment and others' since ?after, the count, a fresh form.

    subscribed: None when the reader asked for no mail, else whether their address is
    confirmed already (the message says whether to expect a confirmation mail).
    """
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
            # Its author may edit it at once (the response names it in their cookie).
            editable=frozenset(editable_ids(post) | {comment.id}),
            # The fresh form keeps who is writing; only the comment is cleared.
            form=new_form(post, author=author_of(form), remember=bool(form.remember.data)),
        )
    )
    return retarget(response, "#comment-form-slot", "innerHTML")


@bp.get(COMMENTS)
@bp.get(PAGE_COMMENTS)
def poll(slug: str, year: int | None = None, month: int | None = None):
    """Send the comments published after ?after=N (204 when there are none), in one query."""
    if not is_htmx():
        return redirect(post_url(get_public_post(slug, year, month), _anchor="comments"), 303)
    after = request.args.get("after", type=row_id)
    if after is None:
        abort(400, "Say which comments you already have: ?after=<the last comment id>.")
    response = make_response(_arrived(slug, year, month, after))
    # Never from a cache: the poll is how a new comment reaches readers within its interval.
    response.headers["Cache-Control"] = "no-cache"
    return response


def _arrived(slug: str, year: int, month: int, after: int):
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
        return _closed(post, comment_form(formdata=None))
    form = new_form(post, replyto=replyto)
    response = make_response(render_template("comments/_form_moved.html", post=post, form=form))
    response.headers["Cache-Control"] = "no-store"  # a fresh stamp, and maybe a name
    slot = f"#reply-slot-{form.parent_id.data}" if form.parent_id.data else "#comment-form-slot"
    return retarget(response, slot, "innerHTML")


EDIT = "/<int:comment_id>/edit"
SAVED = "Your changes were saved."
SAVED_HELD = (
    "Your changes were saved. The comment now waits for the writer's approval; only you can "
    "see it until then."
)
WITHDRAWN = "Your comment was deleted."


@bp.route(COMMENTS + EDIT, methods=["GET", "POST"])
@bp.route(PAGE_COMMENTS + EDIT, methods=["GET", "POST"])
@limiter.limit(spam.preview_pace, methods=["POST"], exempt_when=spam.flood_exempt)
@limiter.limit(spam.preview_hourly, methods=["POST"], exempt_when=spam.hourly_exempt)
@origin.protect
def edit(slug: str, comment_id: int, year: int | None = None, month: int | None = None):
    """Change or delete one's own comment within the edit window (403 for anybody else).

    htmx swaps the comment for its form ("Edit") and back (Save, Cancel); without JavaScript
    this is a page of its own that posts to itself and goes back to the comment. Everything is
    written through blog.comments.store, which marks the post changed for every cache.
    """
    post = get_public_post(slug, year, month)
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.post_id != post.id or comment.status == CommentStatus.DELETED:
        abort(404)
    if request.method == "GET" and "cancel" in request.args:
        return _comment_again(post, comment)
    refusal = edit_refusal(comment)
    if refusal is not None:
        return _edit_refused(post, comment, refusal)
    form = EditCommentForm(meta={"csrf": False})  # the writer's token: blog.origin
    if request.method == "GET":
        form.body.data = comment.body
        return _edit_form(post, comment, form)
    if form.deleting:
        return _withdrawn(post, comment)
    if not form.validate():
        return _edit_form(post, comment, form, 422)
    status, reason = spam.assess_edit(post, comment, form.body.data, request)
    store.edit(comment, form.body.data, status=status, reason=reason)
    held = comment.status != CommentStatus.APPROVED
    db.session.commit()
    if is_htmx():
        response = _comment_again(post, comment, status=SAVED_HELD if held else SAVED)
    else:
        response = redirect(f"{post_url(post)}#comment-{comment.id}", 303)
    if held:
        remember_held(response, comment.id)
    return response


def _comment_again(post: Post, comment: Comment, status: str = "", notice: str = "") -> Response:
    """Answer htmx with the comment shown again (after Save or Cancel), else go to it."""
    if not is_htmx():
        return redirect(f"{post_url(post)}#comment-{comment.id}", 303)
    context = {
        "post": post,
        "comment": comment,
        "editable": editable_ids(post),
        "notice": notice,
        "status_message": status,
    }
    response = make_response(render_template("comments/_edited.html", **context))
    response.headers["Cache-Control"] = "no-store"
    return response


def _edit_form(post: Post, comment: Comment, form: EditCommentForm, status: int = 200) -> Response:
    """Answer with the edit form: in place of the comment for htmx, else as a page."""
    context = {"post": post, "comment": comment, "form": form, "until": edit_deadline(comment)}
    template = "comments/_edit.html" if is_htmx() else "comments/edit.html"
    response = make_response(render_template(template, **context), status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _edit_refused(post: Post, comment: Comment, refusal: str) -> Response:
    """Refuse to change a comment (not this browser's, or too late) with 403 and why."""
    if is_htmx():
        response = make_response(
            render_template(
                "comments/_edited.html", post=post, comment=comment, editable=(), notice=refusal
            ),
            403,
        )
        return retarget(response, f"#comment-{comment.id}")
    return make_response(
        render_template("comments/edit_refused.html", post=post, comment=comment, alert=refusal),
        403,
    )


def _withdrawn(post: Post, comment: Comment) -> Response:
    """Delete one's own comment (kept as "This comment was deleted" if it has replies)."""
    comment_id = comment.id
    gone = store.withdraw(comment)
    db.session.commit()
    if not is_htmx():
        anchor = f"comment-{comment_id}" if comment_id not in gone else "comments"
        return redirect(f"{post_url(post)}#{anchor}", 303)
    context = {"post": post, "gone": sorted(gone), "status_message": WITHDRAWN}
    if comment_id in gone:
        response = make_response(render_template("comments/_edited.html", **context))
        response.headers["HX-Reswap"] = "none"  # only the out-of-band parts: the item goes
    else:
        kept = db.session.get(Comment, comment_id)
        response = make_response(
            render_template("comments/_edited.html", comment=kept, editable=(), **context)
        )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/comments/stamp")
def stamp():
    """Send a fresh form stamp: static/js/comments.js puts it in a shared page's form."""
    response = make_response(spam.form_stamp())
    response.mimetype = "text/plain"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(origin.CrossOriginRefused)
def cross_origin(error: origin.CrossOriginRefused):
    """Refuse a comment another site's page sent, giving the text back (403)."""
    if request.endpoint not in FORM_VIEWS:
        return errors.http_error(error)
    return _refused(403, origin.REFUSED)


@bp.errorhandler(CSRFError)
def csrf_error(error: CSRFError):
    """Explain an expired or missing form token, keeping the comment the reader typed.

    Other forms get the site-wide page of blog.errors; this one gives the comment back.
    """
    if request.endpoint not in FORM_VIEWS:
        return errors.csrf_error(error)
    return _refused(400, EXPIRED)


@bp.errorhandler(RateLimitExceeded)
def too_fast(error: RateLimitExceeded):
    """Ask a reader who comments too often to wait, saying how long, keeping the comment."""
    if request.endpoint not in FORM_VIEWS:
        return errors.http_error(error)
    seconds = retry_after(15)
    response = _refused(429, TOO_FAST.format(seconds=seconds))
    if response.status_code == 429:
        response.headers["Retry-After"] = str(seconds)
    return response


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error: RequestEntityTooLarge):
    """Say a comment is over the size limit; for htmx only the alert changes, keeping the text."""
    if request.endpoint not in FORM_VIEWS or not is_htmx():
        return errors.too_large(error)
    limit = size_words(current_app.config.get("MAX_CONTENT_LENGTH") or 0)
    response = make_response(
        render_template("comments/_alert.html", alert=TOO_LARGE.format(limit=limit)), 413
    )
    return retarget(response, "#comment-form-alert")


def _form_again(
    post: Post, form: CommentForm, status: int, alert: str = "", preview: Preview | None = None
) -> Response:
    """Answer with the form as sent and its messages: the fragment for htmx, else the page.

    A page stamp in it becomes a fresh one (the reader has the form in front of them now), so
    sending it again after a correction needs no confirmation.
    """
    stamp = spam.read_stamp(form.issued.data)
    if stamp is not None and stamp.page:
        form.issued.data = spam.form_stamp()
    if is_htmx():
        context = {"post": post, "form": form, "alert": alert, "preview": preview}
        response = make_response(render_template("comments/_form.html", **context), status)
        if status not in (200, 422):
            retarget(response, "#comment-form")
    else:
        response = make_response(
            render_post_page(post, form=form, alert=alert, preview=preview), status
        )
    response.headers["Cache-Control"] = "no-store"  # what this reader typed
    return response


def _refused(status: int, alert: str) -> Response:
    """Give a comment refused before its view ran back to the reader, with why (404: no post)."""
    try:
        post = get_public_post(**request.view_args)
    except NotFound as missing:
        return make_response(render_template("errors/error.html", error=missing), 404)
    form = comment_form()
    form.parent_id.data = getattr(top_level_comment(post, form.parent_id.data), "id", None)
    return _form_again(post, form, status, alert=alert)


def _closed(post: Post, form: CommentForm) -> Response:
    """Refuse a comment on a closed post with 403, showing the reader what they wrote."""
    context: dict[str, Any] = {"post": post, "unsent": form.body.data or ""}
    if is_htmx():
        response = make_response(render_template("comments/_closed.html", **context), 403)
        return retarget(response, "#comment-form")
    return make_response(render_template("comments/closed.html", **context), 403)
