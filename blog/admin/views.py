"""The writer's back office: first-run setup, login, posts, comment moderation, settings."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter.errors import RateLimitExceeded
from flask_login import current_user

from blog import sessions
from blog.admin import auth, throttle
from blog.admin.forms import (
    ActionForm,
    BulkForm,
    CommentTextForm,
    DiscussionForm,
    LoginForm,
    PageForm,
    PostForm,
    PreviewForm,
    ReplyForm,
    SetupForm,
    SiteForm,
)
from blog.admin.notifications import bp as notifications_bp
from blog.admin.webmentions import bp as webmentions_bp
from blog.bounds import page_number
from blog.comments import store
from blog.content import delete_post as delete_post_and_comments
from blog.content import parse_tag_list, render_body, save_post, slugify
from blog.discussion import DiscussionSettings, parse_blocklist
from blog.extensions import db, limiter, login_manager, request_cache, retry_after
from blog.htmx import is_htmx
from blog.jobs import runner
from blog.mail import delivery, subscriptions
from blog.media.markup import missing_alt
from blog.models import Comment, CommentFormat, CommentStatus, Post, PostKind, PostStatus, utcnow
from blog.permalinks import page_slug_problem
from blog.site import SiteSettings, site, time_zones
from blog.webmention import send as webmentions

bp = Blueprint("admin", __name__)
# The mail pages (account, subscribers, failed jobs): admin.mail.*, behind the same login.
bp.register_blueprint(notifications_bp)
# Webmentions received (admin.webmentions.*), behind the same login.
bp.register_blueprint(webmentions_bp)

# The only endpoints of this blueprint a reader without a session may reach.
PUBLIC_ENDPOINTS = frozenset({"admin.login", "admin.logout", "admin.setup"})
# Wrong passwords from one address, whatever the username (blog.admin.throttle slows each
# username down on top of this).
LOGIN_LIMITS = "5/minute;30/hour"
# Where comment_counts_by_status leaves this request's counts for the navigation.
_COUNTS = "admin_comment_counts"
QUEUE_STATUSES = {
    CommentStatus.PENDING: "Pending",
    CommentStatus.APPROVED: "Approved",
    CommentStatus.SPAM: "Spam",
}


@bp.before_request
def require_login():
    """Send readers without a session to the login page, for every back-office URL."""
    if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
        return None
    if is_htmx():
        # A redirect would swap the login page into a table row: send the browser there.
        response = Response(status=401)
        response.headers["HX-Redirect"] = url_for("admin.login")
        return response
    if request.method not in ("GET", "HEAD"):
        # After logging in, come back to a page, never to a URL that only takes POSTs.
        flash("Your session has ended: log in again, then repeat what you were doing.")
        back = urlsplit(request.referrer or "")
        page = back.path if back.netloc == request.host else ""
        return redirect(
            url_for("admin.login", next=auth.safe_next(page) or url_for("admin.dashboard"))
        )
    return login_manager.unauthorized()


@bp.app_context_processor
def admin_counts() -> dict:
    """Expose the pending-comment count to the back office's navigation (every blueprint's
    back-office pages extend admin/base.html: the media library's too)."""

    def pending_count() -> int:
        counted = request_cache().get(_COUNTS)
        if counted is not None:  # the page counted every folder already: no query more
            return counted.get(CommentStatus.PENDING, 0)
        return db.session.scalar(
            sa.select(sa.func.count(Comment.id)).where(Comment.status == CommentStatus.PENDING)
        )

    return {"pending_count": pending_count}


# A listed comment shows its post's title and link, in the same statement; never its tags
# (Post.tags loads "selectin": a statement more per page otherwise).
_WITH_POST = sa.orm.joinedload(Comment.post).lazyload(Post.tags)


def comment_counts_by_status() -> dict[str, int]:
    """Count the comments in each folder: approved, pending, spam (the navigation's pending
    count then reads them too)."""
    rows = db.session.execute(
        sa.select(Comment.status, sa.func.count(Comment.id)).group_by(Comment.status)
    )
    counts = request_cache()[_COUNTS] = dict(rows.all())
    return counts


# --- Sessions ---------------------------------------------------------------------------------


def _failed_login(response: Response) -> bool:
    return response.status_code == 401


@bp.errorhandler(RateLimitExceeded)
def too_many(error: RateLimitExceeded):
    """Answer a breached login limit with a page that says what to do, and when."""
    seconds = retry_after(60)
    page = render_template("admin/too_many.html", limit=error.limit.limit)
    return page, 429, {"Retry-After": str(seconds)}


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMITS, methods=["POST"], deduct_when=_failed_login)
def login():
    """Log the writer in, then go back where they were headed."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = auth.safe_next(request.args.get("next")) or ""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(form.next.data or url_for("admin.dashboard"))
    status, headers = 200, {}
    if form.validate_on_submit():
        address = request.remote_addr or ""
        wait = throttle.wait_seconds(form.username.data, address)
        if wait:
            form.password.errors.append(
                f"Too many wrong passwords for this account lately: wait {wait} s, "
                "then log in again."
            )
            status, headers = 429, {"Retry-After": str(wait)}
        else:
            user = auth.authenticate(form.username.data, form.password.data)
            if user is not None:
                throttle.succeeded(form.username.data, address)
                target = auth.safe_next(form.next.data) or url_for("admin.dashboard")
                sessions.start_login(user, remember=form.remember.data)
                db.session.commit()
                return redirect(target, code=303)
            throttle.failed(form.username.data, address)
            form.password.errors.append("Wrong username or password.")
            status = 401
    elif form.is_submitted():
        status = 422
    page = render_template("admin/login.html", form=form, has_account=auth.has_account())
    return page, status, headers


@bp.route("/logout", methods=["POST"])
def logout():
    """End the writer's session on this browser: its login and both cookies are gone."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    sessions.end_login()
    db.session.commit()
    # No flash message: it would write a new session cookie instead of deleting this one.
    return redirect(url_for("admin.login", logged_out=1), code=303)


@bp.route("/admin/sessions")
def logins():
    """List where the writer is logged in: signed in on, last seen, browser and address."""
    return render_template(
        "admin/sessions.html",
        logins=sessions.logins_of(current_user.id),
        this=sessions.current_login(),
        form=ActionForm(),
    )


@bp.route("/admin/sessions/<int:login_id>/end", methods=["POST"])
def end_one_login(login_id: int):
    """Log out one browser where the writer is logged in."""
    if not ActionForm().validate_on_submit():
        abort(400, "The form expired or was not sent from this site; reload the page.")
    this = sessions.current_login()
    if this is not None and this.id == login_id:
        sessions.end_login()
        db.session.commit()
        return redirect(url_for("admin.login", logged_out=1), code=303)
    if not sessions.end_other_login(current_user.id, login_id):
        abort(404)
    db.session.commit()
    flash("That browser is logged out.")
    return redirect(url_for("admin.logins"), code=303)


@bp.route("/admin/sessions/end-all", methods=["POST"])
def end_every_login():
    """Log out everywhere: every browser, this one included, must log in again."""
    if not ActionForm().validate_on_submit():
        abort(400, "The form expired or was not sent from this site; reload the page.")
    sessions.end_all_logins(current_user.id)
    sessions.end_login()
    db.session.commit()
    return redirect(url_for("admin.login", logged_out="everywhere"), code=303)


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    """Create the first account with the one-time link printed on the console."""
    if auth.has_account():
        abort(404)
    form = SetupForm()
    if request.method == "GET":
        form.token.data = request.args.get("token", "")
    if not auth.setup_token_valid(form.token.data or ""):
        return render_template("admin/setup_refused.html"), 403
    if request.method == "GET":
        return render_template("admin/setup.html", form=form)
    if not form.validate_on_submit():
        return render_template("admin/setup.html", form=form), 422
    user, _ = auth.save_account(
        form.username.data, form.display_name.data, form.password.data, form.email.data or ""
    )
    sessions.start_login(user, remember=False)
    db.session.commit()
    flash(f"Welcome, {user.display_name}. Your account is ready; the setup link is gone.")
    return redirect(url_for("admin.dashboard"), code=303)


# --- Dashboard --------------------------------------------------------------------------------


@bp.route("/admin/")
def dashboard():
    """Show what needs the writer's attention: counts and the queue."""
    week_ago = utcnow() - timedelta(days=7)
    post_counts = dict(
        db.session.execute(
            sa.select(Post.status, sa.func.count(Post.id))
            .where(Post.kind == PostKind.POST)
            .group_by(Post.status)
        ).all()
    )
    comment_counts = comment_counts_by_status()
    this_week = db.session.scalar(
        sa.select(sa.func.count(Comment.id)).where(
            Comment.created_at >= week_ago, Comment.status == CommentStatus.APPROVED
        )
    )
    pending = db.session.scalars(
        sa.select(Comment)
        .where(Comment.status == CommentStatus.PENDING)
        .options(_WITH_POST)
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(5)
    ).all()
    return render_template(
        "admin/dashboard.html",
        post_counts=post_counts,
        comment_counts=comment_counts,
        this_week=this_week,
        pending=pending,
        failed_jobs=runner.failed_count() + delivery.failed_count(),
    )


# --- Posts ------------------------------------------------------------------------------------


@bp.route("/admin/posts/")
def posts():
    """List every post, drafts and scheduled ones first, with status and comment counts."""
    status = request.args.get("status", "")
    select = (
        sa.select(Post)
        .where(Post.kind == PostKind.POST)
        .order_by(
            sa.case(
                (Post.status == PostStatus.DRAFT, 0),
                (Post.status == PostStatus.SCHEDULED, 1),
                else_=2,
            ),
            Post.published_at.desc(),
            Post.updated_at.desc(),
            Post.id.desc(),
        )
    )
    if status in set(PostStatus):
        select = select.where(Post.status == status)
    page = db.paginate(select, page=page_number(), per_page=25)
    ids = [p.id for p in page.items]
    pending = dict(
        db.session.execute(
            sa.select(Comment.post_id, sa.func.count(Comment.id))
            .where(Comment.post_id.in_(ids), Comment.status == CommentStatus.PENDING)
            .group_by(Comment.post_id)
        ).all()
    )
    return render_template(
        "admin/posts.html",
        page=page,
        pending=pending,
        subscriber_counts=subscriptions.counts_by_post(ids),
        status=status,
        now=utcnow(),
    )


@bp.route("/admin/posts/new", methods=["GET", "POST"])
def new_post():
    """Write a new post: save it as a draft, publish it, or schedule it."""
    return _editor(Post(kind=PostKind.POST, status=PostStatus.DRAFT, comments_open=True))


@bp.route("/admin/posts/<int:post_id>/edit", methods=["GET", "POST"])
def edit_post(post_id: int):
    """Edit a post; a published post keeps its address unless the slug is changed."""
    return _editor(_entry(post_id, PostKind.POST))


@bp.route("/admin/pages/<int:post_id>/edit", methods=["GET", "POST"])
def edit_page(post_id: int):
    """Edit a page; its address changes only with its slug."""
    return _editor(_entry(post_id, PostKind.PAGE))


def _entry(post_id: int, kind: str) -> Post:
    return db.one_or_404(sa.select(Post).where(Post.id == post_id, Post.kind == kind))


def edit_url(post: Post) -> str:
    """The editor's address of a post or a page."""
    endpoint = "admin.edit_page" if post.kind == PostKind.PAGE else "admin.edit_post"
    return url_for(endpoint, post_id=post.id)


@bp.route("/admin/pages/")
def pages():
    """List the pages in navigation order (unlisted ones after), drafts marked."""
    found = db.session.scalars(
        sa.select(Post)
        .where(Post.is_page_filter())
        .order_by(Post.nav_order.is_(None), Post.nav_order, Post.title, Post.id)
    ).all()
    return render_template("admin/pages.html", pages=found, now=utcnow())


@bp.route("/admin/pages/new", methods=["GET", "POST"])
def new_page():
    """Write a page (About, Colophon...): at /<slug>/, undated, comments off unless chosen."""
    return _editor(Post(kind=PostKind.PAGE, status=PostStatus.DRAFT, comments_open=False))


def _editor(post: Post):
    """The editor of a post or a page: show it, or save what was sent (422 with the reasons)."""
    is_page = post.kind == PostKind.PAGE
    zone = site().zone
    if is_page:
        form = PageForm(obj=post if post.id else None)
    else:
        form = PostForm(obj=post if post.id else None, zone=zone)
    if request.method == "GET" and post.id and not is_page:
        form.tags.data = ", ".join(t.name for t in post.tags)
        if post.status == PostStatus.SCHEDULED and post.published_at:
            form.publish_at.data = post.published_at.astimezone(zone).replace(tzinfo=None)
    if form.validate_on_submit() and _slug_free(form, post):
        action = form.action()
        status, published_at = _publication(post, action, form)
        is_new = post.id is None
        save_post(
            post,
            title=form.title.data,
            body=form.body.data or "",
            author_id=post.author_id or current_user.id,
            tags=[] if is_page else parse_tag_list(form.tags.data or ""),
            status=status,
            published_at=published_at,
            slug=form.slug.data or "",
            excerpt=form.excerpt.data or "",
            comments_open=form.comments_open.data,
            in_reply_to="" if is_page else form.in_reply_to.data or "",
            kind=post.kind,
            nav_order=form.nav_order.data if is_page else None,
        )
        webmentions.post_saved(post)  # jobs to tell the pages it links to, run after the commit
        db.session.commit()
        flash(_saved_message(post, action, is_new))
        return redirect(edit_url(post), code=303)
    status_code = 422 if form.is_submitted() else 200
    if form.is_submitted():
        preview = render_body(form.body.data or "")
    else:
        # The stored HTML is the body's rendering, kept current by every save, `flask
        # rerender` and an image's new sizes: opening a long post renders nothing again.
        preview = post.body_html or ""
    return render_template(
        "admin/edit.html",
        form=form,
        post=post,
        preview=preview,
        now=utcnow(),
        missing_alt=missing_alt(post.body_html or "") if post.id else [],
        is_page=is_page,
    ), status_code


def _slug_free(form: PostForm | PageForm, post: Post) -> bool:
    """Refuse a slug another post or page already uses, or (for a page) one the blog's own
    addresses use; the message sits at the slug field."""
    wanted = (form.slug.data or "").strip()
    slug = slugify(wanted or form.title.data or "")
    if post.kind == PostKind.PAGE:
        problem = page_slug_problem(slug)
        if problem:
            form.slug.data = wanted
            form.slug.errors.append(problem)
            return False
    if not wanted:
        return True
    other = db.session.scalar(sa.select(Post).where(Post.slug == slug, Post.id != (post.id or 0)))
    if other is None:
        form.slug.data = slug
        return True
    what = "page" if other.kind == PostKind.PAGE else "post"
    form.slug.errors.append(
        f"“{slug}” is the address of the {what} “{other.title}”: choose another."
    )
    return False


def _publication(post: Post, action: str, form: PostForm | PageForm):
    """Return the status and publication time a button press gives the post."""
    now = utcnow()
    if action == "schedule":
        return PostStatus.SCHEDULED, form.publish_at_utc()
    if action == "publish" or (action == "update" and post.status == PostStatus.PUBLISHED):
        # Republishing keeps the old date, so the post keeps its address.
        keep = post.published_at is not None and post.published_at <= now
        return PostStatus.PUBLISHED, post.published_at if keep else now
    if action == "update" and post.status == PostStatus.SCHEDULED:
        return PostStatus.SCHEDULED, form.publish_at_utc() or post.published_at
    # Drafts (and unpublished posts) remember their date for when they come back.
    return PostStatus.DRAFT, post.published_at


def _saved_message(post: Post, action: str, is_new: bool) -> str:
    what = "page" if post.kind == PostKind.PAGE else "post"
    if post.status == PostStatus.SCHEDULED:
        when = post.published_at.astimezone(site().zone)
        return f"Scheduled for {when:%d %B %Y at %H:%M} {when:%Z}."
    if action == "unpublish":
        return f"Unpublished: the {what} is a draft again and readers no longer see it."
    if post.status == PostStatus.PUBLISHED:
        return "Published." if action == "publish" else "Updated."
    return "Draft saved." if not is_new else "Draft saved. Nobody sees it until you publish it."


@bp.route("/admin/posts/preview", methods=["POST"])
def preview():
    """Render the Markdown being typed, with the code that renders the published post."""
    form = PreviewForm()
    if not form.validate_on_submit():
        return render_template("admin/_preview.html", html=""), 422
    return render_template("admin/_preview.html", html=render_body(form.body.data or ""))


@bp.route("/admin/posts/<int:post_id>/delete", methods=["GET", "POST"])
def delete_post(post_id: int):
    """Ask before deleting a post and its comments, then delete it."""
    post = db.get_or_404(Post, post_id)
    form = ActionForm()
    if form.validate_on_submit():
        title, is_page = post.title, post.kind == PostKind.PAGE
        webmentions.post_deleted(post)  # the pages it linked to hear that it is gone (410)
        delete_post_and_comments(post)
        db.session.commit()
        flash(f"Deleted “{title}” and its comments.")
        return redirect(url_for("admin.pages" if is_page else "admin.posts"), code=303)
    comments = db.session.scalar(
        sa.select(sa.func.count(Comment.id)).where(Comment.post_id == post.id)
    )
    status = 400 if form.is_submitted() else 200
    return render_template(
        "admin/delete_post.html", post=post, form=form, comments=comments
    ), status


# --- Comments ---------------------------------------------------------------------------------


@bp.route("/admin/comments")
def comments():
    """Show the moderation queue (or the spam folder, or approved comments), newest first."""
    status = request.args.get("status", CommentStatus.PENDING)
    if status not in QUEUE_STATUSES:
        status = CommentStatus.PENDING
    page = db.paginate(
        sa.select(Comment)
        .where(Comment.status == status)
        .options(_WITH_POST)
        .order_by(Comment.created_at.desc(), Comment.id.desc()),
        page=page_number(),
        per_page=50,
    )
    counts = comment_counts_by_status()
    return render_template(
        "admin/comments.html",
        page=page,
        status=status,
        counts=counts,
        statuses=QUEUE_STATUSES,
        bulk=BulkForm(),
        action_form=ActionForm(),
        reply_form=ReplyForm(),
    )


@bp.route("/admin/comments/<int:comment_id>")
def comment(comment_id: int):
    """Show one comment with its actions: where the moderation mail's link leads."""
    comment = db.get_or_404(Comment, comment_id)
    return render_template(
        "admin/comment.html",
        comment=comment,
        counts=comment_counts_by_status(),
        statuses=QUEUE_STATUSES,
        action_form=ActionForm(),
        reply_form=ReplyForm(),
    )


def _moderated(comment: Comment, done: str):
    """Answer a moderation action: the row itself for htmx, else back to the queue."""
    if is_htmx():
        return render_template(
            "admin/_comment_row.html",
            comment=comment,
            done=done,
            action_form=ActionForm(),
            reply_form=ReplyForm(),
            counts=comment_counts_by_status(),
            statuses=QUEUE_STATUSES,
        )
    flash(done)
    return redirect(_back_to_queue(), code=303)


def _back_to_queue() -> str:
    return auth.safe_next(request.form.get("next")) or url_for("admin.comments")


def _moderate(comment_id: int) -> Comment:
    """Return the comment a moderation POST names, after checking its CSRF token."""
    if not ActionForm().validate_on_submit():
        abort(400, "The form expired or was not sent from this site; reload the page.")
    return db.get_or_404(Comment, comment_id)


@bp.route("/admin/comments/<int:comment_id>/approve", methods=["POST"])
def approve(comment_id: int):
    """Approve a comment: readers see it."""
    return _change_status(comment_id, CommentStatus.APPROVED, "Approved.")


@bp.route("/admin/comments/<int:comment_id>/spam", methods=["POST"])
def mark_spam(comment_id: int):
    """Move a comment to the spam folder."""
    return _change_status(comment_id, CommentStatus.SPAM, "Marked as spam.")


def _change_status(comment_id: int, status: str, done: str):
    comment = _moderate(comment_id)
    store.set_status([comment], status)
    db.session.commit()
    return _moderated(comment, done)


@bp.route("/admin/comments/<int:comment_id>/delete", methods=["POST"])
def delete_comment(comment_id: int):
    """Delete a comment for good."""
    store.delete([_moderate(comment_id)])
    db.session.commit()
    if is_htmx():
        return render_template(
            "admin/_comment_deleted.html",
            comment_id=comment_id,
            counts=comment_counts_by_status(),
            statuses=QUEUE_STATUSES,
        )
    flash("Deleted.")
    return redirect(_back_to_queue(), code=303)


@bp.route("/admin/comments/<int:comment_id>/edit", methods=["GET", "POST"])
def edit_comment(comment_id: int):
    """Change any comment's text, at any time (the writer's edit: no window, no spam check)."""
    comment = db.get_or_404(Comment, comment_id)
    if comment.status == CommentStatus.DELETED:
        abort(404)
    form = CommentTextForm()
    if request.method == "GET":
        form.body.data = comment.body
    elif form.validate_on_submit():
        store.edit(comment, form.body.data)
        db.session.commit()
        flash("Comment saved.")
        return redirect(url_for("admin.comments", status=comment.status), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("admin/edit_comment.html", comment=comment, form=form), status


@bp.route("/admin/comments/bulk", methods=["POST"])
def bulk():
    """Approve, mark as spam or delete every selected comment at once."""
    form = BulkForm()
    if not form.validate_on_submit():
        flash(" ".join(form.ids.errors or form.action.errors) or "Nothing was changed.", "error")
        return redirect(_back_to_queue(), code=303)
    chosen = db.session.scalars(sa.select(Comment).where(Comment.id.in_(form.ids.data))).all()
    if form.action.data == "delete":
        store.delete(chosen)
    else:
        status = CommentStatus.APPROVED if form.action.data == "approve" else CommentStatus.SPAM
        store.set_status(chosen, status)
    db.session.commit()
    verb = {"approve": "Approved", "spam": "Marked as spam", "delete": "Deleted"}[form.action.data]
    flash(f"{verb}: {len(chosen)} comment{'' if len(chosen) == 1 else 's'}.")
    return redirect(_back_to_queue(), code=303)


@bp.route("/admin/comments/<int:comment_id>/reply", methods=["POST"])
def reply(comment_id: int):
    """Answer a comment as the writer; replying approves the comment answered."""
    comment = db.get_or_404(Comment, comment_id)
    form = ReplyForm()
    if not form.validate_on_submit():
        if is_htmx():
            return render_template(
                "admin/_comment_row.html",
                comment=comment,
                done="",
                action_form=ActionForm(),
                reply_form=form,
            ), 422
        flash(" ".join(form.body.errors) or "The reply was not sent.", "error")
        return redirect(_back_to_queue(), code=303)
    store.set_status([comment], CommentStatus.APPROVED)
    store.add_comment(
        comment.post,
        author_name=current_user.display_name,
        body=form.body.data,
        parent=comment,
        user_id=current_user.id,
        status=CommentStatus.APPROVED,
        ip=request.remote_addr or "",
        format=CommentFormat.MARKDOWN,
    )
    db.session.commit()
    return _moderated(comment, "Reply published.")


# --- Settings ---------------------------------------------------------------------------------


SPAM_SETTINGS = ("honeypot", "min_seconds", "flood_seconds", "hourly_limit", "refuse_duplicates")
# Settings the form shows and saves as they are (the spam defences, the edit window).
PLAIN_SETTINGS = (*SPAM_SETTINGS, "edit_minutes")


@bp.route("/admin/site", methods=["GET", "POST"])
def site_settings():
    """Edit the site settings: title, tagline, language, author name shown, time zone."""
    form = SiteForm(zones=sorted(time_zones()))
    if request.method == "GET":
        current = site()
        for name in ("title", "tagline", "language", "author_name", "timezone"):
            getattr(form, name).data = getattr(current, name)
    elif form.validate_on_submit():
        SiteSettings(
            title=form.title.data.strip(),
            tagline=(form.tagline.data or "").strip(),
            language=form.language.data.strip(),
            author_name=(form.author_name.data or "").strip(),
            timezone=form.timezone.data,
        ).save()
        db.session.commit()
        flash("Site settings saved.")
        return redirect(url_for("admin.site_settings"), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("admin/site.html", form=form), status


@bp.route("/admin/settings", methods=["GET", "POST"])
def settings():
    """Edit the discussion settings: moderation, auto-close, links, blocklist, spam defences."""
    current = DiscussionSettings.load()
    form = DiscussionForm()
    if request.method == "GET":
        form.moderation.data = str(current.moderation)
        form.close_after_days.data = current.close_after_days
        form.max_links.data = current.max_links
        form.blocklist.data = "\n".join(current.blocklist)
        for name in PLAIN_SETTINGS:
            getattr(form, name).data = getattr(current, name)
    elif form.validate_on_submit():
        if form.edit_minutes.data is None:
            form.edit_minutes.data = current.edit_minutes
        DiscussionSettings(
            moderation=form.moderation.data,
            close_after_days=form.close_after_days.data,
            max_links=form.max_links.data,
            blocklist=parse_blocklist(form.blocklist.data or ""),
            **{name: getattr(form, name).data for name in PLAIN_SETTINGS},
        ).save()
        db.session.commit()
        flash("Discussion settings saved.")
        return redirect(url_for("admin.settings"), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("admin/settings.html", form=form), status
