"""The back office's mail pages: the writer's address and notifications, a post's subscribers,
and the background jobs that failed (with their errors, and a way to run them again).

A blueprint nested in the admin one (endpoints admin.mail.*), so its login check covers them.
Readers' addresses appear here, to the writer only: never on a public page or in a feed.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from blog.admin.forms import AccountForm, ActionForm, SelectedForm
from blog.extensions import db
from blog.jobs import outbox, runner
from blog.jobs.models import Job, JobStatus
from blog.mail import delivery, subscriptions, tokens
from blog.models import Post, User, WriterNotify, utcnow

bp = Blueprint("mail", __name__)


@bp.route("/admin/account", methods=["GET", "POST"])
def account():
    """Set where notifications go (a new address is confirmed by mail) and which come."""
    user = db.session.get(User, current_user.id)
    form = AccountForm()
    if request.method == "GET":
        form.email.data = user.email
        form.notify.data = str(user.notify)
    elif form.validate_on_submit():
        user.notify = WriterNotify(form.notify.data)
        wanted = form.email.data or ""
        if not wanted:
            user.email, user.email_pending = "", ""
            flash("Saved. No mail about comments will be sent: there is no address.")
        elif wanted.lower() == user.email.lower():
            user.email_pending = ""
            flash("Saved.")
        else:
            user.email_pending = wanted
            outbox.record("mail.email_change", {"user": user.id})
            flash(
                f"Saved. A mail with a link is on its way to {wanted}: follow it to use the new "
                "address. Until then, mail goes to " + (user.email or "no address") + "."
            )
        db.session.commit()
        return redirect(url_for(".account"), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("admin/account.html", form=form, user=user), status


@bp.route("/admin/account/email/<token>", methods=["GET", "POST"])
def confirm_email(token: str):
    """Start using a new address: its link's page, then the button (POST)."""
    user = db.session.get(User, current_user.id)
    try:
        address = tokens.load_new_email(token, user)
    except tokens.LinkError as error:
        return render_template("subscriptions/bad_link.html", expired=error.expired), (
            410 if error.expired else 400
        )
    form = ActionForm()
    if form.validate_on_submit():
        user.email, user.email_pending = address, ""
        db.session.commit()
        flash(f"Done: notifications now go to {address}.")
        return redirect(url_for(".account"), 303)
    return render_template("admin/confirm_email.html", form=form, address=address)


@bp.route("/admin/posts/<int:post_id>/subscribers", methods=["GET", "POST"])
def subscribers(post_id: int):
    """List who gets mail about a post's comments; remove the ticked subscribers."""
    post = db.get_or_404(Post, post_id)
    form = SelectedForm()
    if form.validate_on_submit():
        removed = subscriptions.remove_subscribers(post, form.ids.data)
        db.session.commit()
        flash(f"Removed {removed} subscription{'' if removed == 1 else 's'}.")
        return redirect(url_for(".subscribers", post_id=post.id), 303)
    if form.is_submitted():
        flash(" ".join(form.ids.errors) or "Nothing was changed.", "error")
        return redirect(url_for(".subscribers", post_id=post.id), 303)
    return render_template(
        "admin/subscribers.html", post=post, rows=subscriptions.subscribers_of(post), form=form
    )


@bp.route("/admin/jobs", methods=["GET", "POST"])
def jobs():
    """Show the background jobs that failed, with their errors; run the ticked ones again."""
    form = SelectedForm()
    if form.is_submitted():
        return _retry(form, outbox.retry, "job")
    counts = dict(
        db.session.execute(sa.select(Job.status, sa.func.count(Job.id)).group_by(Job.status)).all()
    )
    failed = db.session.scalars(
        sa.select(Job)
        .where(Job.status == JobStatus.FAILED)
        .order_by(Job.finished_at.desc(), Job.id.desc())
        .limit(200)
    ).all()
    retrying = db.session.scalars(
        sa.select(Job)
        .where(Job.status == JobStatus.PENDING, Job.attempts > 0)
        .order_by(Job.run_after)
        .limit(200)
    ).all()
    return render_template(
        "admin/jobs.html",
        form=form,
        counts=counts,
        failed=failed,
        retrying=retrying,
        failed_mail=delivery.failed_messages(),
        describe=runner.describe,
        now=utcnow(),
    )


@bp.route("/admin/jobs/mail", methods=["POST"])
def retry_mail():
    """Send the ticked refused mails again (after the address or the server was fixed)."""
    return _retry(SelectedForm(), delivery.retry_messages, "mail")


def _retry(form: SelectedForm, retry: Callable[[list[int]], list[int]], noun: str) -> Response:
    """Run the ticked failed jobs or mails again, say how many, and go back to the list."""
    if form.validate():
        retried = retry(form.ids.data)
        db.session.commit()
        flash(f"Queued again: {len(retried)} {noun}{'' if len(retried) == 1 else 's'}.")
    else:
        flash(" ".join(form.ids.errors) or "Nothing was changed.", "error")
    return redirect(url_for(".jobs"), 303)
