"""Site settings: title, tagline, language, author name and time zone, saved in the back office
over the configuration's defaults; read once per request; the blog's clock everywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import feedparser
import pytest
import sqlalchemy as sa

from blog import create_app
from blog.admin.auth import new_setup_token
from blog.extensions import db
from blog.jobs import heartbeat
from blog.models import Post, Setting, utcnow
from blog.site import SiteSettings, settings_version
from tests.helpers.auth import login
from tests.helpers.factories import post, writer
from tests.helpers.html import csrf_token, errors_by_field, parse, text

NEW_YORK = {
    "title": "Harbour Notes",
    "tagline": "Boats, mostly.",
    "language": "en-US",
    "author_name": "N. Carrow",
    "timezone": "America/New_York",
}


def save_settings(client, **fields):
    return client.post(
        "/admin/site", data={**fields, "csrf_token": csrf_token(client, "/admin/site")}
    )


def test_defaults_come_from_the_configuration(app_config):
    app = create_app({**app_config, "SITE_TITLE": "Configured", "SITE_LANGUAGE": "de"})
    doc = parse(app.test_client().get("/"))
    assert doc.xpath("/html/@lang") == ["de"]
    assert text(doc.xpath("//a[@class='site-title']")[0]) == "Configured"


def test_saved_settings_show_on_pages_and_in_feeds(app, client):
    post(app, "A boat", "A small boat.", tags=["boats"])
    writer(app)
    login(client)
    form = parse(client.get("/admin/site"))
    assert form.xpath("//input[@name='title']/@value") == ["Field Notes"]
    assert "America/New_York" in form.xpath("//select[@name='timezone']/option/@value")
    response = save_settings(client, **NEW_YORK)
    assert response.status_code == 303 and response.headers["Location"] == "/admin/site"
    home = parse(client.get("/"))
    assert home.xpath("/html/@lang") == ["en-US"]
    assert text(home.xpath("//a[@class='site-title']")[0]) == "Harbour Notes"
    assert text(home.xpath("//p[@class='site-tagline']")[0]) == "Boats, mostly."
    assert home.xpath("//meta[@name='description']/@content") == ["Boats, mostly."]
    assert "N. Carrow" in text(home.xpath("//span[contains(@class, 'p-author')]")[0])
    feed = feedparser.parse(client.get("/feeds/posts.atom").data)
    assert feed.feed.title == "Harbour Notes" and feed.feed.subtitle == "Boats, mostly."
    assert feed.entries[0].author == "N. Carrow"
    rss = feedparser.parse(client.get("/feeds/posts.rss").data)
    assert rss.feed.language == "en-US"
    # Feeds keep exact times with an offset (RFC 3339).
    assert client.get("/feeds/posts.atom").data.count(b"+00:00</updated>") >= 1


def test_wrong_values_are_refused_at_their_field_and_kept(app, client):
    writer(app)
    login(client)
    response = save_settings(client, **{**NEW_YORK, "language": "english please",
                                        "timezone": "Mars/Olympus", "title": ""})  # fmt: skip
    assert response.status_code == 422
    errors = errors_by_field(response)
    assert set(errors) == {"language", "timezone", "title"}
    assert "like en, fr" in errors["language"]
    doc = parse(response)
    assert doc.xpath("//input[@name='language']/@value") == ["english please"]
    assert doc.xpath("//input[@name='tagline']/@value") == ["Boats, mostly."]
    with app.app_context():
        assert Setting.get("site") is None


def test_one_read_of_the_settings_per_request_and_a_version_that_moves(app, client, queries):
    post(app)
    with app.app_context():
        before = settings_version()
    for url in ("/", "/search?q=talking", "/feeds/posts.atom"):
        with app.app_context(), queries() as statements:
            assert client.get(url).status_code == 200
        # A shared page's key (blog.posts.keys) reads the settings' text with its posts, in the
        # same statement: the reads of the settings on their own are what counts here.
        own = [s for s in statements if "FROM setting" in s and "FROM post" not in s]
        assert len(own) == 1, (url, statements)
    writer(app)
    login(client)
    save_settings(client, **NEW_YORK)
    with app.app_context():
        after_site = settings_version()
    form = parse(client.get("/admin/settings"))
    fields = {
        name: form.xpath(f"//*[@name='{name}']/@value")[0]
        for name in (
            "close_after_days",
            "max_links",
            "min_seconds",
            "flood_seconds",
            "hourly_limit",
        )
    }
    token = csrf_token(client, "/admin/settings")
    fields.update(hourly_limit="20", moderation="hold_all", csrf_token=token)
    assert client.post("/admin/settings", data=fields).status_code == 303
    with app.app_context():
        assert before < after_site < settings_version()


def test_settings_no_page_shows_leave_the_version_alone(app):
    """The worker's heartbeat writes a setting every minute and the setup link one more: were
    they to move the version, every cached page would be stale a minute after it was made."""
    with app.app_context():
        before = settings_version()
        heartbeat.beat()
        new_setup_token()
        db.session.commit()
    with app.app_context():
        assert heartbeat.worker_running() and settings_version() == before
        SiteSettings.defaults().save()  # a setting pages show
        db.session.commit()
    with app.app_context():
        assert settings_version() == before + 1


# --- The blog's clock ---------------------------------------------------------------------------


@pytest.fixture
def new_york(app):
    with app.app_context():
        settings = SiteSettings.defaults()
        settings.timezone = "America/New_York"
        settings.save()
        db.session.commit()
    return app


def test_the_editor_schedules_on_the_blogs_clock(new_york, client):
    writer(new_york)
    login(client)
    form = parse(client.get("/admin/posts/new"))
    assert text(form.xpath("//label[@for='publish_at']")[0]) == "Publish on (America/New_York)"
    next_year = utcnow().year + 1
    fields = {"title": "Later", "body": "Soon.", "schedule": "Schedule",
              "publish_at": f"{next_year}-01-15T09:00"}  # fmt: skip
    response = client.post("/admin/posts/new", data={
        **fields, "csrf_token": csrf_token(client, "/admin/posts/new")})  # fmt: skip
    assert response.status_code == 303
    with new_york.app_context():
        later = db.session.scalar(sa.select(Post).where(Post.slug == "later"))
        # 09:00 in New York in January is 14:00 UTC.
        assert later.published_at == datetime(next_year, 1, 15, 14, 0, tzinfo=UTC)
    edit = parse(client.get(response.headers["Location"]))
    assert f"Scheduled for 15 January {next_year} at 09:00 EST" in text(edit.xpath("//main")[0])
    assert edit.xpath("//input[@name='publish_at']/@value") == [f"{next_year}-01-15T09:00"]
    # A time the clocks skip (the second Sunday of March, 02:30) is refused at the field.
    march = datetime(next_year, 3, 8)
    skipped = march + timedelta(days=(6 - march.weekday()) % 7)
    response = client.post("/admin/posts/new", data={
        **fields, "title": "Skipped", "publish_at": f"{skipped:%Y-%m-%d}T02:30",
        "csrf_token": csrf_token(client, "/admin/posts/new")})  # fmt: skip
    assert response.status_code == 422
    assert "clocks skip that time" in errors_by_field(response)["publish_at"]


def test_dates_archives_and_addresses_follow_the_blogs_clock(new_york, client):
    # 03:00 UTC on 1 March is 22:00 on 28 February in New York.
    when = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
    written = post(new_york, "Late night", "Written late.", published_at=when)
    doc = parse(client.get("/2026/02/late-night/"))
    assert text(doc.xpath("//main//time")[0]) == "28 February 2026"
    assert doc.xpath("//main//time/@datetime") == ["2026-03-01T03:00:00Z"]
    feb = [text(a) for a in parse(client.get("/2026/02/")).xpath("//h2[@class='summary-title']")]
    assert feb == ["Late night"]
    assert client.get("/2026/03/").status_code == 404
    assert "February 2026" in text(parse(client.get("/2026/02/")).xpath("//h1")[0])
    # The address under UTC's month (before the zone was set) moved: 301, query kept.
    old = client.get("/2026/03/late-night/?replyto=5")
    assert old.status_code == 301
    assert old.headers["Location"] == "/2026/02/late-night/?replyto=5"
    feed = client.get("/2026/03/late-night/comments.atom")
    assert feed.status_code == 301
    assert feed.headers["Location"] == "/2026/02/late-night/comments.atom"
    assert client.get("/2026/02/late-night/comments.atom").status_code == 200
    # A month the post never had in any zone is not it.
    assert client.get("/2026/05/late-night/").status_code == 404
    assert client.get("/2025/12/late-night/").status_code == 404
    with new_york.app_context():
        assert db.session.get(Post, written.id).published_at == when  # stored in UTC


def test_scheduled_posts_appear_at_their_instant(new_york, client):
    soon = post(new_york, "Soon", "Soon.", status="scheduled",
                published_at=utcnow() + timedelta(hours=2))  # fmt: skip
    due = post(new_york, "Due", "Due.", status="scheduled",
               published_at=utcnow() - timedelta(minutes=1))  # fmt: skip
    titles = [text(a) for a in parse(client.get("/")).xpath("//h2[@class='summary-title']/a")]
    assert titles == ["Due"]
    assert soon.id != due.id
