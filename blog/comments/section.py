"""The comment section of a post page: its form, its threaded list, and what this reader adds.

Both blueprints build the section here: the post page shows it whole, the comment views answer
htmx with parts of it. The section decides whether there is a form (comments open or closed),
where it sits (at the end, or under the comment being answered), what it is filled with (the
remembered reader, the writer), and which comments it lists (the approved ones, plus this
reader's own held ones).

The rendered list is kept per process under a key that includes Post.revision: every write to
a post's comments bumps the revision in the database (blog.comments.store), and the page reads
it with the post, so another process's write changes the key at the next request and nothing
goes stale. The list includes the likes, reposts and mentions received as webmentions, whose
writes (blog.webmention.store) bump the revision too. Only what every reader sees is kept: a
reader with comments awaiting moderation, or with the reply form open under a comment, gets the
list rendered for them alone.

Four signed cookies say who this reader is: the remembered name, email and website ("remember
me"), the ids of their comments held for moderation, those they posted moments ago (for as
long as a shared cache may still serve a page from before: their own pages are rendered for them
meanwhile, so their comment is there), and those they may still edit or delete (for as long as
the edit window lasts; their list is rendered for them, with "Edit" on those comments, and the
shared list never has it). Any of them makes the reader's pages personal
(blog.readers); a reader without them gets the shared page (shared=True below): a form with
nobody's name, no token, and a stamp of the time the page was made, marked as such
(blog.comments.spam), which static/js/comments.js replaces with a fresh one when the reader
starts writing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Response, current_app, render_template, request
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import Markup

from blog import readers
from blog.bounds import row_id
from blog.cache import app_cache
from blog.comments import spam
from blog.comments.formatting import render_comment
from blog.comments.forms import CommentForm
from blog.discussion import edit_window
from blog.extensions import db
from blog.models import Comment, CommentFormat, CommentStatus, Post, utcnow
from blog.readers import HELD_COOKIE, MINE_COOKIE, RECENT_COOKIE, REMEMBER_COOKIE
from blog.site import settings_version
from blog.webmention import reactions

# Their home is blog.readers.
__all__ = ["HELD_COOKIE", "MINE_COOKIE", "RECENT_COOKIE", "REMEMBER_COOKIE"]
HELD_KEEP = 50
HELD_SECONDS = 60 * 60 * 24 * 90
RECENT_KEEP = 20
MINE_KEEP = 20
POLL_BATCH = 100

Thread = tuple[Comment, list[Comment]]


@dataclass(frozen=True)
class Listing:
    html: Markup
    last_id: int  # the newest approved comment shown: where the page's poll starts


@dataclass(frozen=True)
class Preview:
    """A comment not stored yet, shown as it will appear (templates/comments/_comment.html)."""

    author_name: str
    author_url: str
    body_html: str
    created_at: datetime
    id: str = "preview"
    status: str = CommentStatus.APPROVED
    user_id: int | None = None
    edited_at: datetime | None = None


@dataclass(frozen=True)
class Section:
    """Everything templates/comments/_section.html shows."""

    post: Post
    is_open: bool
    form: CommentForm | None  # None when comments are closed
    listing: Listing
    alert: str = ""
    preview: Preview | None = None  # the comment sent, to confirm (spam.needs_confirmation)

    @property
    def form_at_end(self) -> bool:
        """True when the form sits after the list (not under a comment being answered)."""
        return self.form is not None and not self.form.parent_id.data


def comment_section(
    post: Post,
    form: CommentForm | None = None,
    alert: str = "",
    *,
    shared: bool = False,
    is_open: bool | None = None,
    preview: Preview | None = None,
) -> Section:
    """Build post's comment section; form is the one the reader sent back (with its errors).

    shared: for every anonymous reader (nothing personal read or shown); is_open: whether
    comments are open, as the page's cache key read it.
    """
    if is_open is None:
        is_open = spam.comments_open(post)
    if form is None and is_open:
        replyto = None if shared else request.args.get("replyto", type=row_id)
        form = new_form(post, replyto=replyto, shared=shared)
    listing = comment_listing(
        post, form, is_open=is_open, shared=shared, alert=alert, preview=preview
    )
    return Section(post, is_open, form if is_open else None, listing, alert, preview)


# --- The form ----------------------------------------------------------------------------------


def comment_form(**kwargs: Any) -> CommentForm:
    """Return the comment form (the one posted, unless formdata=None): with a CSRF token for the
    logged-in writer only.

    Readers' comments are guarded by blog.origin instead, so that their pages carry no token
    and can be shared; the writer's session still needs the token (blog.comments.views).
    """
    return CommentForm(meta={"csrf": readers.writer() is not None}, **kwargs)


def new_form(
    post: Post,
    replyto: int | None = None,
    author: dict[str, str] | None = None,
    remember: bool = True,
    shared: bool = False,
) -> CommentForm:
    """Return a blank comment form, pre-filled with the remembered author (or the writer's name).

    shared: the form of the page every anonymous reader gets: nobody's name, no token, and a
    stamp marked as the page's (the time it was made, not the time a reader sees it).
    """
    if shared:
        form = CommentForm(formdata=None, meta={"csrf": False})
        form.issued.data = spam.page_stamp()
        return form
    form = comment_form(formdata=None)
    form.issued.data = spam.form_stamp()
    author = remembered_author() if author is None else author
    writer = readers.writer()
    if author:
        form.author_name.data = author.get("name", "")
        form.author_email.data = author.get("email", "")
        form.author_url.data = author.get("url", "")
        form.remember.data = remember
    elif writer is not None:
        form.author_name.data = writer.display_name
    parent = top_level_comment(post, replyto)
    form.parent_id.data = parent.id if parent else None
    return form


def preview_of(form: CommentForm) -> Preview:
    """Return the comment the form holds as it will appear once posted (sanitized the same way)."""
    return Preview(
        author_name=(form.author_name.data or "").strip(),
        author_url=(form.author_url.data or "").strip(),
        body_html=render_comment(form.body.data or "", CommentFormat.MARKDOWN),
        created_at=utcnow(),
    )


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


# --- The list ----------------------------------------------------------------------------------


def comment_listing(
    post: Post,
    form: CommentForm | None = None,
    *,
    is_open: bool,
    shared: bool = False,
    alert: str = "",
    preview: Preview | None = None,
) -> Listing:
    """Return the post's comment list as HTML, from the cache when every reader sees the same.

    alert and preview go with the form when it sits in the list (under the comment answered).
    """
    replying = form is not None and bool(form.parent_id.data)
    editable = frozenset() if shared else editable_ids(post)
    shared = shared or (not replying and not held_ids())
    # The settings' version too: the list shows times on the blog's clock.
    key = (post.id, post.revision, is_open, request.script_root, settings_version())
    cache = app_cache("comment_listing_cache", "COMMENTS_CACHE_SIZE")
    if shared and (listing := cache.get(key)) is not None:
        return _with_edit_links(listing, post, editable)
    threads = thread(visible_comments(post))
    # Likes, reposts and mentions received as webmentions are part of the cached list.
    html = render_template(
        "comments/_list.html",
        post=post,
        threads=threads,
        form=form,
        is_open=is_open,
        alert=alert,
        preview=preview,
        reactions=reactions.for_post(post.id),
        editable=frozenset() if shared else editable,
    )
    listing = Listing(Markup(html), last_comment_id(threads))
    if shared:
        cache.put(key, listing)
        return _with_edit_links(listing, post, editable)
    return listing


def _with_edit_links(listing: Listing, post: Post, editable: frozenset[int]) -> Listing:
    """Return the shared list with "Edit" on this reader's own comments.

    The author of a comment may edit it for the whole edit window; rendering the list for them
    alone all that time cost 24 ms a page at 200 comments, against 4 for the cached list. The
    link goes at the end of its comment's header: the first </header> after the comment's id
    (what a reader wrote comes after the header, escaped, and cannot hold that tag).
    """
    html = str(listing.html)
    for comment_id in sorted(editable, reverse=True):
        start = html.find(f'<article id="comment-{comment_id}" ')
        end = html.find("</header>", start) if start >= 0 else -1
        if end < 0:
            continue  # not in this list (held, or from another post)
        link = render_template("comments/_edit_link.html", post=post, comment_id=comment_id)
        html = f"{html[:end]}{link}\n  {html[end:]}"
    return Listing(Markup(html), listing.last_id) if editable else listing


def visible_comments(post: Post) -> list[Comment]:
    """Return the approved comments plus this reader's own held ones, oldest first.

    A comment its author deleted while it had replies stays, as "This comment was deleted".
    """
    comments = post.approved_comments(with_deleted=True)
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


def thread(comments: list[Comment]) -> list[Thread]:
    """Group comments into top-level comments with their replies (one level), oldest first."""
    replies: dict[int, list[Comment]] = {}
    top: list[Comment] = []
    ids = {c.id for c in comments}
    for comment in comments:
        if comment.parent_id is not None and comment.parent_id in ids:
            replies.setdefault(comment.parent_id, []).append(comment)
        else:
            top.append(comment)
    return [(c, replies.get(c.id, [])) for c in top]


def last_comment_id(threads: list[Thread]) -> int:
    """Return the newest approved comment id on the page: where the poll starts."""
    shown = (c for top, replies in threads for c in (top, *replies))
    return max((c.id for c in shown if c.status == CommentStatus.APPROVED), default=0)


def approved_after(post_id: int, after: int) -> list[Comment]:
    """Return the approved comments of a post newer than the id after (a poll's batch)."""
    return list(
        db.session.scalars(
            sa.select(Comment)
            .where(
                Comment.post_id == post_id,
                Comment.status == CommentStatus.APPROVED,
                Comment.id > after,
            )
            .order_by(Comment.id)
            .limit(POLL_BATCH)
        )
    )


# --- Cookies: the remembered author, and the reader's own comments held for moderation ----


def _serializer(salt: str) -> URLSafeSerializer:
    return _serializer_for(current_app.secret_key, salt)


@functools.lru_cache(maxsize=32)
def _serializer_for(secret: str, salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=salt)


def _load_cookie(name: str) -> Any:
    raw = request.cookies.get(name)
    if not raw:
        return None
    try:
        return _serializer(name).loads(raw)
    except BadSignature:
        return None


def set_signed_cookie(response: Response, name: str, value: Any, max_age: int) -> None:
    """Set a cookie whose value is signed with the site's key (the reader cannot forge it)."""
    response.set_cookie(
        name,
        _serializer(name).dumps(value),
        max_age=max_age,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )


def author_of(form: CommentForm) -> dict[str, str]:
    """Return who wrote the form: name, email and website as typed."""
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


def remember_author(response: Response, author: dict[str, str] | None) -> None:
    """Keep the author's details when they opted in; forget them when they did not."""
    if author:
        set_signed_cookie(
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


def remember_held(response: Response, comment_id: int) -> None:
    """Add a comment held for moderation to this reader's list, so they alone see it."""
    set_signed_cookie(response, HELD_COOKIE, [*held_ids(), comment_id][-HELD_KEEP:], HELD_SECONDS)


def recent_ids() -> list[int]:
    """Return the ids of the comments this reader posted moments ago."""
    value = _load_cookie(RECENT_COOKIE)
    if not isinstance(value, list):
        return []
    return [i for i in value if isinstance(i, int)][-RECENT_KEEP:]


def remember_recent(response: Response, comment_id: int) -> None:
    """Make this reader's pages personal while a shared cache may still hold one from before.

    Shared caches may serve a page made before the comment for COMMENTS_POLL_SECONDS at most
    (blog.pagecache); the cookie lasts that long, and a little more for the clocks and the
    render racing the comment. The ids are there for what will show one's recent comments.
    """
    seconds = int(current_app.config["COMMENTS_POLL_SECONDS"]) + 5
    ids = [*recent_ids(), comment_id][-RECENT_KEEP:]
    set_signed_cookie(response, RECENT_COOKIE, ids, seconds)


# --- Editing one's own comment: the edit window and the cookie naming one's comments ----------

NOT_YOURS = (
    "This comment can only be changed from the browser that posted it, within {minutes} "
    "minutes of posting. If it is yours and needs changing, ask the writer."
)
TOO_LATE = (
    "This comment can no longer be changed: comments can be edited or deleted for {minutes} "
    "minutes after posting. If it needs changing, ask the writer."
)
EDITING_OFF = "Comments cannot be edited on this blog. If yours needs changing, ask the writer."
FROM_ELSEWHERE = (
    "This reply was written on another site: it changes when its page there changes "
    "(and is sent again)."
)


def mine_ids() -> list[int]:
    """Return the ids of the comments this browser posted within the edit window (its cookie)."""
    value = _load_cookie(MINE_COOKIE)
    if not isinstance(value, list):
        return []
    return [i for i in value if isinstance(i, int) and not isinstance(i, bool)][-MINE_KEEP:]


def remember_mine(response: Response, comment_id: int) -> None:
    """Name comment_id as this browser's in its cookie, for as long as the edit window lasts.

    The cookie only says which comments; whether the window is still open is read from the
    comment's own time at each request, so a cookie kept longer changes nothing.
    """
    seconds = int(edit_window().total_seconds())
    if seconds <= 0:
        return
    ids = [i for i in mine_ids() if i != comment_id]
    set_signed_cookie(response, MINE_COOKIE, [*ids, comment_id][-MINE_KEEP:], seconds)


def _minutes(window: timedelta) -> int:
    return int(window.total_seconds() // 60)


def edit_refusal(comment: Comment) -> str | None:
    """Return why this reader may not edit or delete comment now, or None when they may."""
    if comment.source_url:
        # A webmention reply is its source's: blog.webmention updates it from there. No
        # reader's cookie can name it (only posting the form adds an id), but that is the
        # cookie's rule, and this one should not rest on it.
        return FROM_ELSEWHERE
    window = edit_window()
    if window <= timedelta(0):
        return EDITING_OFF
    if comment.id not in mine_ids():
        return NOT_YOURS.format(minutes=_minutes(window))
    if utcnow() >= comment.created_at + window:
        return TOO_LATE.format(minutes=_minutes(window))
    return None


def edit_deadline(comment: Comment) -> datetime:
    """Return when the edit window of comment closes."""
    return comment.created_at + edit_window()


def editable_ids(post: Post) -> frozenset[int]:
    """Return the ids of this reader's comments on post that they may still edit (one query,
    and none for a reader without the cookie)."""
    mine = mine_ids()
    if not mine:
        return frozenset()
    window = edit_window()
    if window <= timedelta(0):
        return frozenset()
    return frozenset(
        db.session.scalars(
            sa.select(Comment.id).where(
                Comment.id.in_(mine),
                Comment.post_id == post.id,
                Comment.status != CommentStatus.DELETED,
                Comment.source_url == "",
                Comment.created_at > utcnow() - window,
            )
        )
    )
