"""The reader's pages behind the links in mails: confirm, unsubscribe (one click), manage.

A GET never changes anything: mail scanners and link previews follow links. Confirming and
managing are forms with a button; unsubscribing is the POST that RFC 8058 mail clients send
to the List-Unsubscribe address by themselves (no cookies, so no CSRF token: the signed token
in the URL is what authorizes it) and that the page's own button sends too. Its answer is a
page, never a redirect (RFC 8058 §3.1). A forged or expired link gets a page that says so,
and nothing changes.
"""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from blog.extensions import csrf, db
from blog.mail import subscriptions, tokens
from blog.mail.forms import ConfirmForm, ManageForm
from blog.models import WriterNotify

bp = Blueprint("subscriptions", __name__, url_prefix="/subscriptions")


@bp.after_request
def private(response: Response) -> Response:
    """Keep these pages out of shared caches, and their tokens out of Referer headers."""
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _bad_link(error: tokens.LinkError):
    status = 410 if error.expired else 400
    return render_template("subscriptions/bad_link.html", expired=error.expired), status


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """Show the button that confirms an address, and confirm it when it is pressed."""
    try:
        address = tokens.load_confirm(token)
    except tokens.LinkError as error:
        return _bad_link(error)
    form = ConfirmForm()
    manage_url = url_for(".manage", token=tokens.manage_token(address))
    if address.confirmed or form.validate_on_submit():
        newly = subscriptions.confirm(address)
        db.session.commit()
        return render_template(
            "subscriptions/confirmed.html",
            newly=newly,
            subscriptions=subscriptions.subscriptions_of(address),
            manage_url=manage_url,
        )
    return render_template(
        "subscriptions/confirm.html",
        form=form,
        subscriptions=subscriptions.subscriptions_of(address),
    )


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str):
    """Ask before stopping mail (GET); stop it on POST, the one-click of RFC 8058."""
    try:
        target = tokens.load_unsubscribe(token)
    except tokens.LinkError as error:
        return _bad_link(error)
    if request.method == "GET":
        return render_template("subscriptions/unsubscribe.html", target=target, token=token)
    if target.writer is not None:
        target.writer.notify = WriterNotify.NONE
    elif target.post is not None:
        subscriptions.unsubscribe(target.address, target.post)
    else:
        subscriptions.unsubscribe_all(target.address)
    db.session.commit()
    manage_url = (
        url_for(".manage", token=tokens.manage_token(target.address)) if target.address else ""
    )
    return render_template("subscriptions/unsubscribed.html", target=target, manage_url=manage_url)


@bp.route("/manage/<token>", methods=["GET", "POST"])
def manage(token: str):
    """List an address's subscriptions; end any of them, or all."""
    try:
        address = tokens.load_manage(token)
    except tokens.LinkError as error:
        return _bad_link(error)
    form = ManageForm()
    if form.validate_on_submit():
        if form.everything.data:
            subscriptions.unsubscribe_all(address)
            flash("Done: this address gets no more mail from this blog.")
        elif form.remove.data and subscriptions.remove(address, form.remove.data):
            flash("Done: that subscription has ended.")
        db.session.commit()
        return redirect(url_for(".manage", token=token), 303)
    return render_template(
        "subscriptions/manage.html",
        form=form,
        subscriptions=subscriptions.subscriptions_of(address),
        confirmed=address.confirmed,
    )
