"""Sending webmentions: when the writer publishes, updates or deletes a post, tell the pages it
links to (W3C Webmention 3.1).

The editor calls post_saved() or post_deleted() in the transaction that saves the post; they
record one job per link ("webmention.send", blog.jobs), so a link is told exactly when the
change is committed. A scheduled post's jobs wait for its time. Each job discovers the page's
endpoint (blog.webmention.discovery, with blog.fetch's limits: a page or endpoint on a private
address is never contacted) and posts source and target to it; what happened is kept on the
SentWebmention row and shown in the editor. A link removed from the post gets one last
webmention (the page then finds no link and can drop us), and so does every link of a deleted
post (whose address now answers 410 Gone).
"""

from __future__ import annotations

import http
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import lxml.html
import sqlalchemy as sa
from flask import current_app
from lxml import etree

from blog import fetch
from blog.extensions import db, write_transaction
from blog.jobs import outbox
from blog.jobs.models import Job
from blog.jobs.registry import Postpone
from blog.models import Post, PostStatus, utcnow
from blog.permalinks import post_url
from blog.webmention.discovery import find_endpoint
from blog.webmention.models import SendState, SentWebmention, url_key
from blog.webmention.parse import normalize, site_name, web_url

SEND = "webmention.send"
ANSWER_CHARS = 200


class SendUnavailable(Exception):
    """The page or its endpoint could not be reached this time; the job runs again later."""


# --- In the editor's transaction -------------------------------------------------------------


def _netloc(url: str) -> str:
    """Return url's host and port as compared (the same host on another port is another site)."""
    return urlsplit(normalize(url)).netloc.removeprefix("www.")


def external_links(post: Post, source: str) -> list[str]:
    """Return the pages the post links to on other sites, in order, once each: its "in reply
    to" first, then its body's links (at most WEBMENTION_SEND_MAX_LINKS)."""
    found: dict[str, str] = {}
    candidates = [post.in_reply_to or ""]
    if post.body_html and post.body_html.strip():
        try:
            fragment = lxml.html.fragment_fromstring(post.body_html, create_parent="div")
            candidates += [a.get("href") or "" for a in fragment.iter("a")]
        except (etree.ParserError, ValueError):
            pass
    own = _netloc(source)
    for href in candidates:
        url = web_url(href)
        if url and _netloc(url) != own:
            found.setdefault(normalize(url), url)
    return list(found.values())[: int(current_app.config["WEBMENTION_SEND_MAX_LINKS"])]


def post_saved(post: Post) -> None:
    """Queue a webmention to each page a published (or scheduled) post links to, and a last one
    to each page it linked to before and no longer does. Drafts send nothing."""
    if post.status == PostStatus.DRAFT or post.published_at is None:
        return
    db.session.flush()
    source = post_url(post, _external=True)
    _queue(post.id, source, external_links(post, source), _when(post), final=False)


def post_deleted(post: Post) -> None:
    """Queue a last webmention to every page the post linked to: its address answers 410."""
    if post.id is None:
        return
    if not post.is_public:  # never seen (a draft, a post still scheduled): nobody to tell
        for row in db.session.scalars(
            sa.select(SentWebmention).where(SentWebmention.post_id == post.id)
        ):
            row.round = (row.round or 0) + 1  # its waiting job, if any, is moot
            row.state = SendState.FAILED
            row.result = "not sent: the post was deleted before it went public"
        return
    source = post_url(post, _external=True)
    _queue(post.id, source, external_links(post, source), None, final=True)


def _when(post: Post) -> datetime | None:
    """When a post's webmentions may go: now, or when a scheduled post goes public."""
    return post.published_at if post.published_at > utcnow() else None


def _queue(
    post_id: int, source: str, targets: list[str], when: datetime | None, *, final: bool
) -> None:
    rows = {
        row.target_key: row
        for row in db.session.scalars(
            sa.select(SentWebmention).where(SentWebmention.post_id == post_id)
        )
    }
    for target in targets:
        key = url_key(normalize(target))
        row = rows.pop(key, None)
        if row is None:
            row = SentWebmention(post_id=post_id, target=target, target_key=key, round=0)
            db.session.add(row)
        row.linked = not final
        row.source = source or row.source
        _record(row, when)
    for row in rows.values():
        if row.linked or final:  # a link just removed (or the post deleted): tell it once more
            row.linked = False
            row.source = source or row.source
            _record(row, when)


def _record(row: SentWebmention, when: datetime | None) -> None:
    row.round = (row.round or 0) + 1
    row.state = SendState.QUEUED
    row.result = "waiting to be sent" if when is None else "waiting for the post's time"
    db.session.flush()
    payload = {"sent": row.id, "round": row.round}
    outbox.record(SEND, payload, key=f"{SEND}:{row.id}:{row.round}", run_after=when)


# --- In the worker -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    state: str
    result: str
    endpoint: str = ""
    http_status: int | None = None


def send(job: Job) -> None:
    """Send one webmention (the job's row and round); a newer round makes this one moot."""
    row_id, round_ = job.payload["sent"], job.payload["round"]
    row = db.session.get(SentWebmention, row_id)
    if row is None or row.round != round_:
        return
    if row.post_id is not None:
        post = db.session.get(Post, row.post_id)
        if post is not None and not post.is_public:
            if post.status == PostStatus.SCHEDULED and post.published_at > utcnow():
                raise Postpone(post.published_at, "the post is not public yet")
            _store(row_id, round_, Delivery(SendState.FAILED, "not sent: the post is a draft"))
            return
    source, target = row.source, row.target
    limits = fetch.limits_from_config(current_app.config)
    last_try = job.attempts >= int(current_app.config["JOBS_MAX_ATTEMPTS"])
    db.session.commit()  # nothing held open while we talk to other sites
    try:
        delivery = deliver(source, target, limits)
    except SendUnavailable as error:
        if last_try:
            delivery = Delivery(SendState.FAILED, f"gave up after {job.attempts} tries: {error}")
        else:
            _store(row_id, round_, Delivery(SendState.QUEUED, f"{error} (will try again)"))
            raise
    _store(row_id, round_, delivery)


def _store(row_id: int, round_: int, delivery: Delivery) -> None:
    with write_transaction():
        row = db.session.get(SentWebmention, row_id)
        if row is None or row.round != round_:
            return
        row.state = delivery.state
        row.result = delivery.result[:500]
        row.endpoint = delivery.endpoint
        row.http_status = delivery.http_status
        row.attempted_at = utcnow()


def deliver(source: str, target: str, limits: fetch.Limits) -> Delivery:
    """Discover target's endpoint and send it source; raise SendUnavailable to try later."""
    try:
        page = fetch.fetch(target, limits, keep_truncated=True)
    except fetch.Unreachable as error:
        raise SendUnavailable(f"the page could not be fetched: {error}") from None
    except fetch.FetchError as error:
        return Delivery(SendState.FAILED, f"the page was not fetched: {error}")
    if page.status == 429 or page.status >= 500:
        raise SendUnavailable(f"the page answered {page.status}")
    endpoint = find_endpoint(page)
    if endpoint is None:
        if page.status >= 400:
            return Delivery(SendState.FAILED, f"the page answered {page.status}")
        return Delivery(SendState.NO_ENDPOINT, "the page takes no webmentions (no endpoint)")
    if not web_url(endpoint):
        return Delivery(SendState.FAILED, "its endpoint is not an http or https address")
    try:
        answer = fetch.fetch(
            endpoint,
            limits,
            method="POST",
            form={"source": source, "target": target},
            accept="*/*",
            keep_truncated=True,
        )
    except fetch.Unreachable as error:
        raise SendUnavailable(f"its endpoint could not be reached: {error}") from None
    except fetch.FetchError as error:
        return Delivery(SendState.FAILED, f"its endpoint was not contacted: {error}", endpoint)
    status = answer.status
    if 200 <= status < 300:
        return Delivery(SendState.SENT, f"accepted ({_status_words(status)})", endpoint, status)
    if status == 429 or status >= 500:
        raise SendUnavailable(f"its endpoint answered {_status_words(status)}")
    said = ""
    if answer.content_type == "text/plain":  # a reason meant for people; HTML is not shown
        said = " ".join(answer.text.split())[:ANSWER_CHARS]
    why = f"its endpoint answered {_status_words(status)}" + (f": {said}" if said else "")
    return Delivery(SendState.FAILED, why, endpoint, status)


def _status_words(status: int) -> str:
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def describe(job: Job) -> str:
    """Say what a sending job is about, for the back office."""
    row = db.session.get(SentWebmention, job.payload.get("sent", 0))
    if row is None:
        return "Send a webmention (since deleted)"
    return f"Send a webmention to {row.target} (from {row.source})"


# --- For the editor ------------------------------------------------------------------------------


@dataclass
class SentReport:
    """What the editor shows about a post's webmentions: a line, and each link's result."""

    rows: list[SentWebmention] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.rows)

    def _in(self, *states: str) -> list[SentWebmention]:
        return [r for r in self.rows if r.state in states]

    @property
    def summary(self) -> str:
        parts = []
        sent = self._in(SendState.SENT)
        if sent:
            sites = len({site_name(r.target) for r in sent})
            parts.append(f"Sent to {sites} site{'s' if sites != 1 else ''}")
        failed = self._in(SendState.FAILED)
        if failed:
            first = failed[0]
            parts.append(f"{len(failed)} failed: {site_name(first.target)}: {first.result}")
        waiting = self._in(SendState.QUEUED)
        if waiting:
            parts.append(f"{len(waiting)} waiting to be sent")
        none = self._in(SendState.NO_ENDPOINT)
        if none:
            parts.append(f"{len(none)} page{'s' if len(none) != 1 else ''} take no webmentions")
        return ", ".join(parts) + "."


def report(post: Post | None) -> SentReport:
    """Return the webmentions sent for a post, linked pages first, for the editor."""
    if post is None or post.id is None:
        return SentReport()
    rows = db.session.scalars(
        sa.select(SentWebmention)
        .where(SentWebmention.post_id == post.id)
        .order_by(SentWebmention.linked.desc(), SentWebmention.id)
    ).all()
    return SentReport(list(rows))
