"""Pages (About, Colophon...): written in the editor, at /<slug>/, in the navigation, in no
listing or feed, comments off until the writer opens them, slugs the routes use refused."""

from __future__ import annotations

import feedparser
import pytest
import sqlalchemy as sa

from blog.content import save_post
from blog.extensions import db
from blog.models import LegacyPath, Post, PostKind, PostStatus, Setting
from blog.permalinks import RESERVED_SEGMENTS, page_slug_problem, route_segments
from blog.porting.legacy import route_for
from blog.porting.rescue import rescue_report
from tests.helpers.auth import login
from tests.helpers.factories import comment, page, path_of, post, writer
from tests.helpers.html import csrf_token, errors_by_field, form_fields, parse, text


def write_page(client, **fields):
    """Send the new-page form as the writer; return the response."""
    data = {"title": "About", "body": "I write here.", "publish": "Publish now", **fields}
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(
        "/admin/pages/new", data={**data, "csrf_token": csrf_token(client, "/admin/pages/new")}
    )


def nav(client, url: str = "/") -> list[tuple[str, str]]:
    doc = parse(client.get(url))
    return [(text(a), a.get("href")) for a in doc.xpath("//nav[@class='site-nav']//a")]


@pytest.fixture
def writer_client(app, client):
    writer(app)
    assert login(client).status_code == 303
    return client


def test_a_page_written_in_the_editor_lives_at_its_slug(app, writer_client):
    client = writer_client
    form = parse(client.get("/admin/pages/new"))
    names = set(form.xpath("//form[@id='editor']//*[@name]/@name"))
    assert {"title", "slug", "body", "excerpt", "nav_order", "comments_open"} <= names
    assert not {"tags", "publish_at", "schedule"} & names  # undated: never scheduled
    assert not form.xpath("//input[@name='comments_open']/@checked")  # off by default
    # The preview is the posts' preview: the same Markdown.
    assert form.xpath("//textarea[@name='body']/@data-hx-post") == ["/admin/posts/preview"]

    response = write_page(client, body="I write *here*.", nav_order="1")
    assert response.status_code == 303
    with app.app_context():
        page = db.session.scalar(sa.select(Post).where(Post.slug == "about"))
        assert (page.kind, page.status, page.nav_order) == (PostKind.PAGE, "published", 1)
    assert response.headers["Location"] == f"/admin/pages/{page.id}/edit"
    doc = parse(client.get("/about/"))
    assert text(doc.xpath("//main//h1")[0]) == "About"
    assert doc.xpath("//main//em/text()") == ["here"]
    assert not doc.xpath("//main//time")  # not dated
    assert not doc.xpath("//*[@id='comments']") and not doc.xpath("//form[@id='comment-form']")
    assert nav(client) == [("About", "/about/")]


def test_drafts_are_not_shown_and_the_navigation_follows_every_write(app, writer_client):
    client = writer_client
    write_page(client, title="Colophon", nav_order="2")
    write_page(client, title="About", nav_order="1")
    write_page(client, title="Thanks", nav_order=None)  # at its address, not listed
    write_page(client, title="Contact", nav_order="3", publish=None, save_draft="Save draft")
    assert nav(client) == [("About", "/about/"), ("Colophon", "/colophon/")]
    assert client.get("/thanks/").status_code == 200
    assert client.get("/contact/").status_code == 404  # a draft
    with app.app_context():
        ids = dict(db.session.execute(sa.select(Post.slug, Post.id)).all())
        revision = Setting.revision()
    edit = f"/admin/pages/{ids['colophon']}/edit"
    fields = {"title": "Colophon", "body": "Type.", "nav_order": "0", "update": "Update"}
    client.post(edit, data={**fields, "csrf_token": csrf_token(client, edit)})
    assert nav(client) == [("Colophon", "/colophon/"), ("About", "/about/")]
    with app.app_context():
        assert Setting.revision() > revision  # the navigation is in every page's version
    client.post(edit, data={**fields, "unpublish": "Unpublish", "update": None,
                            "csrf_token": csrf_token(client, edit)})  # fmt: skip
    assert nav(client) == [("About", "/about/")]
    delete = f"/admin/posts/{ids['about']}/delete"
    response = client.post(delete, data={"csrf_token": csrf_token(client, delete)})
    assert response.headers["Location"] == "/admin/pages/"
    # Gone, as a deleted post is: sites that linked to it (webmentions) drop it.
    assert nav(client) == [] and client.get("/about/").status_code == 410
    listing = parse(client.get("/admin/pages/"))
    assert [text(a) for a in listing.xpath("//a[@class='post-edit-link']")] == [
        "Colophon",
        "Contact",
        "Thanks",
    ]


def test_pages_stay_out_of_listings_feeds_and_the_post_walk(app, client):
    first = post(app, "First post", "One.")
    with app.app_context():
        author = writer(app)
        save_post(Post(), title="About", body="Me.", author_id=author.id, tags=["ignored"],
                  status=PostStatus.PUBLISHED, published_at=first.published_at,
                  kind=PostKind.PAGE, nav_order=1)  # fmt: skip
        db.session.commit()
    second = post(app, "Second post", "Two.")
    month = f"/{first.published_at:%Y/%m}/"
    for url in ("/", month, f"/{first.published_at:%Y}/"):
        titles = [text(a) for a in parse(client.get(url)).xpath("//h2[@class='summary-title']/a")]
        assert "About" not in titles and "First post" in titles, url
    feed = feedparser.parse(client.get("/feeds/posts.atom").data)
    assert [e.title for e in feed.entries] == ["Second post", "First post"]
    # In the sitemap's pages file, not its posts file.
    assert b"/about/" not in client.get("/sitemap-posts-1.xml").data
    assert b"http://localhost/about/" in client.get("/sitemap-pages-1.xml").data
    # Previous and next walk posts only.
    after_first = parse(client.get(path_of(first))).xpath("//a[@rel='next']/@href")
    assert after_first == [path_of(second)]
    with app.app_context():
        page = db.session.scalar(sa.select(Post).where(Post.slug == "about"))
        assert page.tags == []  # pages have no tags
    # A page is not a post: no dated address for it.
    assert client.get(f"{month}about/").status_code == 404


def test_comments_on_a_page_when_the_writer_opens_them(app, writer_client):
    client = writer_client
    write_page(client, title="Contact", comments_open="y")
    page = client.get("/contact/")
    action, fields = form_fields(page, "http://localhost/", "//form[@id='comment-form']")
    assert action == "http://localhost/contact/comments"
    data = {**dict(fields), "author_name": "Ada", "body": "Hello from a reader."}
    response = client.post("/contact/comments", data=data)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/contact/#comment-")
    assert "Hello from a reader." in text(parse(client.get("/contact/")).xpath("//main")[0])
    feed = feedparser.parse(client.get("/contact/comments.atom").data)
    assert [e.summary for e in feed.entries] == ["<p>Hello from a reader.</p>"]
    assert feed.feed.link.endswith("/contact/#comments")


def test_a_closed_page_refuses_comments(app, client):
    writer(app)
    with app.app_context():
        save_post(Post(), title="About", body="Me.", author_id=1, tags=[],
                  status=PostStatus.PUBLISHED, published_at=None, kind=PostKind.PAGE,
                  comments_open=False)  # fmt: skip
        db.session.execute(sa.update(Post).values(published_at=sa.func.current_timestamp()))
        db.session.commit()
    token = csrf_token(client, "/login")
    response = client.post("/about/comments", data={"author_name": "A", "body": "Hi",
                                                    "csrf_token": token})  # fmt: skip
    assert response.status_code == 403


def test_a_page_with_comments_shows_them_after_closing(app):
    page = post(app, "Guestbook", "Sign here.", comments_open=True)
    with app.app_context():
        db.session.execute(sa.update(Post).where(Post.id == page.id).values(kind="page"))
        db.session.commit()
    comment(app, page, "I was here.")
    with app.app_context():
        db.session.execute(sa.update(Post).where(Post.id == page.id).values(comments_open=False))
        db.session.commit()
    doc = parse(app.test_client().get("/guestbook/"))
    assert "I was here." in text(doc.xpath("//*[@id='comments']")[0])
    assert doc.xpath("//p[@class='comments-closed']") and not doc.xpath(
        "//form[@id='comment-form']"
    )


RESERVED = ["admin", "feeds", "tags", "search", "login", "logout", "setup", "static", "media",
            "subscriptions", "webmention", "2024", "1999", "42"]  # fmt: skip


@pytest.mark.parametrize("slug", RESERVED)
def test_slugs_the_blog_uses_are_refused_at_the_field(app, writer_client, slug):
    response = write_page(writer_client, slug=slug, body="Kept text.")
    assert response.status_code == 422
    message = errors_by_field(response)["slug"]
    assert f"/{slug}/" in message and "choose" in message
    doc = parse(response)
    assert doc.xpath("//input[@name='slug']/@value") == [slug]
    assert doc.xpath("//textarea[@name='body']/text()") == ["Kept text."]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Post.id))) == 0


def test_a_title_that_makes_a_taken_slug_is_refused_too(writer_client):
    response = write_page(writer_client, title="Search")
    assert response.status_code == 422
    assert "/search/ is an address the blog itself uses" in errors_by_field(response)["slug"]
    assert write_page(writer_client, title="Search", slug="search-tips").status_code == 303


def test_every_route_of_the_blog_is_refused_and_left_to_its_route(app, writer_client):
    """Walk the URL map: each first path segment a rule uses is no page's slug, and the page
    route leaves it alone (GET of the POST-only /logout stays 405, not a redirect to /logout/)."""
    with app.test_request_context():
        segments = route_segments(app.url_map)
        # The routes main gained since pages were written (images, mail, Webmention) are in the
        # URL map itself, not only in the list kept for features to come.
        assert {"admin", "feeds", "tags", "search", "login", "logout", "setup"} <= segments
        assert {"media", "subscriptions", "webmention"} <= segments
        assert segments <= RESERVED_SEGMENTS, segments - RESERVED_SEGMENTS
        assert all(page_slug_problem(s) for s in segments | RESERVED_SEGMENTS)
    assert writer_client.get("/logout").status_code == 405
    for segment in ("tags", "search", "media", "webmention", "subscriptions"):
        assert writer_client.get(f"/{segment}/").status_code == 404
    assert writer_client.get("/2024/").status_code == 404  # the year's (empty) archive
    assert writer_client.get("/favicon.ico").status_code == 404  # no slug has a dot


def test_a_slug_another_post_has_is_refused(app, client):
    post(app, "Colophon", "A post called so.", slug="colophon")  # before any request
    assert login(client).status_code == 303
    response = write_page(client, title="Colophon", slug="colophon")
    assert response.status_code == 422
    assert "the post “Colophon”" in errors_by_field(response)["slug"]


def test_an_old_address_with_a_pages_shape_still_redirects(app, client):
    moved = post(app, "About me, long ago", "Old.")
    with app.app_context():
        db.session.add(LegacyPath(path="/about-me/", post_id=moved.id))
        db.session.commit()
    response = client.get("/about-me/")
    assert response.status_code == 301 and response.headers["Location"] == path_of(moved)
    without_slash = client.get("/about-me")  # the old-address lookup answers before the route
    assert without_slash.status_code == 301 and without_slash.headers["Location"] == path_of(moved)


def test_old_addresses_of_a_pages_shape_are_the_blogs_only_where_a_page_is(app, client):
    """The page route takes every /<slug>/, but only a page readers see answers there: the
    import stores any other old address of that shape, and the rescue report says where each
    one leads, as requests find it (blog.porting.legacy.route_for)."""
    moved = post(app, "About me, long ago", "Old.")
    page(app, "About")
    page(app, "Contact", status=PostStatus.DRAFT)
    with app.test_request_context():
        assert route_for("/about/") == ("pages.detail", {"slug": "about"})
        assert route_for("/about/comments.atom")[0] == "feeds.post_comments_atom"
        for free in ("/about-me/", "/about-me/comments.atom", "/contact/"):  # no page, a draft
            assert route_for(free) is None, free
    with app.app_context():
        for path in ("/about-me/", "/contact/"):
            db.session.add(LegacyPath(path=path, target="post", post_id=moved.id))
        db.session.commit()
        report = {a.path: a.status for a in rescue_report(unrecorded=["/about/"]).addresses}
    assert report == {"/about-me/": "redirects", "/contact/": "redirects", "/about/": "page"}
    for old in ("/about-me/", "/contact/", "/blog/about-me/"):
        response = client.get(old)
        assert response.status_code == 301 and response.headers["Location"] == path_of(moved), old
    assert client.get("/about/").status_code == 200


def test_the_demo_has_an_about_page_in_its_navigation(app, demo, client):
    assert nav(client) == [("About", "/about/")]
    assert nav(client, "/about/") == [("About", "/about/")]
    current = parse(client.get("/about/")).xpath("//nav[@class='site-nav']//a/@aria-current")
    assert current == ["page"]
