"""The Webmention endpoint: POST /webmention, its status pages, and announcing it on posts.

A cross-site API by design: any site (or Bridgy, for Mastodon) posts here with no cookie and
no form token, so Flask-WTF's CSRF check is off for this one view (see SECURITY.md). It changes
nothing a session could protect: it only queues a check of a public page. Requests are limited
per source host and per sender address (Flask-Limiter).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask.globals import request_ctx
from flask_limiter import RateLimitExceeded
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.routing import MapAdapter

from blog.extensions import csrf, db, limiter, retry_after
from blog.webmention import receive, store
from blog.webmention.models import Webmention

bp = Blueprint("webmention", __name__)
STATUS_SALT = "webmention-status"


def _source_host() -> str:
    """Rate-limit key: the host of the page that claims to mention us."""
    try:
        host = urlsplit((request.form.get("source") or "").strip()).hostname or ""
    except ValueError:
        host = ""
    return "webmention-source:" + host.lower().removeprefix("www.")


def _plain(body: str, status: int, **headers: str) -> Response:
    return Response(body + "\n", status, {"Content-Type": "text/plain; charset=utf-8", **headers})


def _tokens() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=STATUS_SALT)


def status_url(row: Webmention) -> str:
    """Return the address of a webmention's status page (unguessable: signed with our key)."""
    return url_for("webmention.status", token=_tokens().dumps(row.id), _external=True)


@bp.post("/webmention")
@csrf.exempt
@limiter.limit(lambda: current_app.config["WEBMENTION_RATE_LIMIT"], key_func=_source_host)
@limiter.limit(lambda: current_app.config["WEBMENTION_IP_RATE_LIMIT"])
def receive_webmention():
    """Take a webmention: 400 with the reason, or 201 with its status page; verified later."""
    try:
        source, target, post = receive.check_request(
            request.form.get("source"), request.form.get("target")
        )
    except receive.Invalid as invalid:
        return _plain(str(invalid), 400)
    row = store.received(post, source=source, target=target, ip=request.remote_addr or "")
    where = status_url(row)  # before the commit: reading the row after it would begin again
    db.session.commit()
    return _plain(
        f"Accepted: {source} will be checked for a link to {target}. Status: {where}",
        201,
        Location=where,
    )


@bp.get("/webmention/<token>")
def status(token: str):
    """Show what became of a webmention: waiting, shown, held, rejected (why) or removed."""
    try:
        row_id = _tokens().loads(token)
    except BadSignature:
        abort(404)
    row = db.session.get(Webmention, row_id) if isinstance(row_id, int) else None
    if row is None:
        abort(404)
    response = Response(render_template("webmention/status.html", mention=row))
    # It changes as the worker checks the source, and no page key covers that: never from a
    # shared cache (blog.pagecache would otherwise let nginx keep it like a search page).
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.errorhandler(RateLimitExceeded)
def too_many(error: RateLimitExceeded):
    """Ask a sender who sends too much to wait, plainly."""
    seconds = retry_after(60)
    return _plain(
        f"Too many webmentions ({error.limit.limit}): try again in {seconds} seconds.",
        429,
        **{"Retry-After": str(seconds)},
    )


def announcement(endpoint: str | None, adapter: MapAdapter | None) -> list[tuple[str, str]]:
    """The header announcing the endpoint on a post page: Link: <.../webmention>; rel="webmention".

    A 304 carries it too: it stands for the page a cache (nginx's, a browser's) keeps, and a
    sender revalidating its copy reads the endpoint from the headers it is given (RFC 9110
    15.4.5: a 304 sends the fields a 200 would have). adapter is the request's URL adapter.
    """
    if endpoint != "posts.detail" or adapter is None:
        return []
    url = adapter.build("webmention.receive_webmention", force_external=True)
    return [("Link", f'<{url}>; rel="webmention"')]


@bp.after_app_request
def announce(response: Response) -> Response:
    if response.status_code in (200, 304):
        response.headers.extend(announcement(request.endpoint, request_ctx.url_adapter))
    return response


@bp.record_once
def _announce_on_revalidation(state) -> None:
    # The 304s blog.pagecache.Revalidation answers before Flask's hooks run.
    state.app.extensions["revalidation_headers"].append(announcement)
