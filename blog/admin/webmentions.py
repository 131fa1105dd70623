"""The back office's webmentions: every one received, with its source and what became of it.

A blueprint nested in the admin one (endpoints admin.webmentions.*), so its login check covers
it. Replies are moderated in the comment queue (they are comments); likes, reposts and mentions
are approved, marked as spam or deleted here, through blog.webmention.store.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from blog.admin import auth
from blog.admin.forms import ActionForm
from blog.bounds import page_number
from blog.extensions import db
from blog.models import CommentStatus
from blog.webmention import store
from blog.webmention.models import MentionKind, Webmention

bp = Blueprint("webmentions", __name__)
ACTIONS = {"approve": CommentStatus.APPROVED, "spam": CommentStatus.SPAM}


@bp.route("/admin/webmentions")
def index():
    """List the webmentions received, the most recently sent first."""
    page = db.paginate(
        sa.select(Webmention)
        .options(sa.orm.joinedload(Webmention.post), sa.orm.joinedload(Webmention.comment))
        .order_by(Webmention.updated_at.desc(), Webmention.id.desc()),
        page=page_number(),
        per_page=50,
        max_per_page=200,
    )
    return render_template("admin/webmentions.html", page=page)


@bp.post("/admin/webmentions/<int:mention_id>/<action>")
def act(mention_id: int, action: str):
    """Approve, mark as spam or delete a like, repost or mention (a reply: its comment too)."""
    form = ActionForm()
    if not form.validate_on_submit() or action not in (*ACTIONS, "delete"):
        abort(400)
    row = db.get_or_404(Webmention, mention_id)
    if action == "delete":
        store.delete([row])
        flash(f"Deleted the webmention from {row.source}.")
    elif row.kind == MentionKind.REPLY:
        abort(400, "A reply is moderated in the comment queue, like any comment.")
    else:
        store.set_status([row], ACTIONS[action])
        flash(f"{'Approved' if action == 'approve' else 'Marked as spam'}: {row.source}.")
    db.session.commit()
    return redirect(auth.safe_next(request.form.get("next")) or url_for(".index"), 303)
