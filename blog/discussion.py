"""Discussion settings: who gets held for moderation, when comments close, what is spam.

The settings live in the Setting table as one JSON row, so every app process reads the same
policy. moderation_verdict() and auto_closed() are the two questions the comment form asks.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from enum import StrEnum

import sqlalchemy as sa
from flask import has_app_context

from blog.blocklist import compiled
from blog.extensions import db, request_cache
from blog.models import Comment, CommentStatus, Post, Setting, utcnow

SETTING_KEY = "discussion"
_CACHED = "discussion_settings"  # the request's, in blog.extensions.request_cache


class Moderation(StrEnum):
    PUBLISH_ALL = "publish_all"
    HOLD_FIRST_TIME = "hold_first_time"
    HOLD_ALL = "hold_all"


MODERATION_LABELS = {
    Moderation.PUBLISH_ALL: "Publish every comment at once (the spam defences still apply)",
    Moderation.HOLD_FIRST_TIME: (
        "Hold comments from first-time commenters (an email with an approved comment is trusted)"
    ),
    Moderation.HOLD_ALL: "Hold every comment until I approve it",
}


@dataclass
class DiscussionSettings:
    """The writer's discussion policy; the defaults are a fresh blog's."""

    moderation: str = Moderation.PUBLISH_ALL
    # Close comments on posts published more than this many days ago; 0 never closes them.
    close_after_days: int = 0
    # Hold comments with more than this many links.
    max_links: int = 2
    # Words, emails (or @domains) and IPs (or networks) whose comments go to spam.
    blocklist: list[str] = field(default_factory=list)
    # A hidden field only robots fill in: a comment that fills it goes to spam.
    honeypot: bool = True
    # A comment sent sooner than this many seconds after the form was shown goes to spam; 0 off.
    min_seconds: int = 3
    # Per IP address: at most one comment every flood_seconds, and hourly_limit an hour; 0 off.
    flood_seconds: int = 15
    hourly_limit: int = 20
    # Refuse the same text on the same post from the same person within a day.
    refuse_duplicates: bool = True
    # A reader may edit or delete their comment for this many minutes after posting; 0 off.
    edit_minutes: int = 15

    @classmethod
    def load(cls) -> DiscussionSettings:
        """Return the settings, read from the database once per request (defaults field by field).

        Pages ask for them once per comment (is the Reply button shown?); the request keeps
        what it read, so a page costs one query however many comments it has, and it is the
        query that reads every setting (Setting.snapshot: the site's title and clock too).
        """
        cache = request_cache() if has_app_context() else {}
        if _CACHED not in cache:
            cache[_CACHED] = cls.from_stored(Setting.get(SETTING_KEY) or {})
        return cache[_CACHED]

    @classmethod
    def from_stored(cls, stored: dict) -> DiscussionSettings:
        """Return the settings from their stored form, defaults field by field."""
        defaults = cls()
        moderation = stored.get("moderation", defaults.moderation)
        if moderation not in set(Moderation):
            moderation = defaults.moderation
        return cls(
            moderation=Moderation(moderation),
            close_after_days=_non_negative(stored.get("close_after_days"), 0),
            max_links=_non_negative(stored.get("max_links"), defaults.max_links),
            blocklist=[str(e) for e in stored.get("blocklist", []) if str(e).strip()],
            honeypot=bool(stored.get("honeypot", defaults.honeypot)),
            min_seconds=_non_negative(stored.get("min_seconds"), defaults.min_seconds),
            flood_seconds=_non_negative(stored.get("flood_seconds"), defaults.flood_seconds),
            hourly_limit=_non_negative(stored.get("hourly_limit"), defaults.hourly_limit),
            refuse_duplicates=bool(stored.get("refuse_duplicates", defaults.refuse_duplicates)),
            edit_minutes=_non_negative(stored.get("edit_minutes"), defaults.edit_minutes),
        )

    def save(self) -> None:
        """Store the settings (the caller commits)."""
        if has_app_context():
            request_cache().pop(_CACHED, None)
        value = asdict(self)
        value["moderation"] = str(self.moderation)
        Setting.put(SETTING_KEY, value)


@functools.lru_cache(maxsize=16)
def stored_discussion(text: str | None) -> DiscussionSettings:
    """Return the settings stored as this text (a page key reads it: blog.posts.keys), parsed
    once and shared: read, never change it."""
    stored = json.loads(text) if text else {}
    return DiscussionSettings.from_stored(stored if isinstance(stored, dict) else {})


def _non_negative(value: object, default: int) -> int:
    try:
        number = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default
    return number if number >= 0 else default


def parse_blocklist(text: str) -> list[str]:
    """Split the blocklist textarea into entries: one a line, blank lines dropped, no repeats."""
    entries: list[str] = []
    for line in text.splitlines():
        entry = line.strip()
        if entry and entry.casefold() not in {e.casefold() for e in entries}:
            entries.append(entry)
    return entries


_LINK = re.compile(r"https?://|\bwww\.|<a\s", re.IGNORECASE)


def count_links(body: str) -> int:
    """Count the links in a comment as typed: URLs and <a> tags."""
    return len(_LINK.findall(body))


def blocklist_match(entries: list[str], *, author_email: str, body: str, ip: str) -> str | None:
    """Return a blocklist entry the comment matches, or None.

    An IP or network (10.0.0.0/8) matches the commenter's address; an email matches exactly and
    an @domain matches every address there; any other entry matches whole words of the text or
    the email, ignoring case. The entries are compiled once per version (blog.blocklist).
    """
    return compiled(tuple(entries)).match(author_email=author_email, body=body, ip=ip)


def is_trusted(author_email: str) -> bool:
    """Return True when this email already has an approved comment on the blog."""
    email = author_email.strip().casefold()
    if not email:
        return False
    return bool(
        db.session.scalar(
            sa.select(Comment.id)
            .where(
                sa.func.lower(Comment.author_email) == email,
                Comment.status == CommentStatus.APPROVED,
            )
            .limit(1)
        )
    )


def moderation_verdict(
    post: Post,
    *,
    author_email: str,
    body: str,
    ip: str,
    links: int | None = None,
    trusted: bool | None = None,
) -> tuple[str, str] | None:
    """Return (status, reason) when the policy holds or bins a new comment, else None.

    The blocklist wins (spam); then hold-all, the link limit and hold-first-time (pending).
    None means the policy has nothing against the comment: publish it unless another
    defence objects. A webmention, which has no email and whose links were counted in its
    HTML, passes links and trusted (an author already approved) instead.
    """
    settings = DiscussionSettings.load()
    entry = blocklist_match(settings.blocklist, author_email=author_email, body=body, ip=ip)
    if entry is not None:
        return CommentStatus.SPAM, f"Matches the blocklist entry “{entry}”"
    if settings.moderation == Moderation.HOLD_ALL:
        return CommentStatus.PENDING, "Every comment is held for moderation"
    links = count_links(body) if links is None else links
    if links > settings.max_links:
        return CommentStatus.PENDING, f"{links} links (more than {settings.max_links})"
    if settings.moderation == Moderation.HOLD_FIRST_TIME:
        if trusted is None and not is_trusted(author_email):
            return CommentStatus.PENDING, "First comment from this email"
        if trusted is False:
            return CommentStatus.PENDING, "First webmention from this author"
    return None


def edit_window() -> timedelta:
    """Return how long after posting a reader may edit or delete their comment (0: never)."""
    return timedelta(minutes=DiscussionSettings.load().edit_minutes)


def auto_closed(post: Post) -> bool:
    """Return True when the post is older than the auto-close setting allows comments for."""
    days = DiscussionSettings.load().close_after_days
    if days <= 0 or post.published_at is None:
        return False
    return post.published_at < utcnow() - timedelta(days=days)
