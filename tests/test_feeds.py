"""Feeds: what a feed reader gets from every feed URL, and what it must never get."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest
import sqlalchemy as sa
from lxml import etree

from blog import create_app
from blog.cache import LRU
from blog.content import save_post
from blog.extensions import db
from blog.feeds.build import Channel, Item, render, tag_uri
from blog.models import CommentStatus, Post, PostStatus, utcnow
from tests.helpers import factories
from tests.helpers.factories import path_of
from tests.helpers.html import parse

ATOM = "{http://www.w3.org/2005/Atom}"
RNG = Path(__file__).parent / "data" / "atom.rng"
SECRETS = (
    "DRAFT-SECRET-TEXT",
    "SCHEDULED-SECRET-TEXT",
    "PENDING-SECRET-TEXT",
    "SPAM-SECRET-TEXT",
    "pending@example.com",
    "spam@example.net",
    "approved@example.org",
    "203.0.113.7",
    "198.51.100.9",
    "192.0.2.44",
)


@dataclass
class Blog:
    first: Post
    closed: Post
    latest: Post
    draft: Post
    scheduled: Post


def _post(app, title: str, days_ago: float, tags: list[str], **kw) -> Post:
    return factories.post(
        app,
        title,
        kw.pop("body", f"The body of *{title}*."),
        tags=tags,
        published_at=kw.pop("published_at", utcnow() - timedelta(days=days_ago)),
        excerpt=kw.pop("excerpt", f"Excerpt of {title}."),
        **kw,
    )


@pytest.fixture
def blog(app) -> Blog:
    """Three public posts with comments, a draft, a scheduled post, and comments never shown."""
    now = utcnow()
    first = _post(app, "First steps", 3, ["reading", "tools"])
    closed = _post(app, "Closed for comments", 2, ["reading"], comments_open=False)
    latest = _post(app, "Latest news", 1, ["tools"])
    draft = _post(
        app,
        "A draft",
        0,
        ["reading"],
        status=PostStatus.DRAFT,
        published_at=None,
        body="DRAFT-SECRET-TEXT",
    )
    scheduled = _post(
        app,
        "Coming soon",
        0,
        ["reading"],
        published_at=now + timedelta(days=2),  # published, with a date to come: scheduled
        body="SCHEDULED-SECRET-TEXT",
    )
    comment = partial(factories.comment, app)
    comment(
        first,
        "Ada on <em>first</em>.",
        author_name="Ada",
        author_url="https://ada.example/",
        author_email="approved@example.org",
        ip="192.0.2.44",
        created_at=now - timedelta(hours=50),
    )
    comment(first, "Bo on first.", author_name="Bo", created_at=now - timedelta(hours=40))
    comment(closed, "Cy on closed.", author_name="Cy", created_at=now - timedelta(hours=30))
    comment(
        latest,
        "Di on latest.",
        author_name="Di",
        author_url="javascript:alert(1)",
        created_at=now - timedelta(hours=2),
    )
    comment(
        latest,
        "PENDING-SECRET-TEXT",
        author_name="Pending Person",
        author_email="pending@example.com",
        ip="203.0.113.7",
        status=CommentStatus.PENDING,
    )
    comment(
        first,
        "SPAM-SECRET-TEXT",
        author_name="Spammer",
        author_email="spam@example.net",
        ip="198.51.100.9",
        status=CommentStatus.SPAM,
    )
    return Blog(first, closed, latest, draft, scheduled)


def change(app, post: Post, **values) -> None:
    """Change a post's columns as the back office does (the revision bumped), and commit."""
    with app.app_context():
        row = db.session.get(Post, post.id)
        for name, value in values.items():
            setattr(row, name, value)
        row.touch()
        db.session.commit()


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _fetch(client, url: str, **headers):
    response = client.get(url, headers=headers)
    assert response.status_code == 200, url
    parsed = feedparser.parse(response.data)
    assert parsed.bozo == 0, (url, parsed.get("bozo_exception"))
    return response, parsed


def post_url(post: Post, _external: bool = False) -> str:
    """The post's address (the feeds' links must match the pages')."""
    return ("http://localhost" if _external else "") + path_of(post)


def _feed_urls(blog: Blog) -> list[str]:
    urls = [
        "/feeds/posts.atom",
        "/feeds/posts.rss",
        "/feeds/comments.atom",
        "/feeds/comments.rss",
        "/tags/reading/feed.atom",
        "/tags/reading/feed.rss",
        "/tags/tools/feed.atom",
    ]
    for post in (blog.first, blog.closed, blog.latest):
        urls += [post_url(post) + "comments.atom", post_url(post) + "comments.rss"]
    return urls


def test_every_feed_parses_with_absolute_self_and_alternate_links(client, blog):
    for url in _feed_urls(blog):
        response, parsed = _fetch(client, url)
        kind = "atom" if url.endswith(".atom") else "rss"
        assert response.content_type == f"application/{kind}+xml; charset=utf-8"
        assert parsed.version == ("atom10" if kind == "atom" else "rss20")
        links = {link.rel: link.href for link in parsed.feed.links}
        assert links["self"] == "http://localhost" + url
        page = client.get(_path(links["alternate"]))
        assert page.status_code == 200 and page.content_type.startswith("text/html"), url
        assert parsed.entries, url


def test_posts_feed_lists_published_posts_newest_first_with_full_content(client, blog):
    for url in ("/feeds/posts.atom", "/feeds/posts.rss"):
        _, parsed = _fetch(client, url)
        assert [e.title for e in parsed.entries] == [
            "Latest news",
            "Closed for comments",
            "First steps",
        ]
        entry = parsed.entries[2]
        assert entry.author == "Nell Carrow"
        assert entry.summary == "Excerpt of First steps."
        assert "<em>First steps</em>" in entry.content[0].value
        assert [t.term for t in entry.tags] == ["reading", "tools"]
        assert entry.published_parsed[:6] == blog.first.published_at.utctimetuple()[:6]
        assert entry.link == post_url(blog.first, _external=True)
        for entry in parsed.entries:
            assert client.get(_path(entry.link)).status_code == 200


def test_comment_feeds_title_link_and_order(client, blog):
    _, parsed = _fetch(client, "/feeds/comments.atom")
    assert [e.title for e in parsed.entries] == [
        "Comment on Latest news by Di",
        "Comment on Closed for comments by Cy",
        "Comment on First steps by Bo",
        "Comment on First steps by Ada",
    ]
    ada = parsed.entries[3]
    assert ada.author_detail.href == "https://ada.example/"
    assert "href" not in parsed.entries[0].author_detail  # a javascript: URL is not published
    assert "<em>first</em>" in ada.content[0].value
    for entry in parsed.entries:
        path, fragment = _path(entry.link), urlsplit(entry.link).fragment
        assert fragment.startswith("comment-")
        page = client.get(path)
        assert page.status_code == 200
        assert f'id="{fragment}"'.encode() in page.data

    _, parsed = _fetch(client, post_url(blog.first) + "comments.rss")
    assert [e.title for e in parsed.entries] == [
        "Comment on First steps by Bo",
        "Comment on First steps by Ada",
    ]
    assert [e.author for e in parsed.entries] == ["Bo", "Ada"]  # dc:creator


def test_closed_post_keeps_its_comment_feed(client, blog):
    _, parsed = _fetch(client, post_url(blog.closed) + "comments.atom")
    assert [e.title for e in parsed.entries] == ["Comment on Closed for comments by Cy"]


def test_feeds_of_drafts_scheduled_posts_and_unknown_tags_are_404(app, client, blog):
    blog.draft.published_at = datetime(2026, 1, 5, tzinfo=UTC)  # a draft with a date still hides
    change(app, blog.draft, published_at=blog.draft.published_at)
    for url in (
        post_url(blog.draft) + "comments.atom",
        post_url(blog.scheduled) + "comments.rss",
        "/2001/01/first-steps/comments.atom",  # the right slug under the wrong month
        "/tags/no-such-tag/feed.atom",
    ):
        assert client.get(url).status_code == 404, url


def test_tag_feed_lists_only_that_tags_public_posts(client, blog):
    _, parsed = _fetch(client, "/tags/reading/feed.atom")
    assert [e.title for e in parsed.entries] == ["Closed for comments", "First steps"]
    assert "reading" in parsed.feed.title


def test_ids_are_tag_uris_that_survive_a_new_title_and_slug(app, client, blog):
    _, before = _fetch(client, "/feeds/posts.atom")
    _, comments_before = _fetch(client, "/feeds/comments.rss")
    old_url = post_url(blog.first)
    year = blog.first.created_at.year
    assert before.entries[2].id == f"tag:localhost,{year}:post-{blog.first.id}"

    with app.app_context():
        save_post(
            db.session.get(Post, blog.first.id),
            title="First steps, revised",
            slug="renamed-first",
            body=blog.first.body,
            author_id=blog.first.author_id,
            tags=["reading"],
            status=PostStatus.PUBLISHED,
            published_at=blog.first.published_at,
        )
        db.session.commit()

    _, after = _fetch(client, "/feeds/posts.atom")
    _, comments_after = _fetch(client, "/feeds/comments.rss")
    assert [e.id for e in after.entries] == [e.id for e in before.entries]
    assert [e.id for e in comments_after.entries] == [e.id for e in comments_before.entries]
    assert after.entries[2].title == "First steps, revised"
    assert "/renamed-first/" in after.entries[2].link and old_url not in after.entries[2].link
    assert comments_after.entries[3].title == "Comment on First steps, revised by Ada"
    assert client.get(_path(comments_after.entries[3].link)).status_code == 200


def test_tag_authority_comes_from_config(app, client, blog):
    app.config["FEED_TAG_AUTHORITY"] = "blog.example.org"
    _, parsed = _fetch(client, "/feeds/posts.atom")
    assert parsed.entries[0].id.startswith("tag:blog.example.org,")


def test_atom_feeds_are_valid_rfc4287(client, blog):
    schema = etree.RelaxNG(etree.parse(RNG))
    for url in _feed_urls(blog):
        if not url.endswith(".atom"):
            continue
        doc = etree.fromstring(client.get(url).data)
        assert schema.validate(doc), (url, schema.error_log)
        # The two Schematron rules of RFC 4287 appendix B, which libxml2 does not run:
        assert doc.find(f"{ATOM}author") is not None or all(
            e.find(f"{ATOM}author") is not None for e in doc.iter(f"{ATOM}entry")
        )
        for entry in doc.iter(f"{ATOM}entry"):
            alternate = entry.xpath(
                "a:link[@rel='alternate' or not(@rel)]", namespaces={"a": ATOM[1:-1]}
            )
            assert alternate or entry.find(f"{ATOM}content") is not None


def test_schema_rejects_an_invalid_feed():
    """The schema is not a rubber stamp: a feed without an id or with a bad date fails."""
    schema = etree.RelaxNG(etree.parse(RNG))
    head = '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
    assert not schema.validate(
        etree.fromstring(head + "<updated>2026-01-01T00:00:00Z</updated></feed>")
    )
    assert not schema.validate(etree.fromstring(head + "<id>x</id><updated>today</updated></feed>"))
    assert schema.validate(
        etree.fromstring(head + "<id>x</id><updated>2026-01-01T00:00:00Z</updated></feed>")
    )


def test_rss_channel_and_items(client, blog):
    doc = etree.fromstring(client.get("/feeds/posts.rss").data)
    channel = doc.find("channel")
    assert channel.findtext("link") == "http://localhost/"  # the page, not the feed itself
    self_link = channel.find("{http://www.w3.org/2005/Atom}link")
    assert self_link.get("rel") == "self" and self_link.get("href").endswith("/feeds/posts.rss")
    item = channel.find("item")
    assert item.findtext("{http://purl.org/dc/elements/1.1/}creator") == "Nell Carrow"
    assert item.find("author") is None  # RSS <author> is an email address: never published
    guid = item.find("guid")
    assert guid.get("isPermaLink") == "false" and guid.text.startswith("tag:localhost,")
    assert "<em>Latest news</em>" in item.findtext(
        "{http://purl.org/rss/1.0/modules/content/}encoded"
    )


def test_conditional_get_answers_304_without_a_body(client, blog):
    for url in _feed_urls(blog):
        first = client.get(url)
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        assert first.headers["Cache-Control"] == "public, max-age=300"
        assert "Set-Cookie" not in first.headers
        by_etag = client.get(url, headers={"If-None-Match": etag})
        by_date = client.get(url, headers={"If-Modified-Since": modified})
        for response in (by_etag, by_date):
            assert response.status_code == 304, url
            assert response.data == b""
            assert response.headers["ETag"] == etag
            assert response.headers["Cache-Control"] == "public, max-age=300"
        stale = client.get(url, headers={"If-None-Match": '"something-else"'})
        assert stale.status_code == 200 and stale.data == first.data
    head = client.head("/feeds/posts.atom")
    assert head.status_code == 200 and head.headers["ETag"]


def test_304_is_answered_without_building_the_feed(client, blog, monkeypatch):
    etag = client.get("/feeds/comments.atom").headers["ETag"]

    def explode(*args, **kwargs):
        raise AssertionError("the feed was built for a 304")

    monkeypatch.setattr("blog.feeds.views.render", explode)
    monkeypatch.setattr("blog.feeds.queries.latest_comments", explode)
    assert client.get("/feeds/comments.atom", headers={"If-None-Match": etag}).status_code == 304


def test_new_comment_changes_the_etag_and_shows_in_both_comment_feeds(app, client, blog):
    urls = [post_url(blog.latest) + "comments.atom", "/feeds/comments.rss"]
    etags = {url: client.get(url).headers["ETag"] for url in urls}

    # Another worker process writes: a second app (its own feed cache) on the same database.
    other = create_app(app.config.copy())
    factories.comment(other, blog.latest, "A brand new remark.", author_name="Eve")

    for url in urls:
        response = client.get(url, headers={"If-None-Match": etags[url]})
        assert response.status_code == 200
        assert response.headers["ETag"] != etags[url]
        parsed = feedparser.parse(response.data)
        assert parsed.entries[0].title == "Comment on Latest news by Eve"
        newest = parsed.entries[0]
        # Atom puts a comment in <content>, RSS in <description> (feedparser: summary).
        body = newest.content[0].value if "content" in newest else newest.summary
        assert "A brand new remark." in body


def test_a_scheduled_post_appears_when_its_time_comes_without_any_write(client, blog, monkeypatch):
    first = client.get("/feeds/posts.atom")
    assert b"Coming soon" not in first.data
    later = utcnow() + timedelta(days=3)
    monkeypatch.setattr("blog.models.utcnow", lambda: later)
    monkeypatch.setattr("blog.feeds.queries.utcnow", lambda: later)
    response = client.get("/feeds/posts.atom", headers={"If-None-Match": first.headers["ETag"]})
    assert response.status_code == 200
    assert feedparser.parse(response.data).entries[0].title == "Coming soon"


def test_unpublishing_a_post_takes_it_and_its_comments_out_of_the_feeds(app, client, blog):
    change(app, blog.latest, status=PostStatus.DRAFT)
    _, posts = _fetch(client, "/feeds/posts.atom")
    _, comments = _fetch(client, "/feeds/comments.atom")
    assert "Latest news" not in [e.title for e in posts.entries]
    assert not [e for e in comments.entries if "Latest news" in e.title]


def test_nothing_private_leaks_into_any_feed(client, blog):
    bodies = [client.get(url).data.decode() for url in _feed_urls(blog)]
    assert len(bodies) == 13
    for body in bodies:
        for secret in SECRETS:
            assert secret not in body
        assert "A draft" not in body and "Coming soon" not in body


def test_limits_bound_the_entries(app, client, blog):
    app.config.update(FEED_POSTS_LIMIT=2, FEED_COMMENTS_LIMIT=3)
    assert len(_fetch(client, "/feeds/posts.rss")[1].entries) == 2
    assert len(_fetch(client, "/feeds/comments.atom")[1].entries) == 3


def test_feed_queries_do_not_grow_with_the_comments(app, client, blog, queries):
    app.extensions["feed_cache"] = LRU(0)  # build every time: count the real queries
    urls = [post_url(blog.first) + "comments.atom", "/feeds/comments.atom", "/feeds/posts.atom"]
    with queries() as few:
        for url in urls:
            assert client.get(url).status_code == 200
    for n in range(30):
        factories.comment(app, blog.first, f"Comment {n}", author_name=f"Reader {n}")
    with queries() as many:
        for url in urls:
            assert b"Reader 29" in client.get(url).data or url.endswith("posts.atom")
    # Three feeds of up to three queries each, plus each feed's one read of the site settings
    # (title, language, time zone: the writer changes them in the back office).
    assert len(many) == len(few) <= 12, "\n".join(many)


def test_cache_serves_the_same_bytes_until_the_database_changes(app, client, blog):
    first = client.get("/feeds/posts.atom")
    cache: LRU = app.extensions["feed_cache"]
    assert first.headers["ETag"].strip('"') in cache._items
    assert client.get("/feeds/posts.atom").data == first.data
    change(app, blog.first, title="Retitled")
    assert b"Retitled" in client.get("/feeds/posts.atom").data


def _alternates(client, url: str) -> dict[str, str]:
    response = client.get(url)
    assert response.status_code == 200
    return {
        link.get("href"): link.get("type")
        for link in parse(response).iterfind(".//head/link[@rel='alternate']")
    }


def test_pages_link_their_feeds_for_autodiscovery(client, blog):
    site = {
        "/feeds/posts.atom": "application/atom+xml",
        "/feeds/posts.rss": "application/rss+xml",
        "/feeds/comments.atom": "application/atom+xml",
        "/feeds/comments.rss": "application/rss+xml",
    }
    post = post_url(blog.first)
    pages = {
        "/": site,
        post: {
            **site,
            post + "comments.atom": "application/atom+xml",
            post + "comments.rss": "application/rss+xml",
        },
        "/tags/reading/": {**site, "/tags/reading/feed.atom": "application/atom+xml"},
    }
    for page, expected in pages.items():
        found = _alternates(client, page)
        assert found == expected, page
        for href, media_type in found.items():
            response = client.get(href)
            assert response.status_code == 200
            assert response.content_type.startswith(media_type)
    home = client.get("/").data.decode()
    assert 'href="/feeds/posts.atom">posts (Atom)</a>' in home  # the footer


def test_build_keeps_the_given_order_and_needs_aware_times():
    when = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    items = [
        Item(
            id=tag_uri("example.org", when, f"post-{n}"),
            title=f"Entry {n}",
            link=f"https://example.org/{n}/",
            published=when - timedelta(days=n),
            updated=when - timedelta(days=n),
            author="Nell",
            content_html=f"<p>{n}</p>",
        )
        for n in (1, 2, 3)
    ]
    channel = Channel(
        id="https://example.org/feeds/posts.atom",
        title="T",
        subtitle="S",
        self_url="https://example.org/feeds/posts.rss",
        alternate_url="https://example.org/",
        language="en",
        author="T",
        updated=when,
        items=items,
    )
    for fmt in ("atom", "rss"):
        parsed = feedparser.parse(render(channel, fmt))
        assert [e.title for e in parsed.entries] == ["Entry 1", "Entry 2", "Entry 3"]
        assert parsed.entries[0].id == "tag:example.org,2026:post-1"
    rss = etree.fromstring(render(channel, "rss"))
    assert rss.findtext("channel/link") == "https://example.org/"
    naive = Channel(**{**channel.__dict__, "updated": datetime(2026, 1, 1)})
    with pytest.raises(ValueError):
        render(naive, "atom")


@pytest.mark.sqlite_only  # reads SQLite's EXPLAIN QUERY PLAN
def test_feed_queries_use_indexes(app, client, blog):
    """Every statement behind every feed searches an index: no table scan, no big sort."""
    app.extensions["feed_cache"] = LRU(0)
    captured: list[tuple[str, tuple]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    urls = _feed_urls(blog)
    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        for url in urls:
            assert client.get(url).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
    plans = {}
    with engine.connect() as connection:
        for statement, parameters in captured:
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, tuple(parameters))
            plans[statement] = [row[-1] for row in rows]
    assert len(plans) >= 8
    for statement, plan in plans.items():
        if statement.split() == ["SELECT", 'setting."key",', "setting.value", "FROM", "setting"]:
            continue  # the site settings: a handful of rows, one per kind, never more
        assert not [step for step in plan if step.startswith("SCAN ")], (statement, plan)
        # Sorting one post's tags by name, or one tag's posts by date, is bounded by that
        # post or tag; only a sort over the whole blog is refused.
        if "post_tags" not in statement:
            assert not [step for step in plan if "TEMP B-TREE" in step], (statement, plan)
    one_post = [p for s, p in plans.items() if "WHERE comment.post_id = ?" in s]
    assert one_post and all("ix_comment_post_status_created_at" in p[0] for p in one_post)
