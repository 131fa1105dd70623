"""The rescue report: every old address known, and where it leads now.

Shown at the end of every import (console and the Import page) and by
`flask --app wsgi legacy-check` for a blog already moved (text, or CSV for a spreadsheet).
Where an address leads is found by the same code that answers the request (legacy.py), so
the report cannot say "redirects" for an address that answers 404.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TextIO
from urllib.parse import unquote

import sqlalchemy as sa
import sqlalchemy.orm as so

from blog.extensions import db
from blog.models import LegacyPath, Post, Tag
from blog.permalinks import month_matches
from blog.porting.legacy import (
    ARCHIVE_TARGETS,
    destination,
    resolve,
    route_for,
    url_context,
)
from blog.porting.oldurls import Listed

# What happens to a reader who follows an old address, in the order the report shows them.
STATUSES = {
    "nowhere": "lead nowhere (404)",
    "shared": "are shared by two posts of one month, so lead to neither (404)",
    "waiting": "lead to a draft or a scheduled post (404 until it is published)",
    "page": "are pages of this blog itself",
    "redirects": "redirect (301) to where their content is now",
}
ORIGINS = {
    "export": "named by the export",
    "rebuilt": "rebuilt from the title",
    "list": "from the list",
    "archive": "the old blog's archive",
    "feed": "the old blog's feed",
}
# A post's own page is the one address the other routes hang off: if a route answers an old
# address with the post pattern but no such post exists, the reader gets 404.
_POST_ENDPOINTS = ("posts.detail", "feeds.post_comments_atom", "feeds.post_comments_rss")


@dataclass(frozen=True)
class OldAddress:
    """One old address: how it is known, what happens to it, where it leads."""

    path: str
    origin: str
    status: str
    destination: str = ""
    what: str = ""
    note: str = ""
    target: str = ""
    # In the writer's --old-urls list (whatever else made it known).
    listed: bool = False

    @property
    def known_as(self) -> str:
        return ORIGINS.get(self.origin, self.origin)

    @property
    def why(self) -> str:
        """How the address is known and what it was, in a few words."""
        return "; ".join(part for part in (self.known_as, self.what, self.note) if part)


@dataclass(frozen=True)
class Section:
    """The old addresses of one status but "redirects", comment feeds folded into a count."""

    status: str
    heading: str
    items: list[OldAddress]
    comment_feeds: int


@dataclass(frozen=True)
class Group:
    """The old addresses that redirect to one place."""

    destination: str
    what: str
    items: list[OldAddress]

    @property
    def shown(self) -> str:
        return unquote(self.destination)


@dataclass
class Rescue:
    """Every old address known and where each leads now."""

    addresses: list[OldAddress]
    # Lines of the list that name no page: (line number, text).
    not_urls: list[tuple[int, str]] = field(default_factory=list)

    @property
    def counts(self) -> Counter:
        return Counter(a.status for a in self.addresses)

    @property
    def listed(self) -> list[OldAddress]:
        return [a for a in self.addresses if a.listed]

    def by_status(self, status: str) -> list[OldAddress]:
        return [a for a in self.addresses if a.status == status]

    def problems(self) -> list[Section]:
        """What does not redirect, by status (what leads nowhere first)."""
        sections = []
        for status in ("nowhere", "shared", "waiting", "page"):
            items = self.by_status(status)
            if items:
                shown = [a for a in items if a.target != "comments-feed"]
                heading = f"These {len(items)} {STATUSES[status]}"
                sections.append(Section(status, heading, shown, len(items) - len(shown)))
        return sections

    def redirects(self) -> tuple[list[Group], int]:
        """The addresses that redirect, by where they lead; a post's comment feed's old
        addresses are only counted (the CSV lists them)."""
        found: dict[str, Group] = {}
        for address in self.addresses:
            if address.status == "redirects":
                group = found.setdefault(
                    address.destination, Group(address.destination, address.what, [])
                )
                group.items.append(address)
        groups = [g for g in found.values() if g.items[0].target != "comments-feed"]
        feeds = sum(len(g.items) for g in found.values()) - sum(len(g.items) for g in groups)
        return groups, feeds

    def summary(self) -> str:
        counts = self.counts
        parts = [f"{counts[s]} {STATUSES[s]}" for s in STATUSES if counts[s]]
        return f"{len(self.addresses)} old addresses known: " + ("; ".join(parts) or "none")

    def listed_summary(self) -> str:
        """What became of a list's addresses, in a sentence (empty without a list)."""
        listed = self.listed
        if not listed:
            return ""
        lost = [a for a in listed if a.status in ("nowhere", "shared")]
        if not lost:
            return f"Every one of the {len(listed)} listed addresses leads somewhere."
        return (
            f"Of the {len(listed)} listed addresses, {len(listed) - len(lost)} lead somewhere "
            f"and {len(lost)} lead nowhere."
        )

    def lines(self) -> Iterator[str]:
        """The report for a terminal: counts, what leads nowhere, then every redirect."""
        yield "Rescue report: " + self.summary()
        if listed := self.listed_summary():
            yield "  " + listed
        if self.not_urls:
            yield f"Lines of the list that name no page, skipped ({len(self.not_urls)}):"
            for number, text in self.not_urls:
                yield f"  line {number}: {text}"
        for section in self.problems():
            yield section.heading + ":"
            for address in section.items:
                yield f"  {address.path}  ({address.why})"
            if section.comment_feeds:
                yield f"  and {section.comment_feeds} comment-feed addresses of the same posts"
        groups, feeds = self.redirects()
        if groups:
            yield f"Redirects, by where they lead ({len(groups)} places):"
        for group in groups:
            yield f"  {group.shown}  {group.what}"
            for address in group.items:
                yield f"    ← {address.path}  ({address.known_as})"
        if feeds:
            yield (
                f"  and {feeds} old addresses of posts' comment feeds lead to those feeds "
                "(flask --app wsgi legacy-check --format csv lists every address)"
            )

    def write_csv(self, out: TextIO) -> None:
        """One row per old address, for a spreadsheet."""
        writer = csv.writer(out)
        writer.writerow(["old_address", "status", "new_address", "what", "origin", "note"])
        for a in self.addresses:
            writer.writerow([a.path, a.status, unquote(a.destination), a.what, a.origin, a.note])


def _what(target: str, post, tag) -> str:
    if post is not None:
        prefix = "comments on " if target == "comments-feed" else ""
        return f"{prefix}“{post.title}”"
    if tag is not None:
        return f"{'feed of ' if target != 'tag' else ''}tag “{tag.name}”"
    return {
        "home": "the home page",
        "month": "the month's archive",
        "posts-atom": "the posts feed",
        "posts-rss": "the posts feed",
        "comments-atom": "the comments feed",
        "comments-rss": "the comments feed",
    }.get(target, target)


def _route_status(path: str, endpoint: str, args: dict) -> tuple[str, str]:
    """(status, note) of an address a route of this blog answers."""
    if endpoint not in _POST_ENDPOINTS or "year" not in args:
        return "page", ""  # a page's routes answer (route_for) only when the page is shown
    post = db.session.scalar(
        sa.select(Post)
        .where(Post.slug == args.get("slug"), Post.public_filter())
        .options(so.lazyload(Post.author), so.lazyload(Post.tags))
    )
    if post is not None and post.published_at is not None:
        if month_matches(post.published_at, args["year"], args["month"]):
            return "page", ""
    return "nowhere", (
        "it has the form of this blog's own post addresses, and no post has it: it cannot be "
        "redirected without hiding the blog's own address"
    )


def rescue_report(
    listed: Iterable[Listed] = (),
    shared: Iterable[tuple[str, str, list[str]]] = (),
    unrecorded: Iterable[str] = (),
) -> Rescue:
    """Where every stored old address leads now, and every listed, shared or unrecorded one."""
    listed = list(listed)
    with url_context():
        addresses = list(_addresses(listed, shared, unrecorded))
    return Rescue(addresses, [(item.line, item.url) for item in listed if not item.path])


def _addresses(listed: list[Listed], shared, unrecorded) -> Iterator[OldAddress]:
    seen: set[str] = set()
    in_list = {item.path for item in listed if item.path}
    # Plain rows, not ORM objects: a blog of 5,000 posts has some 60,000 old addresses.
    posts = {
        row.id: row
        for row in db.session.execute(
            sa.select(Post.id, Post.title, Post.slug, Post.published_at, Post.status, Post.kind)
        )
    }
    tags = {row.id: row for row in db.session.execute(sa.select(Tag.id, Tag.name, Tag.slug))}
    urls: dict[tuple[int | None, int | None, str], str | None] = {}
    rows = db.session.execute(
        sa.select(
            LegacyPath.path,
            LegacyPath.target,
            LegacyPath.origin,
            LegacyPath.post_id,
            LegacyPath.tag_id,
        ).order_by(LegacyPath.id)
    )
    for path, target, origin, post_id, tag_id in rows:
        seen.add(path)
        post, tag = posts.get(post_id), tags.get(tag_id)
        known = (path, origin)
        flags = {"target": target, "listed": path in in_list}
        what = _what(target, post, tag)
        route = route_for(path) if "?" not in path else None
        if route is not None:
            status, note = _route_status(path, *route)
            yield OldAddress(*known, status, path, what, note, **flags)
            continue
        # Post.is_public's own rule, read off a plain row.
        if post is not None and not Post.is_public.fget(post):
            yield OldAddress(*known, "waiting", "", what, post.status, **flags)
            continue
        key = (post_id, tag_id, target) if target not in ARCHIVE_TARGETS else (None, None, path)
        if key not in urls:
            urls[key] = destination(path, target, post, tag)
        if urls[key] is not None:
            yield OldAddress(*known, "redirects", urls[key], what, **flags)
        else:
            yield OldAddress(*known, "nowhere", "", what, **flags)
    for path, target, names in shared:
        if path not in seen:
            seen.add(path)
            titles = " and ".join(f"“{n}”" for n in names)
            yield OldAddress(path, "rebuilt", "shared", "", titles, "", target)
    for item in listed:
        if not item.path or item.path in seen:
            continue
        seen.add(item.path)
        yield _unstored(item.path, "list", item.outcome)
    for path in unrecorded:
        if path not in seen:
            seen.add(path)
            yield _unstored(path, "export", "")


def _unstored(path: str, origin: str, outcome: str) -> OldAddress:
    """An old address with no row of its own: a page of the blog, another spelling, or none."""
    listed = origin == "list"
    route = route_for(path) if "?" not in path else None
    if route is not None:
        status, note = _route_status(path, *route)
        where = path if status == "page" else ""
        return OldAddress(path, origin, status, where, note=note, listed=listed)
    found = resolve(path)
    if found is not None:
        what = _what(found.target, found.post, found.tag)
        return OldAddress(
            path, origin, "redirects", found.url, what, f"as {found.path}", found.target, listed
        )
    note = outcome.removeprefix("leads nowhere: ") if outcome else ""
    return OldAddress(path, origin, "nowhere", note=note, listed=listed)
