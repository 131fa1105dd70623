"""Sending webmentions from the editor: one per linked page, results shown, links removed told,
scheduled posts waiting for their time, deleted posts answering 410 and telling everyone."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from blog.extensions import db
from blog.jobs.models import Job, JobStatus
from blog.models import Post, PostStatus, utcnow
from blog.webmention.models import SendState, SentWebmention
from tests.helpers.blogs import running_blogs
from tests.helpers.config import base_config
from tests.helpers.html import parse, text
from tests.helpers.sites import Site

TAKES = '<html><head><link rel="webmention" href="/endpoint"></head><body>{}</body></html>'


@pytest.fixture
def blog(database_uri):
    config = base_config(database_uri, FETCH_ALLOW_PRIVATE_ADDRESSES=True, FETCH_TOTAL_TIMEOUT=5)
    with running_blogs(config) as (blog,):
        blog.login()
        yield blog


@pytest.fixture
def sites():
    with Site() as first, Site() as second, Site() as third:
        first.page("/a", TAKES.format("a page that takes webmentions"))
        first.page("/endpoint", "Accepted", 202, {"Content-Type": "text/plain"})
        second.page("/b", "<p>no endpoint here</p>")
        third.page("/c", TAKES.format("a page whose endpoint refuses"))
        third.page("/endpoint", "Source does not link", 400, {"Content-Type": "text/plain"})
        yield first, second, third


def sent_rows(blog) -> dict[str, SentWebmention]:
    with blog.app.app_context():
        rows = db.session.scalars(sa.select(SentWebmention)).all()
        for row in rows:
            db.session.expunge(row)
        return {row.target: row for row in rows}


def editor_report(blog, post_id: int) -> tuple[str, list[str]]:
    page = parse(blog.get(f"/admin/posts/{post_id}/edit"))
    summary = page.xpath("//p[@id='sent-summary']")
    items = [text(li) for li in page.xpath("//section[@id='webmentions-sent']//li")]
    return (text(summary[0]) if summary else ""), items


def schedule(blog, title: str, body: str):
    """Schedule a post two hours ahead in the editor; return the answer and the time."""
    when = (utcnow() + timedelta(hours=2)).replace(second=0, microsecond=0)
    token = parse(blog.get("/admin/posts/new")).xpath("//input[@name='csrf_token']/@value")[0]
    data = {
        "csrf_token": token,
        "title": title,
        "body": body,
        "publish_at": when.strftime("%Y-%m-%dT%H:%M"),
        "schedule": "Schedule",
    }
    return blog.post("/admin/posts/new", data=data), when


def test_publishing_sends_to_each_linked_page_and_the_editor_says_how_it_went(blog, sites):
    first, second, third = sites
    a, b, c = first.url + "/a", second.url + "/b", third.url + "/c"
    body = f"See [a]({a}), [b]({b}) and [c]({c}), and [a again]({a}#part), and [us](/about/)."
    post_id = blog.publish("Links", body)
    assert blog.work() == 3  # one job per page, once each; our own links are not sent to
    (posted,) = first.posts_to("/endpoint")
    source = posted.form["source"]
    assert source.startswith(blog.url + "/") and posted.form["target"] == a
    assert blog.get(source).status_code == 200
    summary, items = editor_report(blog, post_id)
    assert summary == (
        "Sent to 1 site, 1 failed: 127.0.0.1: its endpoint answered 400 Bad Request: "
        "Source does not link, 1 page take no webmentions."
    )
    assert len(items) == 3
    rows = sent_rows(blog)
    assert rows[a].state == SendState.SENT and rows[a].http_status == 202
    assert rows[b].state == SendState.NO_ENDPOINT
    assert rows[c].state == SendState.FAILED


def test_updating_sends_again_and_a_removed_link_gets_a_last_webmention(blog, sites):
    first, second, _ = sites
    a, b = first.url + "/a", second.url + "/b"
    post_id = blog.publish("Links", f"[a]({a}) and [b]({b}).")
    blog.work()
    blog.publish("Links", f"Only [b]({b}) now.", post_id=post_id)
    assert blog.work() == 2  # b again (an update), a once more (the link is gone)
    assert len(first.posts_to("/endpoint")) == 2
    rows = sent_rows(blog)
    assert rows[a].linked is False and rows[a].state == SendState.SENT
    _, items = editor_report(blog, post_id)
    assert any("(link removed)" in item for item in items)
    blog.publish("Links", f"Still only [b]({b}).", post_id=post_id)
    assert blog.work() == 1  # the removed link was told once; it is not told again
    assert len(first.posts_to("/endpoint")) == 2


def test_a_scheduled_post_sends_when_it_goes_public(blog, sites):
    first, _, _ = sites
    answer, when = schedule(blog, "Later", f"[a]({first.url}/a)")
    assert answer.status_code == 303
    assert blog.work() == 0  # not due yet
    with blog.app.app_context():
        job = db.session.scalar(sa.select(Job))
        assert job.run_after == when and job.status == JobStatus.PENDING
        # Time passes: the post is public and the job is due.
        post = db.session.scalar(sa.select(Post))
        post.published_at = job.run_after = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert blog.work() == 1 and len(first.posts_to("/endpoint")) == 1


def test_drafts_send_nothing(blog, sites):
    first, _, _ = sites
    token = parse(blog.get("/admin/posts/new")).xpath("//input[@name='csrf_token']/@value")[0]
    data = {"csrf_token": token, "title": "Draft", "body": f"[a]({first.url}/a)"}
    assert blog.post("/admin/posts/new", data=data).status_code == 303
    assert blog.work() == 0 and sent_rows(blog) == {}


def test_deleting_a_post_answers_410_and_tells_every_linked_page(blog, sites):
    first, _, _ = sites
    a = first.url + "/a"
    post_id = blog.publish("Short-lived", f"[a]({a})")
    blog.work()
    with blog.app.app_context():
        post = db.session.get(Post, post_id)
        path = f"/{post.published_at:%Y/%m}/{post.slug}/"
    blog.delete(post_id)
    gone = blog.get(path)
    assert gone.status_code == 410 and "deleted" in text(parse(gone))
    assert blog.work() == 1
    (_, last) = first.posts_to("/endpoint")
    assert last.form == {"source": blog.url + path, "target": a}
    # A new post may take the address again: it is served, not the tombstone.
    new_id = blog.publish("Short-lived", "Back again.")
    with blog.app.app_context():
        assert db.session.get(Post, new_id).slug == path.split("/")[-2]
    assert blog.get(path).status_code == 200


def test_in_reply_to_is_marked_up_and_checked(blog, sites):
    first, _, _ = sites
    a = first.url + "/a"
    post_id = blog.publish("Answer", "My answer.", in_reply_to=a)
    with blog.app.app_context():
        post = db.session.get(Post, post_id)
        assert post.status == PostStatus.PUBLISHED
        path = f"/{post.published_at:%Y/%m}/{post.slug}/"
    link = parse(blog.get(path)).xpath(
        "//article[contains(@class, 'h-entry')]//a[@class='u-in-reply-to']"
    )
    assert [anchor.get("href") for anchor in link] == [a]
    assert blog.work() == 1 and first.posts_to("/endpoint")[0].form["target"] == a
    # Only web addresses: the editor says so next to the field and keeps the text.
    token = parse(blog.get("/admin/posts/new")).xpath("//input[@name='csrf_token']/@value")[0]
    data = {
        "csrf_token": token,
        "title": "Bad",
        "body": "x",
        "in_reply_to": "javascript:alert(1)",
        "publish": "1",
    }
    answer = blog.post("/admin/posts/new", data=data)
    assert answer.status_code == 422
    page = parse(answer)
    assert "https://" in text(page.xpath("//p[@id='in_reply_to-error']")[0])
    assert page.xpath("//input[@id='in_reply_to']/@value") == ["javascript:alert(1)"]


def test_a_post_deleted_before_its_time_tells_nobody(blog, sites):
    first, _, _ = sites
    answer, _ = schedule(blog, "Never seen", f"[a]({first.url}/a)")
    post_id = int(answer.headers["Location"].split("/")[-2])
    blog.delete(post_id)
    with blog.app.app_context():
        # Even once its time has come, the waiting job sends nothing: it was called off.
        job = db.session.scalar(sa.select(Job))
        job.run_after = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert blog.work() == 1
    assert first.posts_to("/endpoint") == []
    (row,) = sent_rows(blog).values()
    assert row.result == "not sent: the post was deleted before it went public"


def test_a_page_sends_like_a_post_and_its_deletion_answers_410(blog, sites):
    """A page (About, Colophon) that links elsewhere is a real page: publishing it tells the
    pages it links to, and deleting it leaves a 410 at /<slug>/ and tells them again. Pages
    announce no endpoint of their own (only posts receive webmentions)."""
    first, _, _ = sites
    a = first.url + "/a"
    token = parse(blog.get("/admin/pages/new")).xpath("//input[@name='csrf_token']/@value")[0]
    data = {"csrf_token": token, "title": "Colophon", "body": f"Set in [a]({a}).", "publish": "1"}
    answer = blog.post("/admin/pages/new", data=data)
    assert answer.status_code == 303
    page_id = int(answer.headers["Location"].split("/")[-2])
    assert blog.work() == 1
    (sent,) = first.posts_to("/endpoint")
    assert sent.form == {"source": blog.url + "/colophon/", "target": a}
    shown = blog.get("/colophon/")
    assert shown.status_code == 200 and 'rel="webmention"' not in shown.headers.get("Link", "")
    assert not parse(shown).xpath("//link[@rel='webmention']")
    blog.delete(page_id)
    gone = blog.get("/colophon/")
    assert gone.status_code == 410 and "deleted" in text(parse(gone))
    assert blog.work() == 1
    (_, last) = first.posts_to("/endpoint")
    assert last.form == {"source": blog.url + "/colophon/", "target": a}
