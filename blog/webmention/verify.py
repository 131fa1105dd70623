"""The worker's side of receiving: fetch the source, check it links to the post, store it.

Run as the job "webmention.verify" (blog.jobs). No transaction is open while the source is
fetched; the outcome is stored in one short write transaction. What a source can make happen:
- it links to the post: stored as a reply (a comment), like, repost or mention, moderated by
  the discussion policy (blocklist, hold all, link limit, hold first-time authors);
- it answers 410 Gone, or 200 without a link to the post: what it said before is removed;
- it answers another 4xx, is not HTML, is too large, or leads to an address we never fetch:
  a new mention is rejected (the status page says why), a shown one stays;
- it times out, cannot be reached, answers 429 or 5xx: the job is tried again later (with
  backoff; a job that keeps failing is kept for the back office, blog.jobs).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from blog import fetch
from blog.discussion import auto_closed, moderation_verdict
from blog.extensions import db, write_transaction
from blog.jobs.models import Job
from blog.models import Comment, CommentStatus, Post, utcnow
from blog.webmention import store
from blog.webmention.models import MentionKind, Webmention
from blog.webmention.parse import Mention, links_to, mf2_links_to, parse_mf2, read_mention


class SourceUnavailable(Exception):
    """The source could not be read this time; the job runs again later."""


@dataclass(frozen=True)
class Outcome:
    """What checking a source found: a mention, its removal, or a failure (why)."""

    mention: Mention | None = None
    removed: str = ""
    failed: str = ""


def verify(job: Job) -> None:
    """Verify one received webmention (the job's payload names it) and store the outcome."""
    row_id = job.payload["webmention"]
    row = db.session.get(Webmention, row_id)
    if row is None:
        return
    source, target = row.source, row.target
    limits = fetch.limits_from_config(current_app.config)
    max_chars = int(current_app.config["WEBMENTION_REPLY_MAX_CHARS"])
    last_try = job.attempts >= int(current_app.config["JOBS_MAX_ATTEMPTS"])
    db.session.commit()  # nothing held open while the source is fetched
    try:
        outcome = check(source, target, limits, max_chars)
    except SourceUnavailable as error:
        if not last_try:
            with write_transaction():
                if (row := db.session.get(Webmention, row_id)) is not None:
                    store.noted(row, f"{error} (will try again)")
            raise
        outcome = Outcome(failed=f"gave up after {job.attempts} tries: {error}")
    with write_transaction():
        row = db.session.get(Webmention, row_id)
        if row is not None:
            apply(row, outcome)


def check(source: str, target: str, limits: fetch.Limits, max_chars: int) -> Outcome:
    """Fetch source and say what it is to target. Raises SourceUnavailable to try later."""
    try:
        response = fetch.fetch(source, limits)
    except fetch.Unreachable as error:
        raise SourceUnavailable(f"the source could not be fetched: {error}") from None
    except fetch.FetchError as error:  # refused, too large: no use trying again
        return Outcome(failed=f"the source was not read: {error}")
    status = response.status
    if status == 410:
        return Outcome(removed="the source answered 410 Gone: it was deleted")
    if status == 429 or status >= 500:
        raise SourceUnavailable(f"the source answered {status}")
    if not 200 <= status < 300:
        return Outcome(failed=f"the source answered {status}")
    if not response.is_html:
        kind = response.content_type or "of no declared type"
        return Outcome(failed=f"the source is {kind}, not HTML: only HTML pages are read")
    text = response.text
    try:
        # Parsed once: read for a link when the HTML has none, then for what it says.
        parsed = parse_mf2(text, response.url)
        if not (links_to(response.body, response.url, target) or mf2_links_to(parsed, target)):
            return Outcome(removed="the source does not link to the target")
        mention = read_mention(text, response.url, target, max_chars, utcnow(), parsed)
        return Outcome(mention=mention)
    except RecursionError:  # thousands of nested elements: mf2py recurses per level
        return Outcome(failed="the source's HTML is nested too deeply to be read")


def apply(row: Webmention, outcome: Outcome) -> None:
    """Store an outcome through blog.webmention.store (the caller's transaction commits)."""
    if outcome.removed:
        store.removed(row, outcome.removed)
    elif outcome.failed:
        store.failed(row, outcome.failed)
    elif outcome.mention is not None:
        status, reason = verdict(row.post, outcome.mention, row)
        store.verified(row, outcome.mention, status, reason)


def verdict(post: Post, mention: Mention, row: Webmention) -> tuple[str, str]:
    """Return (status, reason) for a mention: the comment policy, asked as for a comment."""
    if mention.kind == MentionKind.REPLY and (not post.comments_open or auto_closed(post)):
        return CommentStatus.PENDING, "Comments are closed on this post"
    # The blocklist reads the author, the addresses and the text together.
    said = " ".join(
        [mention.author_name, mention.author_url, row.source, mention.url, mention.body]
    )
    found = moderation_verdict(
        post,
        author_email="",
        body=said,
        ip=row.ip,
        links=mention.links,
        trusted=_known_author(mention.author_url),
    )
    return found or (CommentStatus.APPROVED, "")


def _known_author(author_url: str) -> bool:
    """True when an approved comment or webmention already came from this author's address."""
    if not author_url:
        return False
    comment = sa.select(Comment.id).where(
        Comment.author_url == author_url, Comment.status == CommentStatus.APPROVED
    )
    mention = sa.select(Webmention.id).where(
        Webmention.author_url == author_url, Webmention.status == CommentStatus.APPROVED
    )
    return bool(db.session.scalar(comment.limit(1)) or db.session.scalar(mention.limit(1)))


def describe(job: Job) -> str:
    """Say what a verification job is about, for the back office."""
    row = db.session.get(Webmention, job.payload.get("webmention", 0))
    if row is None:
        return "Verify a webmention (since deleted)"
    return f"Verify the webmention from {row.source} to “{row.post.title}”"
