"""Every anonymous reader gets the same cached page; nobody gets a stale one or somebody else's.

What readers without any of the blog's cookies get: no session touched (no Set-Cookie, no
`Vary: Cookie`), an ETag, shared-cache lifetimes, a 304 without rendering, and a page rendered
once per key. What changes the key (a comment through another process, moderation, edits, the
settings, time itself) shows at the next request. What readers with cookies get: their own page,
marked private, never given to anybody else.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import request_started, session, template_rendered
from flask_login import current_user
from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder, run_wsgi_app

from blog import create_app
from blog.cache import LRU
from blog.comments import spam, store
from blog.comments.section import _serializer_for
from blog.discussion import DiscussionSettings
from blog.extensions import db
from blog.jobs.models import Job
from blog.mail.models import Subscription
from blog.models import Comment, CommentStatus, Post, PostStatus, Tag, User, utcnow
from blog.pagecache import Revalidation
from blog.posts import keys
from blog.readers import HELD_COOKIE, RECENT_COOKIE, REMEMBER_COOKIE
from blog.site import SiteSettings, refresh_navigation
from tests.helpers import factories
from tests.helpers import images as files
from tests.helpers.auth import login
from tests.helpers.html import csrf_token, form_fields, parse, text
from tests.helpers.mail import drain
from tests.helpers.media import media_rows, upload
from tests.helpers.sites import Site

SHARED = "public, max-age=0, s-maxage=10, stale-while-revalidate=20"  # poll 30 s: 10 + 20


class Reader:
    """A browser: its own cookies; each request in its own app context, as in production."""

    def __init__(self, app) -> None:
        self.app = app
        self.client = app.test_client()

    def get(self, url: str, **kwargs):
        with self.app.app_context():
            return self.client.get(url, **kwargs)

    def head(self, url: str, **kwargs):
        with self.app.app_context():
            return self.client.head(url, **kwargs)

    def post(self, url: str, **kwargs):
        with self.app.app_context():
            return self.client.post(url, **kwargs)

    def renders(self, url: str, **kwargs) -> tuple[int, object]:
        """GET url; return how many templates were rendered for it, and the response."""
        rendered = []

        def record(sender, template, context, **extra):
            rendered.append(template.name)

        template_rendered.connect(record, self.app)
        try:
            response = self.get(url, **kwargs)
        finally:
            template_rendered.disconnect(record, self.app)
        return len(rendered), response


def signed(app, name: str, value) -> str:
    """Return the value of one of the comment section's signed cookies."""
    return _serializer_for(app.secret_key, name).dumps(value)


def form_names(response) -> list[str]:
    return parse(response).xpath("//form[@id='comment-form']//input[@name='author_name']/@value")


def assert_shared(response) -> None:
    assert response.status_code in (200, 304, 404), response.status_code
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")
    assert response.headers["Cache-Control"] == SHARED
    assert response.headers["ETag"].startswith('W/"')


def assert_personal(response) -> None:
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert "Cookie" in response.headers["Vary"]


def assert_writers(response) -> None:
    """A page made for the logged-in writer: kept by no cache at all (blog.sessions)."""
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "Cookie" in response.headers["Vary"]


@pytest.fixture
def blog(app):
    """A writer, two posts (the second with a comment and a tag) and their URLs."""
    factories.writer(app)
    first = factories.post(app, "First post", published_at=utcnow() - timedelta(days=3))
    second = factories.post(app, "Second post", tags=["Notes"])
    factories.comment(app, second, "A reader's first word.")
    return {"first": factories.path_of(first), "post": factories.path_of(second), "id": second.id}


# --- What an anonymous reader gets ------------------------------------------------------------


def test_anonymous_pages_are_shared_rendered_once_and_identical(app, blog):
    reader, other = Reader(app), Reader(app)
    year = blog["post"][:6]
    for url in ("/", blog["post"], year, blog["post"][:9], "/tags/notes/"):
        renders, first = reader.renders(url)
        assert renders >= 1, url
        assert_shared(first)
        page = first.get_data(as_text=True)
        assert "csrf_token" not in page and "data-hx-headers" not in page, url
        assert "writer-bar" not in page, url
        again_renders, again = other.renders(url)
        assert again_renders == 0, url  # from this process's cache
        assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]
        assert_shared(again)
    # Pages whose version is not worth a query: an ETag from their body, the same lifetimes.
    # (/no-such-page without its slash is a 308 to it: it could be a page's address.)
    for url in ("/search?q=post", "/no-such-page/"):
        response = reader.get(url)
        assert_shared(response)
        assert response.status_code == (404 if "no-such" in url else 200)
    search = reader.get("/search?q=post")
    again = reader.get("/search?q=post", headers={"If-None-Match": search.headers["ETag"]})
    assert again.status_code == 304


def test_the_shared_check_can_fail_a_view_that_reads_the_session(app, blog):
    """Reading the session or the current user, even to ask, marks the response."""

    @app.get("/__reads-session")
    def reads_session():
        return str(session.get("anything"))

    @app.get("/__asks-who")
    def asks_who():
        return str(current_user.is_authenticated)

    reader = Reader(app)
    for url in ("/__reads-session", "/__asks-who"):
        assert "Cookie" in reader.get(url).headers["Vary"]


def test_a_304_is_answered_from_the_key_without_rendering(app, blog, queries):
    reader = Reader(app)
    page = reader.get(blog["post"])
    tag = page.headers["ETag"]
    with app.app_context(), queries() as statements:
        renders, response = reader.renders(blog["post"], headers={"If-None-Match": tag})
    assert (response.status_code, renders, len(statements)) == (304, 0, 1)
    assert response.data == b"" and response.headers["ETag"] == tag
    assert response.headers["Cache-Control"] == SHARED
    # A list of tags, a strong form of ours, and *: all match (weak comparison, RFC 9110).
    for header in (f'"x", {tag}', tag.removeprefix("W/"), "*"):
        assert reader.get(blog["post"], headers={"If-None-Match": header}).status_code == 304
    assert reader.get(blog["post"], headers={"If-None-Match": 'W/"old"'}).status_code == 200
    head = reader.head(blog["post"])
    assert head.status_code == 200 and head.data == b"" and head.headers["ETag"] == tag


def dispatches(app) -> list:
    """Append to the returned list each request Flask itself dispatches (request_started)."""
    started: list = []
    request_started.connect(lambda sender, **extra: started.append(sender), app, weak=False)
    return started


def flask_itself(app):
    """The WSGI app inside blog.pagecache.Revalidation: Flask, without the early 304."""
    layer = app.wsgi_app
    while not isinstance(layer, Revalidation):
        layer = layer.wsgi_app
    return layer.wsgi_app


def test_a_revalidation_is_answered_before_flask_with_the_headers_flask_gives(app, blog):
    """A conditional GET of a post is answered without Flask's dispatch, and its 304 has the
    headers Flask's own 304 for the same request has: over HTTP and HTTPS (HSTS), with a
    proxy's request id and without."""
    started = dispatches(app)
    reader = Reader(app)
    for base in ("http://localhost", "https://blog.example.org"):
        tag = reader.get(blog["post"], base_url=base).headers["ETag"]
        for extra in ({}, {"X-Request-ID": "proxy-1234abcd"}):
            headers = {"If-None-Match": tag, **extra}
            del started[:]
            early = reader.get(blog["post"], base_url=base, headers=headers)
            head = reader.head(blog["post"], base_url=base, headers=headers)
            assert (early.status_code, head.status_code, started) == (304, 304, [])
            environ = EnvironBuilder(blog["post"], base_url=base, headers=headers).get_environ()
            with app.app_context():
                _, status, flasks = run_wsgi_app(flask_itself(app), environ)
            assert (status, len(started)) == ("304 NOT MODIFIED", 1)
            mine, theirs = Headers(early.headers), Headers(flasks)
            ids = mine.pop("X-Request-ID"), theirs.pop("X-Request-ID")
            assert sorted(mine.items()) == sorted(theirs.items())
            assert ids[0] == ids[1] if extra else ids[0] != ids[1]
            assert mine.getlist("Link") == [f'<{base}/webmention>; rel="webmention"']
            assert ("Strict-Transport-Security" in mine) == base.startswith("https")


def test_revalidation_leaves_to_flask_what_is_not_a_shared_pages_304(app, blog, monkeypatch):
    started = dispatches(app)
    reader = Reader(app)
    url = blog["post"]
    tag = reader.get(url).headers["ETag"]
    fresh = {"If-None-Match": tag}
    cases = [
        (url, {"If-None-Match": 'W/"another"'}, 200),
        (url + "?replyto=1", fresh, 200),  # personal: the form under a comment
        (url[:-1], fresh, 308),  # the slash is added by Flask's redirect
        ("/", {"If-None-Match": reader.get("/").headers["ETag"]}, 304),  # a listing: Flask's
        (url.replace("second-post", "x" * 400), fresh, 404),  # no slug is this long
        (url.replace("second-post", "no-such-post"), fresh, 404),
    ]
    for path, headers, status in cases:
        del started[:]
        response = reader.get(path, headers=headers)
        assert (response.status_code, len(started)) == (status, 1), path
    # A cookie that is not the blog's does not make a reader known; one of the blog's does.
    reader.client.set_cookie("_analytics", "1")
    del started[:]
    assert (reader.get(url, headers=fresh).status_code, started) == (304, [])
    reader.client.set_cookie(RECENT_COOKIE, signed(app, RECENT_COOKIE, [blog["id"]]))
    assert (reader.get(url, headers=fresh).status_code, len(started)) == (200, 1)
    # A database that fails: Flask meets the failure too, and answers it (503, blog.errors).
    anonymous = Reader(app)

    def fails(*args):
        raise sa.exc.OperationalError("SELECT", {}, Exception("database is locked"))

    monkeypatch.setattr(keys, "post_page", fails)
    del started[:]
    assert (anonymous.get(url, headers=fresh).status_code, len(started)) == (503, 1)


def test_a_stale_copy_is_answered_with_the_key_read_once(app, blog, queries):
    """Revalidation read the key to compare tags; the view answers the 200 from that read."""
    reader = Reader(app)
    reader.get(blog["post"])  # cached now
    with app.app_context(), queries() as statements:
        renders, response = reader.renders(blog["post"], headers={"If-None-Match": 'W/"old"'})
    assert (response.status_code, renders, len(statements)) == (200, 0, 1)


def test_a_comment_ends_the_304_of_the_page_it_is_on(app, blog):
    reader = Reader(app)
    before = reader.get(blog["post"])
    with app.app_context():
        factories.comment(app, db.session.get(Post, blog["id"]), "A second word, later.")
    after = reader.get(blog["post"], headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and "A second word, later." in after.get_data(as_text=True)
    assert after.headers["ETag"] != before.headers["ETag"]


def test_a_cached_page_costs_one_statement_a_listing_one_a_tag_one(app, blog, queries):
    reader = Reader(app)
    for url, expected in (
        (blog["post"], 1),
        ("/", 1),
        # An archive's months are on the blog's clock: its time zone (the site settings, read
        # once per request) comes before the key.
        (blog["post"][:6], 2),
        ("/tags/notes/", 1),  # the tag itself is kept a minute (blog.posts.keys.tag)
    ):
        reader.get(url)  # cached now
        with app.app_context(), queries() as statements:
            renders, response = reader.renders(url)
        assert (response.status_code, renders, len(statements)) == (200, 0, expected), url


def test_etags_cover_the_site_and_the_build(app, app_config, blog):
    reader = Reader(app)
    here = reader.get(blog["post"]).headers["ETag"]
    elsewhere = reader.get(blog["post"], base_url="https://blog.example.org").headers["ETag"]
    assert here != elsewhere  # the page's absolute URLs differ
    renamed = create_app({**app_config, "SITE_TITLE": "Another title"})
    assert Reader(renamed).get(blog["post"]).headers["ETag"] != here


def test_no_page_cache_renders_every_time(app_config, blog):
    uncached = create_app({**app_config, "PAGE_CACHE_SIZE": 0})
    reader = Reader(uncached)
    reader.get(blog["post"])
    renders, response = reader.renders(blog["post"])
    assert renders >= 1
    assert_shared(response)


# --- Never stale ---------------------------------------------------------------------------


def test_every_write_that_changes_a_page_changes_it_at_once(app, app_config, blog):
    """Writes through another process (its own app, the same database), one after another."""
    other = create_app(app_config)
    reader = Reader(app)
    url = blog["post"]
    seen = {reader.get(url).headers["ETag"]}

    def changed(must_show: str = "", must_not_show: str = "") -> str:
        response = reader.get(url)
        assert response.headers["ETag"] not in seen
        seen.add(response.headers["ETag"])
        page = response.get_data(as_text=True)
        assert must_show in page
        if must_not_show:
            assert must_not_show not in page
        return page

    post = db_post(other, blog["id"])
    held = factories.comment(other, post, "Waiting for the writer.", status=CommentStatus.PENDING)
    changed(must_not_show="Waiting for the writer.")  # nothing shown, but the post changed
    factories.comment(other, post, "Through another process.")
    changed("Through another process.")
    with other.app_context():
        store.set_status([db.session.get(Comment, held.id)], CommentStatus.APPROVED)
        db.session.commit()
    changed("Waiting for the writer.")
    with other.app_context():
        store.edit(db.session.get(Comment, held.id), "Edited words.")
        db.session.commit()
    changed("Edited words.", "Waiting for the writer.")
    with other.app_context():
        store.set_status([db.session.get(Comment, held.id)], CommentStatus.SPAM)
        db.session.commit()
    changed(must_not_show="Edited words.")
    with other.app_context():
        first = db.session.scalar(
            sa.select(Comment).where(Comment.body == "A reader's first word.")
        )
        store.delete([first])
        db.session.commit()
    changed(must_not_show="A reader's first word.")
    # The previous post's title is in this page's link to it.
    with other.app_context():
        older = db.session.scalar(sa.select(Post).where(Post.title == "First post"))
        older.title = "First post, renamed"
        older.touch()
        db.session.commit()
    changed("First post, renamed")
    # The author's name.
    with other.app_context():
        db.session.scalar(sa.select(User)).display_name = "Nell C."
        db.session.commit()
    changed("Nell C.")
    # The discussion settings: comments close on posts older than two days.
    with other.app_context():
        DiscussionSettings(close_after_days=2).save()
        db.session.commit()
    page = changed()
    assert 'id="comment-form"' in page  # the post is a day old: still open
    with other.app_context():
        post_row = db.session.get(Post, blog["id"])
        post_row.published_at = utcnow() - timedelta(days=3)
        post_row.touch()
        db.session.commit()
    closed = changed("Comments are closed.")
    assert 'id="comment-form"' not in closed


def db_post(app, post_id: int) -> Post:
    with app.app_context():
        post = db.session.get(Post, post_id)
        db.session.expunge(post)
        return post


def test_comments_close_by_age_while_the_page_is_cached(app, blog):
    """Closing by age changes with time alone: the key reads whether comments are open now."""
    with app.app_context():
        DiscussionSettings(close_after_days=1).save()
        post = db.session.get(Post, blog["id"])
        post.published_at = utcnow() - timedelta(days=1) + timedelta(seconds=1.5)
        post.touch()
        db.session.commit()
        url = f"/{post.published_at:%Y/%m}/{post.slug}/"
    reader = Reader(app)
    assert 'id="comment-form"' in reader.get(url).get_data(as_text=True)
    deadline = time.monotonic() + 10
    while 'id="comment-form"' in reader.get(url).get_data(as_text=True):
        assert time.monotonic() < deadline, "comments never closed"
        time.sleep(0.1)
    assert "Comments are closed." in reader.get(url).get_data(as_text=True)


def test_a_scheduled_post_appears_when_due_though_the_listing_is_cached(app, blog):
    reader = Reader(app)
    assert "Due soon" not in reader.get("/").get_data(as_text=True)
    due = utcnow() + timedelta(seconds=1.5)
    scheduled = factories.post(app, "Due soon", status=PostStatus.SCHEDULED, published_at=due)
    url = factories.path_of(scheduled)
    assert reader.get(url).status_code == 404
    deadline = time.monotonic() + 10
    while "Due soon" not in reader.get("/").get_data(as_text=True):
        assert time.monotonic() < deadline, "the scheduled post never appeared"
        time.sleep(0.1)
    assert reader.get(url).status_code == 200
    assert "Due soon" in reader.get(blog["post"]).get_data(as_text=True)  # the next post link


# --- What the rest of the blog adds to a page, on cached pages -------------------------------

ENDPOINT = '<http://localhost/webmention>; rel="webmention"'


def reaction(target: str, prop: str, name: str, words: str = "") -> str:
    """A page with one h-entry by name that likes or replies to target."""
    return f"""<!doctype html><html><head><title>{name}</title></head><body>
<article class="h-entry"><a class="p-author h-card" href="https://{name.split()[0].lower()}.example/">{name}</a>
<a class="{prop}" href="{target}">that post</a><div class="e-content">{words}</div></article>
</body></html>"""


def test_the_site_settings_show_on_every_cached_page_at_once(app, app_config, blog):
    """The title, the navigation and the blog's clock, saved through another process."""
    other = create_app(app_config)
    reader = Reader(app)
    urls = ("/", blog["post"], blog["post"][:6], "/tags/notes/")
    before = {url: reader.get(url).headers["ETag"] for url in urls}
    with other.app_context():
        site = SiteSettings.load()
        dataclasses.replace(site, title="Harbour Notes", timezone="America/New_York").save()
        db.session.commit()
    for url in urls:
        # (In the first hours of a month in UTC, the post's month in New York is the one before:
        # its address moves, and the old one answers 301.)
        response = reader.get(url, follow_redirects=True)
        assert response.status_code == 200, url
        assert response.headers["ETag"] != before[url], url
        assert "Harbour Notes" in response.get_data(as_text=True), url
    page = factories.page(other, "About the harbour", nav_order=1)
    with other.app_context():
        refresh_navigation()
        db.session.commit()
    home = reader.get("/").get_data(as_text=True)
    assert f'href="/{page.slug}/"' in home  # the new page is in the cached home's navigation


def test_webmentions_show_on_the_cached_page_at_once(app, app_config, blog):
    """A like and a reply received and verified through another process (its own app on the
    same database, as a worker is) change the shared page at its next request, like a comment.
    The endpoint is announced on the shared answer and on its 304 (nginx hands the 304 on)."""
    worker = create_app({**app_config, "FETCH_ALLOW_PRIVATE_ADDRESSES": True})
    reader = Reader(app)
    url = blog["post"]
    before = reader.get(url)
    assert_shared(before)
    assert before.headers.getlist("Link") == [ENDPOINT]
    kept = reader.get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert kept.status_code == 304 and kept.headers.getlist("Link") == [ENDPOINT]
    target = "http://localhost" + url
    with Site() as elsewhere:
        like = elsewhere.page("/like", reaction(target, "u-like-of", "Ada Reader"))
        reply = elsewhere.page(
            "/reply", reaction(target, "u-in-reply-to", "Bo Lind", "Well said, from afar.")
        )
        sender = Reader(worker)
        for source in (like, reply):
            answer = sender.post("/webmention", data={"source": source, "target": target})
            assert answer.status_code == 201
        # Its status page changes as the worker checks the source: no shared cache keeps it.
        status = Reader(app).get(answer.headers["Location"].removeprefix("http://localhost"))
        assert status.status_code == 200 and status.headers["Cache-Control"] == "no-cache"
        assert drain(worker) >= 2
    after = reader.get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200  # the old copy is stale now
    assert_shared(after)
    assert after.headers.getlist("Link") == [ENDPOINT]
    doc = parse(after)
    (likes,) = doc.xpath("//p[contains(@class, 'reaction-like')]")
    assert "Ada Reader" in text(likes)
    assert "Well said, from afar." in text(doc.xpath("//section[@id='comments']")[0])
    assert text(doc.xpath("//span[@id='comment-count']")[0]) == "2 comments"
    # The listing counts the reply too.
    assert "2 comments" in reader.get("/").get_data(as_text=True)


def test_an_images_new_alt_text_shows_on_the_cached_page_at_once(app, client, blog):
    """The writer edits an uploaded image's alternative text in the media library: the posts
    that show it are rendered again (blog.media.refresh), and readers get them at once."""
    assert login(client).status_code == 303
    image = upload(client, files.jpeg(640, 480), "heron.jpg").get_json()["url"]
    post = factories.post(app, "Dawn", f"![]({image})")
    url = factories.path_of(post)
    reader = Reader(app)
    before = reader.get(url)
    assert_shared(before)
    assert parse(before).xpath("//div[contains(@class, 'post-body')]//img/@alt") == [""]
    [row] = media_rows(app)
    token = csrf_token(client, "/admin/media")
    edited = client.post(f"/admin/media/{row.id}/alt", data={"alt": "A heron", "csrf_token": token})
    assert edited.status_code == 303
    after = reader.get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert_shared(after)
    assert parse(after).xpath("//div[contains(@class, 'post-body')]//img/@alt") == ["A heron"]


def test_a_reader_of_the_cached_page_subscribes_without_a_token(app, blog):
    """The comment form of the shared page (from this process's cache: nothing rendered for
    this reader) carries no token; its subscribe choice works, and the page stays shared."""
    Reader(app).get(blog["post"])  # cached
    reader = Reader(app)
    renders, page = reader.renders(blog["post"])
    assert renders == 0
    action, fields = form_fields(page, "http://localhost/", "//form[@id='comment-form']")
    assert "csrf_token" not in dict(fields)
    data = {
        **dict(fields),
        "author_name": "Ada",
        "author_email": "ada@example.org",
        "body": "Tell me what others say.",
        "subscribe": "all",
    }
    same_site = {"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"}
    answer = reader.post(action, data=data, headers={"HX-Request": "true", **same_site})
    assert answer.status_code == 200
    status = text(parse(answer).xpath("//*[@id='comment-status']")[0])
    assert "follow the link in the message we are sending you" in status
    with app.app_context():
        [subscription] = db.session.scalars(sa.select(Subscription)).all()
        assert (subscription.post_id, subscription.comment_id) == (blog["id"], None)
        assert db.session.scalar(sa.select(Job.kind).where(Job.kind == "mail.confirm"))
    assert_shared(Reader(app).get(blog["post"]))


# --- Nobody gets a personal page but its reader ---------------------------------------------


def test_a_remembered_reader_gets_their_own_page_and_nobody_else_does(app, blog):
    url = blog["post"]
    remembered = Reader(app)
    remembered.client.set_cookie(
        REMEMBER_COOKIE, signed(app, REMEMBER_COOKIE, {"name": "Ada", "email": "", "url": ""})
    )
    anonymous = Reader(app)
    # The remembered reader first, on a cold cache; then the other way round.
    theirs = remembered.get(url)
    assert_personal(theirs)
    assert form_names(theirs) == ["Ada"]
    assert form_names(anonymous.get(url)) == [""]
    assert form_names(remembered.get(url)) == ["Ada"]
    # A cookie that is not ours changes nothing.
    anonymous.client.set_cookie("_ga", "GA1.1.123")
    assert_shared(anonymous.get(url))


def test_a_held_comment_shows_to_its_author_alone(app, blog):
    held = factories.comment(
        app, db_post(app, blog["id"]), "Mine, held.", status=CommentStatus.PENDING
    )
    author, anonymous = Reader(app), Reader(app)
    author.client.set_cookie(HELD_COOKIE, signed(app, HELD_COOKIE, [held.id]))
    mine = author.get(blog["post"])
    assert_personal(mine)
    assert "Mine, held." in mine.get_data(as_text=True)
    assert "Mine, held." not in anonymous.get(blog["post"]).get_data(as_text=True)


def test_the_writer_gets_their_own_page_with_a_bar_and_a_token(app, blog):
    writer = Reader(app)
    assert login(writer.client).status_code == 303
    anonymous = Reader(app)
    anonymous.get(blog["post"])  # the shared page is cached
    mine = writer.get(blog["post"])
    assert_writers(mine)
    doc = parse(mine)
    (bar,) = doc.xpath("//nav[@class='writer-bar']")
    assert "Back office" in text(bar) and "Edit this post" in text(bar) and "Log out" in text(bar)
    assert doc.xpath("//body/@data-hx-headers")
    assert doc.xpath("//form[@id='comment-form']//input[@name='csrf_token']")
    assert form_names(mine) == ["Nell Carrow"]
    shared = anonymous.get(blog["post"]).get_data(as_text=True)
    assert "writer-bar" not in shared and "csrf_token" not in shared
    for url in ("/", "/tags/notes/"):
        theirs = writer.get(url)
        assert_writers(theirs)
        assert "writer-bar" in theirs.get_data(as_text=True)
        assert "writer-bar" not in anonymous.get(url).get_data(as_text=True)
    # The shared page stays shared after the writer's visits (no-store is theirs alone).
    assert_shared(anonymous.get(blog["post"]))


def test_a_reply_link_without_javascript_is_rendered_for_that_reader(app, blog):
    with app.app_context():
        comment_id = db.session.scalar(sa.select(Comment.id))
    reader = Reader(app)
    response = reader.get(f"{blog['post']}?replyto={comment_id}")
    assert_personal(response)  # no cookie, but the form open under one comment
    stamp = parse(response).xpath("//input[@name='issued']/@value")[0]
    with app.test_request_context():
        assert not spam.read_stamp(stamp).page  # made for this reader, now
    # The plain page is still the shared one, whatever the query string carries.
    assert_shared(reader.get(f"{blog['post']}?utm_source=news"))
    assert reader.get(f"{blog['post']}?utm_source=news").data == reader.get(blog["post"]).data


def test_the_commenter_sees_their_comment_while_shared_caches_catch_up(app, blog):
    reader = Reader(app)
    reader.get(blog["post"])
    form = {"author_name": "Bo", "body": "Posted just now."}
    answer = reader.post(blog["post"] + "comments", data=form)
    assert answer.status_code == 303
    recent = reader.client.get_cookie(RECENT_COOKIE)
    assert recent is not None and recent.http_only
    cookie = [c for c in answer.headers.getlist("Set-Cookie") if c.startswith(RECENT_COOKIE)][0]
    assert "Max-Age=35" in cookie  # the poll interval, and a margin
    mine = reader.get(blog["post"])
    assert_personal(mine)
    assert "Posted just now." in mine.get_data(as_text=True)


# --- The small endpoints around the form -----------------------------------------------------


def test_the_stamp_endpoint_and_the_poll_are_never_cached(app, blog):
    reader = Reader(app)
    stamp = reader.get("/comments/stamp")
    assert stamp.status_code == 200 and stamp.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in stamp.headers and "Cookie" not in stamp.headers.get("Vary", "")
    with app.test_request_context():
        fresh = spam.read_stamp(stamp.get_data(as_text=True))
    assert fresh is not None and not fresh.page and fresh.age < 5
    hx = {"HX-Request": "true"}
    for after in ("0", "999999"):
        poll = reader.get(f"{blog['post']}comments?after={after}", headers=hx)
        assert poll.status_code in (200, 204)
        assert poll.headers["Cache-Control"] == "no-cache"


def test_posting_a_comment_takes_at_most_six_statements(app, blog, queries):
    reader = Reader(app)
    reader.get(blog["post"])
    with app.app_context(), queries() as statements:
        answer = reader.post(
            blog["post"] + "comments", data={"author_name": "Cy", "body": "Counted words."}
        )
    assert answer.status_code == 303
    assert len(statements) <= 6, "\n".join(s[:70] for s in statements)
    with app.app_context():
        post = db.session.get(Post, blog["id"])
        approved = db.session.scalar(
            sa.select(sa.func.count(Comment.id)).where(
                Comment.post_id == post.id, Comment.status == CommentStatus.APPROVED
            )
        )
        assert post.comment_count == approved == 2


def test_the_page_cache_is_bounded_in_bytes():
    cache = LRU(10, max_bytes=100)
    cache.put("a", b"x" * 60)
    cache.put("b", b"y" * 30)
    assert cache.bytes == 90 and len(cache) == 2
    cache.put("c", b"z" * 30)  # over: the least recently used goes
    assert cache.get("a") is None and cache.bytes == 60
    cache.put("huge", b"h" * 101)  # larger than the whole budget: never kept
    assert cache.get("huge") is None and cache.bytes == 60
    cache.put("b", b"y")  # replacing counts the new size only
    assert cache.bytes == 31


def test_a_tag_made_anew_under_its_slug_is_found_though_kept(app, blog):
    """Tags are kept a minute per process; a tag deleted and made again (another id) shows."""
    reader = Reader(app)
    assert "Second post" in reader.get("/tags/notes/").get_data(as_text=True)
    with app.app_context():
        db.session.execute(sa.delete(Tag).where(Tag.slug == "notes"))
        db.session.commit()
    assert reader.get("/tags/notes/").status_code == 404
    factories.post(app, "Another tagged", tags=["Other", "Notes"])
    page = reader.get("/tags/notes/").get_data(as_text=True)
    assert "Another tagged" in page and "Second post" not in page
