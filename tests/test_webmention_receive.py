"""Receiving webmentions: POST /webmention, then the worker verifies the source and shows it.

Sources are real pages on a local HTTP server (tests/helpers/sites.py); the blog's worker runs in
this process (tests/helpers/mail.drain, the code path of `flask worker --drain`). What a reader
sees is read from the post page and its feeds; what the writer sees from the back office.
"""

from __future__ import annotations

import html as html_lib
import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from blog.discussion import DiscussionSettings, Moderation
from blog.extensions import db
from blog.jobs.models import Job, JobStatus
from blog.models import Comment, CommentStatus, Post, PostStatus
from blog.site import SiteSettings
from blog.webmention.discovery import endpoint_in_html
from blog.webmention.models import MentionState, Webmention
from tests.helpers.auth import login
from tests.helpers.config import base_config
from tests.helpers.factories import page, path_of, post, writer
from tests.helpers.html import parse, text
from tests.helpers.mail import drain
from tests.helpers.sites import Site, drip, huge

ENDPOINT = "/webmention"


@pytest.fixture
def app_config(database_uri) -> dict:
    return base_config(database_uri, FETCH_ALLOW_PRIVATE_ADDRESSES=True, FETCH_TOTAL_TIMEOUT=5)


@pytest.fixture
def site():
    with Site() as s:
        yield s


@pytest.fixture
def permalink(app) -> str:
    """The permalink of a published post, as senders name it (the test client's host)."""
    return "http://localhost" + path_of(post(app, "Talking back", "A post readers answer."))


def entry(
    target: str,
    text: str = "Well said.",
    *,
    prop: str = "u-in-reply-to",
    author: str = '<a class="p-author h-card" href="https://ada.example/">Ada Reader</a>',
    extra: str = "",
) -> str:
    """A page with one h-entry relating to target (a reply by default)."""
    return f"""<!doctype html><html><head><title>A reply</title></head><body>
<article class="h-entry">{author}
<p>In reply to <a class="{prop}" href="{target}">that post</a></p>
<div class="e-content">{text}</div>
<a class="u-url" href="/replies/1">permalink</a>
<time class="dt-published" datetime="2026-11-01T09:30:00+01:00">1 Nov</time>{extra}
</article></body></html>"""


def send(client, source: str, target: str, **headers):
    with client.application.app_context():  # its own session, as in production
        return client.post(ENDPOINT, data={"source": source, "target": target}, headers=headers)


def get(client, url: str):
    with client.application.app_context():
        return client.get(url.removeprefix("http://localhost"))


def post_page(client, target: str):
    response = get(client, target)
    assert response.status_code == 200
    return parse(response)


def mentions(app) -> list[Webmention]:
    with app.app_context():
        rows = db.session.scalars(sa.select(Webmention).order_by(Webmention.id)).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)


# --- Announcing the endpoint -------------------------------------------------------------------


def test_post_pages_announce_the_endpoint(client, permalink):
    response = client.get(permalink.removeprefix("http://localhost"))
    assert response.headers.getlist("Link") == ['<http://localhost/webmention>; rel="webmention"']
    assert endpoint_in_html(response.data, permalink) == "http://localhost/webmention"
    # Only posts: the home page has no endpoint to announce.
    assert "Link" not in client.get("/").headers


# --- Checking a request at once --------------------------------------------------------------


@pytest.mark.parametrize(
    "source, target, reason",
    [
        ("", "{post}", "source is missing"),
        ("https://a.example/r", "", "target is missing"),
        ("ftp://a.example/r", "{post}", "source is not an http or https address"),
        ("javascript:alert(1)//", "{post}", "source is not an http or https address"),
        ("https://a.example/r", "mailto:x@y.z", "target is not an http or https address"),
        ("{post}", "{post}", "source and target are the same page"),
        ("{post}#comments", "{post}", "source and target are the same page"),
        ("https://a.example/r", "https://elsewhere.example/2026/01/x/", "not a published post"),
        ("https://a.example/r", "http://localhost/", "not a published post"),
        ("https://a.example/r", "http://localhost/2026/01/no-such-post/", "not a published post"),
        ("https://a.example/r", "{draft}", "not a published post"),
        ("https://a.example/r", "{page}", "not a published post"),  # pages announce none
        ("https://a.example/" + "x" * 2000, "{post}", "source is longer than 2000 characters"),
    ],
)
def test_an_invalid_request_gets_400_and_the_reason(app, client, permalink, source, target, reason):
    draft = post(app, "Unfinished", "Not yet.", status=PostStatus.DRAFT)
    about = page(app, "About")
    values = {
        "{post}": permalink,
        "{draft}": f"http://localhost/2026/01/{draft.slug}/",
        "{page}": "http://localhost" + path_of(about),
    }
    for name, value in values.items():
        source, target = source.replace(name, value), target.replace(name, value)
    response = send(client, source, target)
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert reason in response.get_data(as_text=True)
    assert mentions(app) == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 0


def test_the_target_is_the_post_at_its_month_on_the_blogs_clock(app, client, site):
    """Published at 23:30 UTC on 31 March, a post of a blog in Tokyo is an April post: its
    address, the one senders link to, is /2026/04/..."""
    with app.app_context():
        SiteSettings(title="Field Notes", tagline="", language="en", author_name="",
                     timezone="Asia/Tokyo").save()  # fmt: skip
        db.session.commit()
    late = post(app, "Late", "Words.", published_at=datetime(2026, 3, 31, 23, 30, tzinfo=UTC))
    target = f"http://localhost/2026/04/{late.slug}/"
    assert get(client, target).status_code == 200
    assert send(client, site.page("/r", entry(target)), target).status_code == 201
    wrong = f"http://localhost/2026/01/{late.slug}/"  # a month it never had
    assert "not a published post" in send(client, "https://a.example/r", wrong).text


def test_a_cross_site_post_is_accepted_with_a_status_page(app, client, permalink, site):
    """No cookie, no form token, another site's Origin: a webmention is a cross-site API."""
    source = site.page("/r", entry(permalink))
    response = send(client, source, permalink, Origin="https://a.example")
    assert response.status_code == 201
    status_page = response.headers["Location"]
    assert status_page.startswith("http://localhost/webmention/")
    assert status_page in response.get_data(as_text=True)
    state = parse(get(client, status_page)).xpath("//p[@id='webmention-state']")[0]
    assert state.get("data-state") == "queued" and "waiting to be checked" in text(state)
    assert get(client, "/webmention/forged-token").status_code == 404
    assert site.seen == []  # nothing is fetched inside the request
    drain(app)
    state = parse(get(client, status_page)).xpath("//p[@id='webmention-state']")[0]
    assert state.get("data-state") == "verified" and "shown on the post as a reply" in text(state)


def test_a_reply_shows_under_the_post_and_in_the_feeds(app, client, permalink, site):
    source = site.page("/r", entry(permalink, "<p>Well <b>said</b>, and <em>kindly</em>.</p>"))
    assert send(client, source, permalink).status_code == 201
    assert drain(app) == 1
    (mention,) = mentions(app)
    assert (mention.state, mention.kind, mention.author_name) == ("verified", "reply", "Ada Reader")
    assert mention.url == site.url + "/replies/1"
    assert mention.author_url == "https://ada.example/"
    page = post_page(client, permalink)
    assert text(page.xpath("//span[@id='comment-count']")[0]) == "1 comment"
    (article,) = page.xpath("//article[contains(@class, 'comment-webmention')]")
    assert text(article.xpath(".//*[contains(@class, 'p-author')]")[0]) == "Ada Reader"
    via = article.xpath(".//span[@class='comment-via']/a")[0]
    assert text(via) == "127.0.0.1" and via.get("href") == site.url + "/replies/1"
    assert "replied on 127.0.0.1" in text(article)
    body = article.xpath(".//div[contains(@class, 'e-content')]")[0]
    assert body.xpath(".//b")[0].text == "said" and body.xpath(".//em")[0].text == "kindly"
    # Dated by the source's published time, in UTC.
    assert article.xpath(".//time")[0].get("datetime") == "2026-11-01T08:30:00Z"
    feed = get(client, permalink + "comments.atom")
    assert "Ada Reader" in feed.get_data(as_text=True) and "kindly" in feed.get_data(as_text=True)
    assert "Ada Reader" in get(client, "/feeds/comments.rss").get_data(as_text=True)


def test_the_same_webmention_twice_is_stored_once(app, client, permalink, site):
    source = site.page("/r", entry(permalink))
    for _ in range(3):
        assert send(client, source, permalink).status_code == 201
    with app.app_context():
        # One verification waits: sending again before it runs adds nothing.
        assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 1
    drain(app)
    assert send(client, source, permalink).status_code == 201
    drain(app)
    assert len(mentions(app)) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Comment.id))) == 1
        assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 2
    assert len(post_page(client, permalink).xpath("//article[contains(@class, 'comment')]")) == 1


def test_an_update_changes_the_reply_and_a_410_removes_it(app, client, permalink, site):
    source = site.page("/r", entry(permalink, "First words."))
    send(client, source, permalink)
    drain(app)
    assert "First words." in text(post_page(client, permalink))
    site.page("/r", entry(permalink, "Second thoughts."))
    send(client, source, permalink)
    drain(app)
    page = text(post_page(client, permalink))
    assert "Second thoughts." in page and "First words." not in page
    site.page("/r", "<p>Deleted</p>", status=410)
    status_page = send(client, source, permalink).headers["Location"]
    drain(app)
    page = post_page(client, permalink)
    assert page.xpath("//article[contains(@class, 'comment')]") == []
    assert text(page.xpath("//span[@id='comment-count']")[0]) == "0 comments"
    (mention,) = mentions(app)
    assert mention.state == MentionState.REMOVED and mention.comment_id is None
    assert mention.author_name == ""  # what it said is dropped
    assert "Removed: the source answered 410 Gone" in text(parse(get(client, status_page)))


def test_a_source_that_no_longer_links_is_removed(app, client, permalink, site):
    source = site.page("/r", entry(permalink, extra=' <a class="u-like-of" href="x">'))
    site.page("/r", entry(permalink, prop="u-like-of"))
    send(client, source, permalink)
    drain(app)
    assert post_page(client, permalink).xpath("//p[contains(@class, 'reaction-like')]")
    site.page("/r", "<article class='h-entry'><p>I changed my mind.</p></article>")
    send(client, source, permalink)
    drain(app)
    assert post_page(client, permalink).xpath("//div[@id='reactions']") == []
    assert mentions(app)[0].error == "the source does not link to the target"


def test_likes_reposts_and_mentions(app, client, permalink, site):
    people = {
        "like-ada": ("u-like-of", "Ada Reader"),
        "like-bo": ("u-like-of", "Bo Lind"),
        "repost": ("u-repost-of", "Cy Ortega"),
    }
    for path, (prop, name) in people.items():
        author = f'<a class="p-author h-card" href="https://{path}.example/">{name}</a>'
        send(client, site.page(f"/{path}", entry(permalink, prop=prop, author=author)), permalink)
    mention = """<article class="h-entry"><h1 class="p-name">Reading list</h1>
<div class="e-content">Read <a href="{}">this post</a> and others.</div></article>"""
    send(client, site.page("/list", mention.format(permalink)), permalink)
    drain(app)
    page = post_page(client, permalink)
    likes = page.xpath("//p[contains(@class, 'reaction-like')]")[0]
    assert [text(a) for a in likes.xpath(".//span[@class='reaction-name']")] == [
        "Ada Reader",
        "Bo Lind",
    ]
    assert likes.xpath(".//a")[0].get("href") == "https://like-ada.example/"
    assert set(likes.xpath(".//a")[0].get("rel").split()) == {"nofollow", "ugc", "noopener"}
    assert likes.xpath(".//img") == []  # no remote image, ever
    reposts = page.xpath("//p[contains(@class, 'reaction-repost')]")[0]
    assert "Reposted by" in text(reposts) and "Cy Ortega" in text(reposts)
    (listed,) = page.xpath("//section[@id='mentions']//li")
    assert text(listed.xpath("a")[0]) == "Reading list"
    assert listed.xpath("a")[0].get("href") == site.url + "/list"
    # Likes and mentions are not comments.
    assert text(page.xpath("//span[@id='comment-count']")[0]) == "0 comments"


@pytest.mark.parametrize(
    "path, setup, error",
    [
        ("/nolink", lambda s: s.page("/nolink", entry("http://localhost/other/")), "does not link"),
        (
            "/json",
            lambda s: s.page(
                "/json", json.dumps({"url": "x"}), headers={"Content-Type": "application/json"}
            ),
            "the source is application/json, not HTML",
        ),
        ("/huge", lambda s: s.route("/huge", huge(3_000_000)), "larger than 1,000,000 bytes"),
        ("/missing", lambda s: None, "the source answered 404"),
        (
            "/deep",
            lambda s: s.page("/deep", "<div class='h-entry'>" + "<div>" * 50_000 + "x"),
            "nested too deeply",
        ),
    ],
)
def test_sources_that_are_rejected(app, client, permalink, site, path, setup, error):
    setup(site)
    location = send(client, site.url + path, permalink).headers["Location"]
    drain(app)
    (mention,) = mentions(app)
    assert mention.state == MentionState.REJECTED and error in mention.error
    assert error in text(parse(get(client, location)))
    assert post_page(client, permalink).xpath("//article[contains(@class, 'comment')]") == []


def test_a_slow_source_is_tried_again_later(app, client, permalink, site):
    site.route("/slow", drip(chunks=100, every=0.1))
    with app.app_context():
        app.config["FETCH_TOTAL_TIMEOUT"] = 1
    send(client, site.url + "/slow", permalink)
    drain(app)
    (mention,) = mentions(app)
    assert mention.state == MentionState.QUEUED
    assert "no full answer within 1 seconds (will try again)" in mention.error
    with app.app_context():
        job = db.session.scalar(sa.select(Job))
        assert (job.status, job.attempts) == (JobStatus.PENDING, 1) and "within 1" in job.last_error


def test_a_source_on_a_private_address_is_refused_without_the_flag(app, client, permalink, site):
    source = site.page("/r", entry(permalink))
    with app.app_context():
        app.config["FETCH_ALLOW_PRIVATE_ADDRESSES"] = False
    send(client, source, permalink)
    drain(app)
    (mention,) = mentions(app)
    assert mention.state == MentionState.REJECTED
    assert "127.0.0.1 is not a public internet address" in mention.error
    assert site.seen == []


def test_a_redirected_source_is_followed(app, client, permalink, site):
    site.page("/old", status=301, headers={"Location": "/new"})
    site.page("/new", entry(permalink, "Moved here."))
    send(client, site.url + "/old", permalink)
    drain(app)
    assert "Moved here." in text(post_page(client, permalink))


def test_replies_are_moderated_like_comments(app, client, permalink, site):
    with app.app_context():
        DiscussionSettings(moderation=Moderation.HOLD_ALL).save()
        db.session.commit()
    send(client, site.page("/r", entry(permalink, "Hold me.")), permalink)
    send(client, site.page("/like", entry(permalink, prop="u-like-of")), permalink)
    drain(app)
    page = post_page(client, permalink)
    assert "Hold me." not in text(page) and page.xpath("//div[@id='reactions']") == []
    writer(app)
    with app.app_context():
        login(client)
    queue = parse(get(client, "/admin/comments"))
    (held,) = queue.xpath("//li[contains(@class, 'queue-item')]")
    assert "Hold me." in text(held) and "Every comment is held" in text(held)
    assert held.xpath(".//p[@class='queue-source']/a")[0].get("href") == site.url + "/replies/1"
    listed = parse(get(client, "/admin/webmentions"))
    rows = listed.xpath("//tr[starts-with(@id, 'webmention-')]")
    assert {r.get("data-status") for r in rows} == {"pending"}
    assert {text(a) for a in listed.xpath("//a[@class='webmention-source']")} == {
        site.url + "/r",
        site.url + "/like",
    }
    # Approving the like here shows it; the reply is approved in the comment queue.
    like = next(r for r in rows if "like" in text(r.xpath(".//a[@class='webmention-source']")[0]))
    action = like.xpath(".//form[.//button[@data-action='approve']]")[0]
    token = action.xpath(".//input[@name='csrf_token']/@value")[0]
    with app.app_context():
        assert client.post(action.get("action"), data={"csrf_token": token}).status_code == 303
    form = held.xpath(".//form[.//button[@data-action='approve']]")[0]
    with app.app_context():
        assert client.post(form.get("action"), data={"csrf_token": token}).status_code == 303
    page = post_page(client, permalink)
    assert "Hold me." in text(page) and "Liked by" in text(page.xpath("//div[@id='reactions']")[0])


def test_the_blocklist_the_link_limit_and_first_time_authors(app, client, permalink, site):
    with app.app_context():
        DiscussionSettings(
            moderation=Moderation.HOLD_FIRST_TIME, blocklist=["spam.example"], max_links=1
        ).save()
        db.session.commit()
    spammy = '<a class="p-author h-card" href="https://spam.example/">Buy</a>'
    send(client, site.page("/spam", entry(permalink, "Hi", author=spammy)), permalink)
    links = "<a href='https://a.example/'>a</a> <a href='https://b.example/'>b</a>"
    send(client, site.page("/links", entry(permalink, f"Two links: {links}")), permalink)
    send(client, site.page("/first", entry(permalink, "My first reply.")), permalink)
    drain(app)
    with app.app_context():
        found = {
            c.body.split(":")[0][:20]: (c.status, c.reason)
            for c in db.session.scalars(sa.select(Comment))
        }
    assert found["Hi"] == (CommentStatus.SPAM, "Matches the blocklist entry “spam.example”")
    assert found["Two links"] == (CommentStatus.PENDING, "2 links (more than 1)")
    assert found["My first reply."] == (CommentStatus.PENDING, "First webmention from this author")


def test_a_reply_to_a_closed_post_is_held(app, client, site):
    closed = post(app, "Closed", "No more.", comments_open=False)
    permalink = "http://localhost" + path_of(closed)
    send(client, site.page("/r", entry(permalink, "Late reply.")), permalink)
    drain(app)
    with app.app_context():
        comment = db.session.scalar(sa.select(Comment))
        assert (comment.status, comment.reason) == ("pending", "Comments are closed on this post")


def test_a_flood_from_one_host_is_refused(app_config, database_uri, site):
    from blog import create_app

    app = create_app(
        {**app_config, "RATELIMIT_ENABLED": True, "WEBMENTION_RATE_LIMIT": "3 per minute"}
    )
    permalink = "http://localhost" + path_of(post(app, "Popular", "Everyone writes."))
    client = app.test_client()
    answers = [send(client, f"{site.url}/r{n}", permalink).status_code for n in range(5)]
    assert answers == [201, 201, 201, 429, 429]
    refused = send(client, f"{site.url}/r9", permalink)
    assert "Retry-After" in refused.headers and "try again in" in refused.get_data(as_text=True)
    # Another host is not slowed down by this one.
    assert send(client, "https://other.example/r", permalink).status_code == 201
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Webmention.id))) == 4


def test_the_summary_of_a_long_reply_is_cut(app, client, permalink, site):
    words = " ".join(f"word{n}" for n in range(2000))
    send(client, site.page("/long", entry(permalink, f"<p>{words}</p>")), permalink)
    drain(app)
    with app.app_context():
        comment = db.session.scalar(sa.select(Comment))
        shown = html_lib.unescape(comment.body)
    assert len(shown) <= 1500 and shown.endswith("…") and "word100 " in shown


def test_the_writer_deletes_a_reply_and_marks_a_like_as_spam(app, client, permalink, site):
    send(client, site.page("/r", entry(permalink, "Delete me.")), permalink)
    send(client, site.page("/like", entry(permalink, prop="u-like-of")), permalink)
    drain(app)
    assert "Liked by" in text(post_page(client, permalink))
    writer(app)
    with app.app_context():
        login(client)
    listed = parse(get(client, "/admin/webmentions"))
    token = listed.xpath("//input[@name='csrf_token']/@value")[0]
    reply = next(r for r in listed.xpath("//tr") if site.url + "/r" in text(r))
    like = next(r for r in listed.xpath("//tr") if site.url + "/like" in text(r))
    # A reply is moderated as a comment: no approve or spam here, only a link and delete.
    assert reply.xpath(".//button/@data-action") == ["delete"]
    assert reply.xpath(".//a[.='Moderate the reply']")
    for row, action in ((reply, "delete"), (like, "spam")):
        form = row.xpath(f".//form[.//button[@data-action='{action}']]")[0]
        with app.app_context():
            assert client.post(form.get("action"), data={"csrf_token": token}).status_code == 303
    page = post_page(client, permalink)
    assert "Delete me." not in text(page) and page.xpath("//div[@id='reactions']") == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Comment.id))) == 0
        (left,) = db.session.scalars(sa.select(Webmention)).all()
        assert left.status == CommentStatus.SPAM
        # Spam stays spam when the source sends it again.
    send(client, site.url + "/like", permalink)
    drain(app)
    assert post_page(client, permalink).xpath("//div[@id='reactions']") == []


def test_the_back_office_list_leads_to_its_older_pages(app, client, permalink):
    """50 a page, newest first: the 51st sent is on page 2, reached by the page's own link."""
    target = "http://localhost" + permalink
    with app.app_context():
        post_id = db.session.scalar(sa.select(Post.id))
        for n in range(51):
            source = f"https://elsewhere.example/{n}"
            db.session.add(
                Webmention(post_id=post_id, source=source, source_key=source, target=target)
            )
        db.session.commit()
    writer(app)
    login(client)
    first = parse(get(client, "/admin/webmentions"))
    assert len(first.xpath("//tbody/tr")) == 50
    [older] = first.xpath("//nav[@class='pagination']/a[@rel='next']/@href")
    second = parse(get(client, older))
    [row] = second.xpath("//tbody/tr")
    assert "elsewhere.example/0" in text(row)  # the first sent, the oldest
    assert second.xpath("//nav[@class='pagination']/a[@rel='prev']")
