"""Atom 1.0 and RSS 2.0 documents from plain data, with feedgen: data in, bytes out.

No Flask and no database in here: the views gather the data, these functions only write XML,
so they are trivially testable and their quirks (see FIELD-NOTES, feedgen 1.0.0) live in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from feedgen.feed import FeedGenerator

Format = Literal["atom", "rss"]

MEDIA_TYPES: dict[str, str] = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
}

# The epoch stands in for the <updated> of a feed with no entries yet: a fixed value keeps
# the bytes reproducible for a given database state.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Item:
    """One entry: a post or a comment, already public, with absolute URLs."""

    id: str
    title: str
    link: str
    published: datetime
    updated: datetime
    author: str
    content_html: str
    author_uri: str = ""
    summary: str = ""
    categories: tuple[str, ...] = ()
    comments_link: str = ""


@dataclass(frozen=True)
class Channel:
    """The feed itself: what it is, where it lives (self) and the page it mirrors (alternate)."""

    id: str
    title: str
    subtitle: str
    self_url: str
    alternate_url: str
    language: str
    author: str
    updated: datetime = EPOCH
    ttl_minutes: int = 0
    items: list[Item] = field(default_factory=list)


_SAFE_URI = re.compile(r"^https?://", re.IGNORECASE)


def tag_uri(authority: str, when: datetime, specific: str) -> str:
    """Return an RFC 4151 tag URI: tag:<authority>,<year>:<specific>."""
    return f"tag:{authority},{when.astimezone(UTC).year}:{specific}"


def render(channel: Channel, fmt: Format) -> bytes:
    """Return channel as an Atom or RSS document (UTF-8 bytes), entries in the given order."""
    fg = FeedGenerator()
    # dc:creator carries the author's name in RSS (RSS <author> wants an email, which we never
    # publish); Atom has its own <author><name>, so the extension stays out of Atom.
    fg.load_extension("dc", atom=False, rss=True)
    fg.id(channel.id)
    fg.title(channel.title)
    fg.subtitle(channel.subtitle)  # also the RSS <description>, which RSS requires
    fg.language(channel.language)
    fg.author(name=channel.author)
    fg.generator("Field Notes blog (python-feedgen)")
    # RSS takes <channel><link> from the last link() call: self first, alternate last.
    fg.link(href=channel.self_url, rel="self", type=MEDIA_TYPES[fmt].split(";")[0])
    fg.link(href=channel.alternate_url, rel="alternate", type="text/html")
    fg.updated(channel.updated)  # also lastBuildDate, which would otherwise be "now"
    if channel.ttl_minutes:
        fg.ttl(channel.ttl_minutes)
    for item in channel.items:
        # add_entry() prepends unless told otherwise; the caller's order is newest first.
        fe = fg.add_entry(order="append")
        fe.id(item.id)  # a tag URI: RSS <guid isPermaLink="false">
        fe.title(item.title)
        fe.link(href=item.link, rel="alternate", type="text/html")
        fe.published(item.published)
        fe.updated(item.updated)
        if _SAFE_URI.match(item.author_uri):
            fe.author(name=item.author, uri=item.author_uri)
        else:
            fe.author(name=item.author)
        fe.dc.dc_creator(item.author)
        if item.summary:
            fe.summary(item.summary)
        fe.content(item.content_html, type="html")
        for category in item.categories:
            fe.category(term=category)
        if item.comments_link:
            fe.comments(item.comments_link)
    if fmt == "atom":
        return fg.atom_str(pretty=False)
    return fg.rss_str(pretty=False)
