"""What each reading page shows, read in one or two small queries: the keys of cached pages.

A page cached under its key can never be stale: the key holds everything the page depends on
that can change, read from the database on every request, so a write through any process or
server changes the key of every page it touches. The post page's key covers the post (its id,
revision and times: every edit of the post or of its comments bumps the revision, see
blog.comments.store and blog.content), its author's name, the previous and next posts its links
show, the discussion settings, and whether comments are open now (closing by age changes with
time alone). A listing's key covers the posts it shows (ids, revisions, authors) and whether
there is a next page. "Now" is bound on every read, so a scheduled post appears when it is due.

The statements are built with Core once and run on the driver (blog.prepared): no ORM, no
statement building per request. They mirror Post.public_filter(), Post.published(),
Post.previous_post() and next_post().
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app

from blog import site
from blog.discussion import SETTING_KEY, stored_discussion
from blog.models import (
    VISIBLE_STATUSES,
    Post,
    PostKind,
    Setting,
    Tag,
    User,
    UTCDateTime,
    post_tags,
    utcnow,
)
from blog.permalinks import permalink_month
from blog.prepared import Prepared

# Settings (Setting rows) whose stored values every page shows: part of every page key. The
# site's title, tagline, language, author and time zone (dates, and which month a post is in),
# and the pages listed in the navigation.
SITE_SETTINGS: tuple[str, ...] = (site.SETTING_KEY, site.NAVIGATION_KEY)
# ... and those only the post page shows (the discussion: when comments close).
POST_PAGE_SETTINGS = (*SITE_SETTINGS, SETTING_KEY)
# A tag with this many posts is always read by walking all posts newest first (see tagged()).
BIG_TAG = 1000

_NOW = sa.bindparam("now", type_=UTCDateTime())
_PUBLIC = Post.public_filter(_NOW)
_NEWEST = (Post.published_at.desc(), Post.id.desc())
_SAMPLE_NOW = {"now": datetime(2000, 1, 1, tzinfo=UTC)}


def _neighbour(older: bool) -> sa.ScalarSelect:
    """The previous (older) or next post of the outer one: what its link shows, as one string.

    Title, slug and date are covered by the revision (every edit bumps it); created_at tells
    apart a post deleted and another written in its place under the same id (SQLite reuses it).
    """
    other = so.aliased(Post)
    place, mine = sa.tuple_(other.published_at, other.id), sa.tuple_(Post.published_at, Post.id)
    if older:
        where = [other.kind == PostKind.POST, other.status.in_(VISIBLE_STATUSES), place < mine]
        order = (other.published_at.desc(), other.id.desc())
    else:
        where = [
            other.kind == PostKind.POST,
            other.status.in_(VISIBLE_STATUSES),
            other.published_at <= _NOW,
            place > mine,
        ]
        order = (other.published_at.asc(), other.id.asc())
    text = sa.cast(other.id, sa.Text) + ":" + sa.cast(other.revision, sa.Text)
    text = text + ":" + sa.cast(other.created_at, sa.Text)
    return sa.select(text).where(*where).order_by(*order).limit(1).correlate(Post).scalar_subquery()


def _settings(keys: tuple[str, ...]) -> list[sa.ScalarSelect]:
    """The stored text of these settings, a column each."""
    return [Setting.stored_text(key) for key in keys]


def _text(column: sa.ColumnElement) -> sa.ColumnElement[str]:
    """A column read as text: compared (or parsed by hand), cheaper than SQLAlchemy's types."""
    return sa.cast(column, sa.Text)


_POST_PAGE = Prepared(
    sa.select(
        _text(Post.published_at),
        sa.cast(Post.comments_open, sa.Integer),
        Post.id,
        Post.revision,
        _text(Post.created_at),
        _text(Post.updated_at),
        User.display_name,
        _neighbour(older=True),
        _neighbour(older=False),
        *_settings(POST_PAGE_SETTINGS),
    )
    .join(User, User.id == Post.author_id)
    .where(Post.slug == sa.bindparam("slug", type_=sa.String()), _PUBLIC),
    slug="",
    **_SAMPLE_NOW,
)


@dataclass(frozen=True)
class PostPageKey:
    key: tuple
    is_open: bool  # comments open now: the page must be rendered with this very value


def post_page(year: int, month: int, slug: str) -> PostPageKey | None:
    """Return the key of the public post at /year/month/slug/, or None (404)."""
    now = utcnow()
    rows = _POST_PAGE.run(slug=slug, now=now)
    if not rows:
        return None
    published, comments_open, *rest = rows[0]
    published_at = datetime.fromisoformat(published).replace(tzinfo=UTC)
    *_, site_text, _navigation, discussion = rest
    if permalink_month(published_at, site.zone_of(site_text)) != (year, month):
        return None  # the view asks get_public_post: moved to the blog's month, or 404
    is_open = bool(comments_open) and not _closed_by_age(published_at, discussion, now)
    return PostPageKey((published, *rest, is_open), is_open)


def _closed_by_age(published_at: datetime, discussion: str | None, now: datetime) -> bool:
    """blog.discussion.auto_closed(), from the settings' stored text."""
    days = stored_discussion(discussion).close_after_days
    return days > 0 and published_at < now - timedelta(days=days)


# --- Listings ----------------------------------------------------------------------------------

_LISTED = (Post.id, Post.revision, _text(Post.created_at), User.display_name)
_PAGE = (sa.bindparam("limit", type_=sa.Integer()), sa.bindparam("offset", type_=sa.Integer()))
_WINDOW = {"limit": 1, "offset": 0}


def _listing(*where: sa.ColumnElement[bool]) -> sa.Select:
    return (
        sa.select(*_LISTED, *_settings(SITE_SETTINGS))
        .join(User, User.id == Post.author_id)
        .where(*where)
        .order_by(*_NEWEST)
        .limit(_PAGE[0])
        .offset(_PAGE[1])
    )


_START = sa.bindparam("start", type_=UTCDateTime())
_END = sa.bindparam("end", type_=UTCDateTime())
_HOME = Prepared(_listing(_PUBLIC), **_WINDOW, **_SAMPLE_NOW)
# One upper bound only, as in Post.published(): with "<= now" and "< end" SQLite may range over
# the first and walk every newer post.
_SPAN_TO_NOW = Prepared(
    _listing(_PUBLIC, Post.published_at >= _START), start=None, **_WINDOW, **_SAMPLE_NOW
)
_SPAN_PAST = Prepared(
    _listing(
        Post.status.in_(VISIBLE_STATUSES), Post.published_at >= _START, Post.published_at < _END
    ),
    start=None,
    end=None,
    **_WINDOW,
)


@dataclass(frozen=True)
class ListingKey:
    key: tuple
    has_next: bool


def _window(rows: list[tuple], page: int, per_page: int) -> ListingKey | None:
    if page > 1 and not rows:
        return None
    return ListingKey((page, per_page, tuple(rows)), len(rows) > per_page)


def home(page: int, per_page: int) -> ListingKey | None:
    """Return the key of page `page` of the latest posts, or None past the last page."""
    rows = _HOME.run(limit=per_page + 1, offset=(page - 1) * per_page, now=utcnow())
    return _window(rows, page, per_page)


def span(start: datetime, end: datetime, page: int, per_page: int) -> ListingKey | None:
    """Return the key of page `page` of the posts published in [start, end) (an archive)."""
    window = {"limit": per_page + 1, "offset": (page - 1) * per_page, "start": start}
    now = utcnow()
    if end > now:
        rows = _SPAN_TO_NOW.run(now=now, **window)
    else:
        rows = _SPAN_PAST.run(end=end, **window)
    return _window(rows, page, per_page)


# --- Tags ------------------------------------------------------------------------------------


def tagged(tag_id: sa.ColumnElement | int, walk: bool) -> sa.ColumnElement[bool]:
    """Posts with the tag, by the cheaper of two plans (the tag page and its key share them).

    Sorting: the tag's posts read through post_tags and sorted, as many rows as the tag has.
    Walking: all posts walked newest first, keeping the tagged ones, as many rows as it takes
    to fill the page. Sorting the 20,000 posts of a tag on a fifth of 100,000 took 50 ms a
    page; walking for the 3 posts of a rare one reads them all. Found.walk() chooses.
    """
    if walk:
        return sa.exists().where(post_tags.c.post_id == Post.id, post_tags.c.tag_id == tag_id)
    return Post.id.in_(sa.select(post_tags.c.post_id).where(post_tags.c.tag_id == tag_id))


_TAG_ID = sa.bindparam("tag_id", type_=sa.Integer())
_TAG_SLUG = sa.bindparam("slug", type_=sa.String())
# How many posts a tag has, counted up to BIG_TAG: which plan reads its posts.
_TAG_SIZE = (
    sa.select(sa.func.count())
    .select_from(
        sa.select(post_tags.c.post_id)
        .where(
            post_tags.c.tag_id == sa.select(Tag.id).where(Tag.slug == _TAG_SLUG).scalar_subquery()
        )
        .limit(BIG_TAG)
        .subquery()
    )
    .scalar_subquery()
)
_POSTS_EVER = sa.select(sa.func.max(Post.id)).scalar_subquery()  # about how many posts
_TAG = Prepared(
    sa.select(Tag.id, Tag.name, _TAG_SIZE, _POSTS_EVER).where(Tag.slug == _TAG_SLUG), slug=""
)
_TAGGED = {
    walk: Prepared(_listing(_PUBLIC, tagged(_TAG_ID, walk)), tag_id=0, **_WINDOW, **_SAMPLE_NOW)
    for walk in (False, True)
}


@dataclass(frozen=True)
class Found:
    id: int
    name: str
    slug: str
    size: int  # its posts, counted up to BIG_TAG
    posts: int  # about how many posts the blog has (the highest id)

    def walk(self, page: int, per_page: int) -> bool:
        """Return True when walking all posts is cheaper than sorting the tag's for this page.

        Walking reads about page × per_page × posts / size rows, sorting size rows.
        """
        return self.size >= BIG_TAG or self.size**2 > page * per_page * max(self.posts, 1)


# Found tags are kept a minute per process: a tag never changes its name (the feeds rely on that
# too), and its size only chooses a plan; a tag page then needs one statement. When its listing
# comes back empty, the tag is read again in case it was deleted or made anew under its slug.
TAG_SECONDS = 60


def tag(slug: str, fresh: bool = False) -> Found | None:
    """Return the tag with this slug and what chooses the plan that reads its posts, or None."""
    known = current_app.extensions.setdefault("blog.tags", {})
    found, since = known.get(slug, (None, 0.0))
    if found is not None and not fresh and time.monotonic() - since < TAG_SECONDS:
        return found
    rows = _TAG.run(slug=slug)
    if not rows:
        known.pop(slug, None)
        return None
    tag_id, name, size, posts = rows[0]
    found = Found(tag_id, name, slug, size, posts or 0)
    if len(known) > 1000:
        known.clear()
    known[slug] = (found, time.monotonic())
    return found


def tag_page(slug: str, page: int, per_page: int) -> tuple[Found, ListingKey | None] | None:
    """Return the tag and the key of page `page` of its posts (None past the end); None: no tag."""
    found = tag(slug)
    if found is None:
        return None
    rows = _tagged_rows(found, page, per_page)
    if not rows:
        again = tag(slug, fresh=True)
        if again is None:
            return None
        if again != found:
            found, rows = again, _tagged_rows(again, page, per_page)
    listing = _window(rows, page, per_page)
    return found, listing and ListingKey((found.id, *listing.key), listing.has_next)


def _tagged_rows(found: Found, page: int, per_page: int) -> list[tuple]:
    window = {"limit": per_page + 1, "offset": (page - 1) * per_page}
    walk = found.walk(page, per_page)
    return _TAGGED[walk].run(tag_id=found.id, now=utcnow(), **window)
