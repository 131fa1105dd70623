"""The writer's side of mail: the address (setup, create-admin, the back office with a
confirmation), which comments they hear about, the subscribers page, and privacy."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from blog.admin import auth
from blog.discussion import DiscussionSettings, Moderation
from blog.extensions import db
from blog.jobs.models import Job
from blog.mail.models import MailAddress, Subscription
from blog.models import Comment, User, WriterNotify, utcnow
from tests.helpers import factories
from tests.helpers.auth import login
from tests.helpers.comments import send_comment
from tests.helpers.html import errors_by_field, form_fields, parse, text
from tests.helpers.mail import confirm, drain, link_to, mail_config, set_writer
from tests.helpers.vnu import validate


@pytest.fixture
def app_config(app_config, smtp, tmp_path):
    return {**app_config, **mail_config(smtp, tmp_path)}


@pytest.fixture
def post(app):
    factories.writer(app)
    return factories.post(app, "Talking back")


def writer_row(app) -> User:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "nell"))
        db.session.expunge(user)
        return user


# --- The address ------------------------------------------------------------------------------


def test_the_setup_page_asks_for_the_address(app, client):
    with app.app_context():
        token = auth.new_setup_token()
    page = client.get(f"/setup?token={token}")
    action, fields = form_fields(
        page, "http://localhost/", "//form[contains(@class, 'admin-form')]"
    )
    data = dict(fields) | {
        "username": "nell",
        "display_name": "Nell Carrow",
        "email": "not an address",
        "password": "lanterns over the harbour",
        "confirm": "lanterns over the harbour",
    }
    response = client.post(action, data=data)
    assert response.status_code == 422
    assert "email address" in errors_by_field(response)["email"]
    response = client.post(action, data=data | {"email": "nell@example.org"})
    assert response.status_code == 303
    assert writer_row(app).email == "nell@example.org"


def cli(app, *args: str, input: str | None = None):
    """Run a flask command as `flask --app wsgi` does: inside an app context of its own."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args), input=input)


def test_create_admin_takes_the_address(app):
    result = cli(
        app,
        "create-admin",
        "nell",
        "--email",
        "nell@example.org",
        input="lanterns over the harbour\n",
    )
    assert result.exit_code == 0, result.output
    assert "Notifications about comments go to nell@example.org." in result.output
    assert writer_row(app).email == "nell@example.org"
    result = cli(
        app,
        "create-admin",
        "nell",
        "--email",
        "nell at example",
        input="lanterns over the harbour\n",
    )
    assert result.exit_code == 2 and "--email" in result.output
    assert writer_row(app).email == "nell@example.org"


def test_a_new_address_is_used_once_the_link_mailed_to_it_is_followed(app, client, smtp, post):
    set_writer(app, email="old@example.org")
    login(client)
    page = client.get("/admin/account")
    action, fields = form_fields(
        page, "http://localhost/", "//form[contains(@class, 'admin-form')]"
    )
    response = client.post(action, data=dict(fields) | {"email": "new@example.org"})
    assert response.status_code == 303
    assert writer_row(app).email == "old@example.org"  # not before it is confirmed
    assert writer_row(app).email_pending == "new@example.org"
    drain(app)
    [mail] = smtp.wait_for(1)
    assert mail.to == "new@example.org" and "Confirm your new address" in mail["Subject"]
    assert mail["List-Unsubscribe"] is None  # a one-off the writer asked for, not a list mail
    url = link_to(mail, "/admin/account/email/")
    stranger = app.test_client()
    assert stranger.get(url).status_code == 302  # it leads through login
    page = client.get(url)
    assert page.status_code == 200 and writer_row(app).email == "old@example.org"
    token = parse(page).xpath(
        "//form[contains(@class, 'admin-form')]//input[@name='csrf_token']/@value"
    )
    response = client.post(url, data={"csrf_token": token[0]})
    assert response.status_code == 303
    assert writer_row(app).email == "new@example.org" and writer_row(app).email_pending == ""
    assert client.post(url, data={"csrf_token": token[0]}).status_code == 400  # used up


# --- What the writer hears about --------------------------------------------------------------


def test_the_writer_may_ask_for_every_comment_or_none(app, client, smtp, post):
    set_writer(app, email="nell@example.org", notify=WriterNotify.EACH)
    send_comment(client, post, author_name="Ada", body="First.")
    drain(app)
    [mail] = smtp.wait_for(1)
    assert mail.to == "nell@example.org" and "First." in mail.part("plain")
    assert mail["Subject"] == "New comment on “Talking back”"
    # The writer's one-click link turns comment mail off.
    url = re.findall(r"<([^>]+)>", mail["List-Unsubscribe"])[0]
    response = app.test_client().post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert writer_row(app).notify == WriterNotify.NONE
    send_comment(app.test_client(), post, author_name="Bo", body="Second.")
    drain(app)
    assert len(smtp.messages) == 1


def test_the_daily_digest_gathers_the_days_comments(app, client, smtp, post):
    set_writer(app, email="nell@example.org", notify=WriterNotify.DAILY)
    factories.comment(app, post, "Approved yesterday.", author_name="Ada")
    factories.comment(app, post, "Held yesterday.", author_name="Bo", status="pending")
    old = factories.comment(app, post, "Too old.", author_name="Cy")
    with app.app_context():
        db.session.execute(
            sa.update(Comment)
            .where(Comment.id == old.id)
            .values(created_at=utcnow() - timedelta(days=2))
        )
        db.session.commit()
    drain(app)
    [held] = smtp.wait_for(1)  # a held comment is announced at once
    assert "Held yesterday." in held.part("plain")
    with app.app_context():
        from blog.mail.fanout import record_daily_digests

        record_daily_digests()  # what the worker does at MAIL_DIGEST_HOUR
        record_daily_digests()  # twice the same day: one digest
        assert (
            db.session.scalar(sa.select(sa.func.count(Job.id)).where(Job.kind == "mail.daily")) == 1
        )
    drain(app)
    _, digest = smtp.wait_for(2)
    body = digest.part("plain")
    assert "Approved yesterday." in body and "Held yesterday." in body
    assert "Too old." not in body
    assert "(awaiting moderation)" in body
    assert len(smtp.messages) == 2


# --- Subscribers in the back office -----------------------------------------------------------


def test_the_writer_sees_a_posts_subscribers_and_removes_them(app, client, smtp, post):
    reader = app.test_client()
    send_comment(
        reader, post, author_name="Ada", author_email="ada@example.org", body="Hi.", subscribe="all"
    )
    send_comment(
        app.test_client(),
        post,
        author_name="Bo",
        author_email="bo@example.org",
        body="Hello.",
        subscribe="replies",
    )
    drain(app)
    confirm(reader, [m for m in smtp.wait_for(2) if m.to == "ada@example.org"][0])
    login(client)
    posts = parse(client.get("/admin/posts/"))
    assert "Subscribers (2)" in text(posts.xpath(f"//tr[@id='post-{post.id}']")[0])
    page = parse(client.get(f"/admin/posts/{post.id}/subscribers"))
    rows = page.xpath("//table[contains(@class, 'subscribers-table')]/tbody/tr")
    assert [text(r.xpath("td[2]")[0]) for r in rows] == ["ada@example.org", "bo@example.org"]
    assert "confirmed" in text(rows[0]) and "not confirmed yet" in text(rows[1])
    assert "replies to Bo’s comment" in text(rows[1])
    ada = rows[0].xpath(".//input[@name='ids']/@value")[0]
    token = page.xpath("//form[@id='subscribers-form']//input[@name='csrf_token']/@value")[0]
    response = client.post(
        f"/admin/posts/{post.id}/subscribers", data={"csrf_token": token, "ids": ada}
    )
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalars(sa.select(Subscription.id)).all() == [
            int(rows[1].xpath(".//input[@name='ids']/@value")[0])
        ]
        # Ada has no subscription left: she must confirm again before getting anything.
        ada_row = db.session.scalar(
            sa.select(MailAddress).where(MailAddress.email == "ada@example.org")
        )
        assert ada_row.confirmed_at is None


def test_addresses_never_appear_in_pages_or_feeds(app, client, smtp, post):
    send_comment(
        client, post, author_name="Ada", author_email="ada@example.org", body="Hi.", subscribe="all"
    )
    drain(app)
    confirm(client, smtp.wait_for(1)[0])
    path = f"/{post.published_at:%Y/%m}/{post.slug}/"
    for url in (
        path,
        path + "comments.atom",
        path + "comments.rss",
        "/feeds/comments.atom",
        "/feeds/comments.rss",
        "/",
        "/sitemap.xml",
    ):
        response = app.test_client().get(url)
        assert response.status_code == 200, url
        assert b"ada@example.org" not in response.data, url


def test_export_keeps_working_with_subscriptions(app, client, smtp, post, tmp_path):
    send_comment(
        client, post, author_name="Ada", author_email="ada@example.org", body="Hi.", subscribe="all"
    )
    result = cli(app, "export", str(tmp_path / "blog.txt"))
    assert result.exit_code == 0, result.output
    assert "Exported 1 posts and 1 comments." in result.output


# --- Valid HTML: the new pages, and the HTML part of every kind of mail -----------------------


def test_mail_pages_and_mails_are_valid_html(app, client, smtp, post, tmp_path):
    set_writer(app, email="nell@example.org", notify=WriterNotify.EACH)
    reader = app.test_client()
    send_comment(
        reader,
        post,
        author_name="Ada",
        author_email="ada@example.org",
        body="Hello <em>there</em>.",
        subscribe="all",
    )
    drain(app)
    confirmation = [m for m in smtp.wait_for(2) if m.to == "ada@example.org"][0]
    pages = {}
    confirm_url = link_to(confirmation, "/subscriptions/confirm/")
    pages["confirm"] = reader.get(confirm_url).get_data(as_text=True)
    unsubscribe_url = link_to(confirmation, "/subscriptions/unsubscribe/")
    pages["unsubscribe"] = reader.get(unsubscribe_url).get_data(as_text=True)
    pages["manage"] = reader.get(link_to(confirmation, "/subscriptions/manage/")).get_data(
        as_text=True
    )
    pages["bad link"] = reader.get(confirm_url + "x").get_data(as_text=True)
    confirm(reader, confirmation)
    pages["confirmed"] = reader.get(confirm_url).get_data(as_text=True)
    with app.app_context():
        DiscussionSettings(moderation=Moderation.HOLD_ALL).save()
        db.session.commit()
    send_comment(app.test_client(), post, author_name="Bo", body="Held.")
    drain(app)
    login(client)
    [held_id] = [c for c in comment_ids(app)][1:]
    for name, url in (
        ("account", "/admin/account"),
        ("jobs", "/admin/jobs"),
        ("subscribers", f"/admin/posts/{post.id}/subscribers"),
        ("comment", f"/admin/comments/{held_id}"),
        ("dashboard", "/admin/"),
        ("posts", "/admin/posts/"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        pages[name] = response.get_data(as_text=True)
    pages["unsubscribed"] = reader.post(unsubscribe_url).get_data(as_text=True)
    for n, received in enumerate(smtp.messages):
        pages[f"mail {n} {received['Subject']}"] = received.part("html")
    assert len(smtp.messages) >= 3  # confirmation, the writer's comment mail, the held one
    assert validate(pages, tmp_path) == []


def comment_ids(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Comment.id).order_by(Comment.id)))
