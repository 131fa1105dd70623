"""The sitemap: an index of files of at most 50,000 URLs and 50 MB each, cached by version.

`/sitemap.xml` is a sitemap index (sitemaps.org protocol) listing one file per part of a
section, `/sitemap-<section>-<n>.xml`, with its lastmod. Files sit at the site's root, as the
protocol asks: a sitemap may list only URLs under its own directory.

A Section is one kind of URL (the home page, posts, pages). To add one, write a class with the
four members of `Section` and append it to SECTIONS; the index, the files, their limits, ETags
and caching follow:

- `version(now)`: a few indexed reads that change whenever the section's URLs or their lastmod
  do (the ETag of every file, and of the index, is made from versions, so a 304 costs only them);
- `parts(now)`: how the section splits into files, each a `Part` with its lastmod and whatever
  the section needs to list it again;
- `urls(part)`: the part's (absolute URL, lastmod) pairs;
- `name`: the section's word in the file names.

Index and files are kept per process under their ETag (blog.cache): built once per change of
the content, never stale, since another process's write changes the version the next request
reads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from xml.sax.saxutils import escape

import sqlalchemy as sa
from flask import current_app, g, url_for

from blog.cache import app_cache
from blog.extensions import db
from blog.models import VISIBLE_STATUSES, Post, UTCDateTime, utcnow
from blog.permalinks import post_urls
from blog.templating import isodate

# The sitemaps.org limits for one file: 50,000 URLs and 50 MB (52,428,800 bytes) uncompressed.
MAX_URLS = 50_000
MAX_BYTES = 50 * 1024 * 1024
XMLNS = "http://www.sitemaps.org/schemas/sitemap/0.9"
HEADER = f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{XMLNS}">\n'
FOOTER = "</urlset>\n"


@dataclass(frozen=True)
class Part:
    """One sitemap file of a section: its number (from 1), lastmod, and how to list it again."""

    number: int
    lastmod: datetime | None
    detail: tuple[Any, ...] = field(default=())


class Section(Protocol):
    name: str

    def version(self, now: datetime) -> tuple: ...

    def parts(self, now: datetime) -> list[Part]: ...

    def urls(self, part: Part, now: datetime) -> Iterable[tuple[str, datetime | None]]: ...


def url_entry(loc: str, lastmod: datetime | None) -> str:
    """Return one <url> element of a sitemap file."""
    when = f"<lastmod>{isodate(lastmod)}</lastmod>" if lastmod is not None else ""
    return f"<url><loc>{escape(loc)}</loc>{when}</url>\n"


class SiteSection:
    """The home page."""

    name = "site"

    def version(self, now: datetime) -> tuple:
        return (PostSection.newest_public(now),)

    def parts(self, now: datetime) -> list[Part]:
        return [Part(1, PostSection.newest_public(now))]

    def urls(self, part: Part, now: datetime) -> Iterable[tuple[str, datetime | None]]:
        yield url_for("posts.index", _external=True), part.lastmod


_ORDER = (Post.published_at, Post.id)


class PostSection:
    """Every public post, oldest first: the last file is the one new posts join."""

    name = "posts"

    @staticmethod
    def newest_public(now: datetime) -> datetime | None:
        """Return when the newest public post was published (a scheduled one going live counts)."""
        # Both sections ask, at the same `now`, in one request: read it once.
        asked, newest = g.get("sitemap_newest", (None, None))
        if asked is not now:
            newest = PostSection._newest_public(now)
            g.sitemap_newest = (now, newest)
        return newest

    @staticmethod
    def _newest_public(now: datetime) -> datetime | None:
        return db.session.scalar(
            sa.select(Post.published_at)
            .where(Post.public_filter(now))
            .order_by(Post.published_at.desc(), Post.id.desc())
            .limit(1)
        )

    def version(self, now: datetime) -> tuple:
        # Adding or deleting a post changes the count; every write through blog.content sets
        # updated_at (indexed); a scheduled post going live becomes the newest public one.
        counted = db.session.execute(
            sa.select(
                sa.select(sa.func.count()).select_from(Post).scalar_subquery(),
                sa.select(Post.updated_at)
                .order_by(Post.updated_at.desc())
                .limit(1)
                .scalar_subquery(),
            )
        ).one()
        return (counted[0], counted[1], self.newest_public(now))

    def parts(self, now: datetime) -> list[Part]:
        """Split the public posts into files by count and by a generous estimate of bytes.

        One query: the database numbers the posts and sums their estimated sizes (window
        functions), then groups them into runs that stay within both limits.
        """
        overhead = len(url_entry(url_for("posts.index", _external=True) + "2000/01//", utcnow()))
        # A slug byte takes at most 5 bytes in the file (percent-encoded: 3; escaped "&": 5).
        cost = overhead + 5 * sa.func.length(sa.cast(Post.slug, sa.LargeBinary))
        budget = max_bytes() - len(HEADER) - len(FOOTER) - (overhead + 5 * 200 * 4)
        numbered = (
            sa.select(
                Post.updated_at,
                sa.func.row_number().over(order_by=_ORDER).label("row"),
                sa.func.sum(cost).over(order_by=_ORDER).label("size"),
            )
            .where(Post.public_filter(now))
            .subquery()
        )
        by_count = (numbered.c.row - 1) // max_urls()
        by_size = (numbered.c.size - 1) // budget
        runs = db.session.execute(
            sa.select(
                sa.func.min(numbered.c.row),
                sa.func.count(),
                sa.func.max(numbered.c.updated_at, type_=UTCDateTime()),
            )
            .group_by(by_count, by_size)
            .order_by(sa.func.min(numbered.c.row))
        ).all()
        return [
            Part(number, lastmod, (first, count))
            for number, (first, count, lastmod) in enumerate(runs, start=1)
        ]

    def urls(self, part: Part, now: datetime) -> Iterator[tuple[str, datetime | None]]:
        first, count = part.detail
        # Through the connection, not the ORM: 50,000 rows of four columns, no objects needed.
        rows = (
            db.session.connection()
            .execute(
                sa.select(Post.slug, Post.published_at, Post.updated_at)
                .where(Post.public_filter(now))
                .order_by(*_ORDER)
                .offset(first - 1)
                .limit(count)
            )
            .all()
        )
        urls = post_urls(rows, _external=True)
        yield from zip(urls, (row.updated_at for row in rows), strict=True)


class PageSection:
    """Every public page (About, Colophon...) at /<slug>/, oldest first: a blog has a handful,
    so they are read in one small query and sorted and split in Python."""

    name = "pages"

    @staticmethod
    def _visible(now: datetime, *columns: Any) -> list[sa.Row]:
        """The public pages' rows (id, status, published_at and columns), by id.

        Asked for by kind alone: that condition only is what lets SQLite read the pages'
        partial index (WHERE kind = 'page'). With the status and date in the query, or ORDER
        BY id, it walked the posts instead: 42 ms instead of 3 for the sitemap index at
        100,000 posts (BENCHMARKS.md). Who may see a page is decided here, as visible_filter
        does.
        """
        found = db.session.connection().execute(
            sa.select(Post.id, Post.status, Post.published_at, *columns).where(
                Post.is_page_filter()
            )
        )
        return [
            row
            for row in sorted(found, key=lambda row: row.id)
            if row.status in VISIBLE_STATUSES
            and row.published_at is not None
            and row.published_at <= now
        ]

    def _rows(self, now: datetime) -> list[tuple[str, datetime]]:
        rows = self._visible(now, Post.slug, Post.updated_at)
        return [(row.slug, row.updated_at) for row in rows]

    def version(self, now: datetime) -> tuple:
        # Every write of a page sets its updated_at; publishing, unpublishing or deleting one
        # changes the count (a page is never scheduled, but one due now would count too).
        rows = self._visible(now, Post.updated_at)
        return (len(rows), max((row.updated_at for row in rows), default=None))

    def parts(self, now: datetime) -> list[Part]:
        """Split the pages into files within both limits (each URL counted as written)."""
        budget = max_bytes() - len(HEADER) - len(FOOTER)
        parts: list[Part] = []
        first = size = 0
        lastmod: datetime | None = None
        rows = self._rows(now)
        for index, (loc, when) in enumerate(self._entries(rows)):
            cost = len(url_entry(loc, when).encode())
            if index > first and (index - first >= max_urls() or size + cost > budget):
                parts.append(Part(len(parts) + 1, lastmod, (first, index - first)))
                first, size, lastmod = index, 0, None
            size += cost
            lastmod = when if lastmod is None or when > lastmod else lastmod
        if rows:
            parts.append(Part(len(parts) + 1, lastmod, (first, len(rows) - first)))
        return parts

    @staticmethod
    def _entries(rows: list[tuple[str, datetime]]) -> Iterator[tuple[str, datetime | None]]:
        for slug, updated_at in rows:
            yield url_for("pages.detail", slug=slug, _external=True), updated_at

    def urls(self, part: Part, now: datetime) -> Iterator[tuple[str, datetime | None]]:
        first, count = part.detail
        yield from self._entries(self._rows(now)[first : first + count])


SECTIONS: list[Section] = [SiteSection(), PostSection(), PageSection()]


def max_urls() -> int:
    return min(int(current_app.config.get("SITEMAP_MAX_URLS", MAX_URLS)), MAX_URLS)


def max_bytes() -> int:
    return min(int(current_app.config.get("SITEMAP_MAX_BYTES", MAX_BYTES)), MAX_BYTES)


def section(name: str) -> Section | None:
    return next((s for s in SECTIONS if s.name == name), None)


# --- Versions, ETags and the cache ------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    etag: str
    build: Any  # () -> bytes


def _etag(*parts: object) -> str:
    # Absolute URLs depend on the site's address (SERVER_NAME, or the trusted Host), so it is
    # part of the tag, with the limits that decide how sections split.
    site = (url_for("posts.index", _external=True), max_urls(), max_bytes())
    return hashlib.blake2b(repr((site, *parts)).encode(), digest_size=16).hexdigest()


def _cached(key: tuple, build: Any) -> Any:
    return app_cache("sitemap_cache", "SITEMAP_CACHE_SIZE").get_or_build(key, build)


def _parts(sec: Section, version: tuple, now: datetime) -> list[Part]:
    cache = app_cache("sitemap_parts", "SITEMAP_CACHE_SIZE")
    return cache.get_or_build((sec.name, _etag(version)), lambda: sec.parts(now))


def index_document() -> Document:
    """Return the sitemap index: its ETag now, and how to build (or fetch) its bytes."""
    now = utcnow()
    versions = [(sec, sec.version(now)) for sec in SECTIONS]
    etag = _etag("index", [(sec.name, version) for sec, version in versions])

    def build() -> bytes:
        entries = []
        for sec, version in versions:
            for part in _parts(sec, version, now):
                loc = url_for(
                    "posts.sitemap_file", section=sec.name, number=part.number, _external=True
                )
                when = f"<lastmod>{isodate(part.lastmod)}</lastmod>" if part.lastmod else ""
                entries.append(f"<sitemap><loc>{escape(loc)}</loc>{when}</sitemap>\n")
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<sitemapindex xmlns="{XMLNS}">\n{"".join(entries)}</sitemapindex>\n'
        )
        return body.encode()

    return Document(etag, lambda: _cached(("doc", etag), build))


def file_document(name: str, number: int) -> Document | None:
    """Return one sitemap file (None when the section or the part does not exist)."""
    sec = section(name)
    if sec is None:
        return None
    now = utcnow()
    version = sec.version(now)
    parts = _parts(sec, version, now)
    if not 1 <= number <= len(parts):
        return None
    part = parts[number - 1]
    etag = _etag("file", sec.name, number, version)

    def build() -> bytes:
        body = HEADER + "".join(url_entry(loc, when) for loc, when in sec.urls(part, now)) + FOOTER
        return body.encode()

    return Document(etag, lambda: _cached(("doc", etag), build))
