"""Mail about comments, end to end through a real SMTP server (aiosmtpd on loopback).

The worker's code runs in this process here (`runner.run_due()`, what `flask worker --drain`
does), so each test sees exactly which mails a step caused; tests/test_worker.py runs the real
worker process. Every message is read back from the server and parsed with the email package.
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta
from email.utils import parseaddr

import pytest
import sqlalchemy as sa

from blog import create_app
from blog.discussion import DiscussionSettings, Moderation
from blog.extensions import db
from blog.jobs.models import Job
from blog.mail import fanout
from blog.mail.models import MailAddress, MailMessage, Subscription
from blog.models import Comment, WriterNotify, utcnow
from blog.site import SiteSettings
from tests.helpers import factories
from tests.helpers.auth import login
from tests.helpers.comments import send_comment
from tests.helpers.html import csrf_token, errors_by_field, parse, text
from tests.helpers.mail import confirm, drain, link_to, mail_config, set_writer


@pytest.fixture
def app_config(app_config, smtp, tmp_path):
    return {
        **app_config,
        **mail_config(
            smtp,
            tmp_path,
            MAIL_DEFAULT_SENDER="Field Notes <blog@example.org>",
            MAIL_HOURLY_LIMIT=3,
        ),
    }


@pytest.fixture
def post(app):
    factories.writer(app)
    return factories.post(app, "Talking back")


def test_a_reader_subscribes_confirms_hears_of_a_reply_and_leaves_in_one_click(
    app, client, smtp, post
):
    response = send_comment(
        client,
        post,
        author_name="Ada",
        author_email="Ada@Example.org",
        body="A question?",
        subscribe="replies",
    )
    assert response.status_code == 303
    assert drain(app) >= 2  # the confirmation, then its sending
    [confirmation] = smtp.wait_for(1)
    assert confirmation.to == "ada@example.org"
    assert parseaddr(confirmation["From"])[1] == "blog@example.org"
    assert "Confirm your subscription" in confirmation["Subject"]

    # Following the link changes nothing; the page's button (a POST) confirms.
    url = link_to(confirmation, "/subscriptions/confirm/")
    assert client.get(url).status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(MailAddress.confirmed_at)) is None
    confirm(client, confirmation)

    # Another reader answers Ada's comment.
    with app.app_context():
        ada = db.session.scalar(sa.select(Subscription.comment_id))
    other = app.test_client()
    response = send_comment(
        other,
        post,
        author_name="Bo",
        body="An answer, with <em>emphasis</em>.",
        parent_id=str(ada),
    )
    assert response.status_code == 303
    drain(app)
    _, reply = smtp.wait_for(2)
    assert reply.to == "ada@example.org"
    assert reply["Subject"] == "New comment on “Talking back”"
    assert reply["Auto-Submitted"] == "auto-generated"
    assert reply["Precedence"] == "list"
    assert reply["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = re.findall(r"<([^>]+)>", reply["List-Unsubscribe"])
    assert https.startswith("http://localhost/subscriptions/unsubscribe/")
    assert mailto.startswith("mailto:blog@example.org?subject=unsubscribe%20")
    assert re.fullmatch(
        r"<post-\d+\.\d+@example\.org>|<post-\d+\.\d+@localhost>", reply["In-Reply-To"]
    )
    assert reply["References"] == reply["In-Reply-To"]
    assert "An answer, with emphasis." in reply.part("plain")
    assert "<em>emphasis</em>" in reply.part("html")
    comment_link = link_to(reply, f"/{post.published_at:%Y/%m}/")
    page = client.get(comment_link)
    anchor = comment_link.split("#")[1]
    assert page.status_code == 200 and parse(page).xpath(f"//*[@id='{anchor}']")

    # One click, as a mail client does it: no cookies, no token but the link's.
    stranger = app.test_client()
    response = stranger.post(https, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "Location" not in response.headers
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Subscription.id))) == 0
    send_comment(other, post, author_name="Cy", body="Nobody hears this.", parent_id=str(ada))
    drain(app)
    assert len(smtp.messages) == 2


# --- Helpers of this module ------------------------------------------------------------------


def hold_every_comment(app) -> None:
    with app.app_context():
        DiscussionSettings(moderation=Moderation.HOLD_ALL).save()
        db.session.commit()


def subscribed_reader(app, client, smtp, post, email="ada@example.org", kind="all") -> None:
    """A reader who comments, subscribes and confirms; the server's messages are emptied."""
    before = len(smtp.messages)
    response = send_comment(
        client,
        post,
        author_name="Ada",
        author_email=email,
        body=f"Mine ({kind}).",
        subscribe=kind,
    )
    assert response.status_code == 303
    drain(app)
    received = smtp.wait_for(before + 1)[-1]
    assert received.to == email
    confirm(client, received)
    smtp.messages.clear()


def comment_ids(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Comment.id).order_by(Comment.id)))


# --- The writer -------------------------------------------------------------------------------


def test_a_held_comment_mails_the_writer_with_links_that_go_through_login(app, client, smtp, post):
    set_writer(app, email="nell@example.org")
    hold_every_comment(app)
    reader = app.test_client()
    response = send_comment(
        reader,
        post,
        author_name="Eve Sender",
        author_email="eve@example.org",
        body="Check my <b>site</b>: www.example.net",
    )
    assert response.status_code == 303
    drain(app)
    [held] = smtp.wait_for(1)
    assert held.to == "nell@example.org"
    assert held["Subject"] == "Comment awaiting moderation on “Talking back”"
    body = held.part("plain")
    assert (
        "Why it was held: Every comment is held for moderation" in body
        or "Why it was held:" in body
    )
    assert "Eve Sender <eve@example.org>" in body
    assert "<b>site</b>" in held.part("html")
    assert held["List-Unsubscribe"] and held["Auto-Submitted"] == "auto-generated"
    # The link leads through login to the comment, whose actions are forms (POST), not links.
    [comment_id] = comment_ids(app)
    url = link_to(held, f"/admin/comments/{comment_id}")
    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/login?next=")
    login(client)
    page = client.get(url)
    assert page.status_code == 200
    actions = parse(page).xpath(f"//li[@id='queue-comment-{comment_id}']//form")
    assert {form.get("method") for form in actions} == {"post"}
    assert any("/approve" in form.get("action") for form in actions)
    assert any("/spam" in form.get("action") for form in actions)
    assert any("/reply" in form.get("action") for form in actions)
    # Nothing about it went to anyone else, and approving it does not mail the writer again.
    token = parse(page).xpath("//input[@name='csrf_token']/@value")[0]
    assert (
        client.post(f"/admin/comments/{comment_id}/approve", data={"csrf_token": token}).status_code
        == 303
    )
    drain(app)
    assert len(smtp.messages) == 1


def test_mail_names_the_blog_as_its_site_settings_do(app, client, smtp, post):
    """The title and language saved in the back office's Site page, not the configuration's,
    name the blog in a mail: its List-Id, its HTML part's lang and its footer."""
    with app.app_context():
        SiteSettings(title="Harbour Notes", tagline="", language="en-GB", author_name="",
                     timezone="Europe/London").save()  # fmt: skip
        db.session.commit()
    set_writer(app, email="nell@example.org")
    hold_every_comment(app)
    assert (
        send_comment(app.test_client(), post, author_name="Eve", body="Hello.").status_code == 303
    )
    drain(app)
    [held] = smtp.wait_for(1)
    assert held["List-Id"].startswith("Harbour Notes <comments.")
    assert '<html lang="en-GB">' in held.part("html")
    assert "Harbour Notes · http://localhost/" in held.part("plain")
    assert "Field Notes" not in held.part("plain") + held["List-Id"]


def test_no_mail_about_a_comment_before_it_is_approved_then_it_is_sent(app, client, smtp, post):
    subscribed_reader(app, client, smtp, post)
    hold_every_comment(app)
    send_comment(app.test_client(), post, author_name="Bo", body="Held at first.")
    drain(app)
    assert smtp.messages == []  # held: the subscriber hears nothing (the writer has no address)
    [_, held_id] = comment_ids(app)
    login(client)
    token = csrf_token(client, "/admin/comments")
    response = client.post(f"/admin/comments/{held_id}/approve", data={"csrf_token": token})
    assert response.status_code == 303
    drain(app)
    [mail] = smtp.wait_for(1)
    assert mail.to == "ada@example.org" and "Held at first." in mail.part("plain")
    # Holding it and approving it again sends nothing more.
    response = client.post(f"/admin/comments/{held_id}/spam", data={"csrf_token": token})
    response = client.post(f"/admin/comments/{held_id}/approve", data={"csrf_token": token})
    drain(app)
    assert len(smtp.messages) == 1


def test_a_reader_never_hears_of_their_own_comment_nor_the_writer_of_theirs(
    app, client, smtp, post
):
    subscribed_reader(app, client, smtp, post)
    set_writer(app, email="nell@example.org", notify=WriterNotify.EACH)
    # Ada again (same address, other case): nobody is told but the writer.
    send_comment(client, post, author_name="Ada", author_email="ADA@example.org", body="Me again.")
    drain(app)
    [to_writer] = smtp.wait_for(1)
    assert to_writer.to == "nell@example.org" and "Me again." in to_writer.part("plain")
    # The writer, logged in, comments: Ada is told, the writer is not.
    login(client)
    send_comment(client, post, author_name="Nell Carrow", body="The writer speaks.")
    drain(app)
    _, to_ada = smtp.wait_for(2)
    assert to_ada.to == "ada@example.org" and "The writer speaks." in to_ada.part("plain")
    assert len(smtp.messages) == 2


def test_replies_subscribers_hear_only_of_their_thread(app, client, smtp, post):
    subscribed_reader(app, client, smtp, post, kind="replies")
    [ada] = comment_ids(app)
    other = app.test_client()
    send_comment(other, post, author_name="Bo", body="A new thread.")
    drain(app)
    assert smtp.messages == []
    send_comment(other, post, author_name="Cy", body="Answering Ada.", parent_id=str(ada))
    drain(app)
    [mail] = smtp.wait_for(1)
    assert "Cy replied to Ada" in mail.part("plain")
    # Following the whole post as well still means one mail per comment.
    send_comment(
        client,
        post,
        author_name="Ada",
        author_email="ada@example.org",
        body="Everything, please.",
        subscribe="all",
    )
    send_comment(other, post, author_name="Di", body="Answering Ada too.", parent_id=str(ada))
    drain(app)
    _, second = smtp.wait_for(2)
    assert "Answering Ada too." in second.part("plain") and len(smtp.messages) == 2


def test_an_unconfirmed_address_gets_one_confirmation_an_hour_and_nothing_else(
    app, client, smtp, post
):
    second = factories.post(app, "Another post")
    for n, target in enumerate((post, second, post)):
        response = send_comment(
            app.test_client(),
            target,
            author_name="Mallory",
            author_email="victim@example.org",
            body=f"Subscribing someone else, time {n}.",
            subscribe="all",
        )
        assert response.status_code == 303
    send_comment(app.test_client(), post, author_name="Bo", body="News for the unconfirmed?")
    drain(app)
    [only] = smtp.wait_for(1)
    assert "Confirm your subscription" in only["Subject"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(MailMessage.id))) == 1
    # Confirmed once, an address needs no new confirmation for another post.
    confirm(client, only)
    third = factories.post(app, "A third post")
    send_comment(
        client,
        third,
        author_name="V",
        author_email="victim@example.org",
        body="Me.",
        subscribe="all",
    )
    send_comment(app.test_client(), third, author_name="Bo", body="Hello V.")
    drain(app)
    _, news = smtp.wait_for(2)
    assert news["Subject"] == "New comment on “A third post”"
    assert len(smtp.messages) == 2


def test_names_and_titles_cannot_inject_headers(app, client, smtp):
    factories.writer(app)
    evil = factories.post(app, "Evil\r\nBcc: victim@example.org\r\nX-Injected: 1")
    subscribed_reader(app, client, smtp, evil)
    send_comment(
        app.test_client(),
        evil,
        author_name="Eve\r\nBcc: other@example.org\nX-Evil: yes",
        body="Injected?",
    )
    set_writer(app, email="nell@example.org")
    hold_every_comment(app)
    send_comment(
        app.test_client(),
        evil,
        author_name="Eve\rTo: third@example.org",
        body="Held one.",
    )
    drain(app)
    messages = smtp.wait_for(2)
    assert sorted(m.to for m in messages) == ["ada@example.org", "nell@example.org"]
    for received in messages:
        assert len(received.rcpt_tos) == 1
        assert received["Bcc"] is None and received["X-Injected"] is None
        assert received["X-Evil"] is None
        assert "\n" not in received["Subject"] and "\r" not in received["Subject"]
        assert received["Subject"].endswith("“Evil Bcc: victim@example.org X-Injected: 1”")
        headers = (
            received.raw.split(b"\r\n\r\n", 1)[0]
            if b"\r\n\r\n" in received.raw
            else received.raw.split(b"\n\n", 1)[0]
        )
        assert not re.search(rb"^(Bcc|X-Injected|X-Evil):", headers, re.M | re.I)


def test_past_the_hourly_limit_the_rest_comes_as_one_digest(app, client, smtp, post):
    subscribed_reader(app, client, smtp, post)  # the confirmation is the hour's first mail
    other = app.test_client()
    for n in range(5):
        send_comment(other, post, author_name=f"Writer {n}", body=f"Comment number {n}.")
    drain(app)
    assert len(smtp.wait_for(2)) == 2  # MAIL_HOURLY_LIMIT is 3 in this module
    with app.app_context():
        statuses = dict(
            db.session.execute(
                sa.select(MailMessage.status, sa.func.count(MailMessage.id)).group_by(
                    MailMessage.status
                )
            ).all()
        )
        assert statuses == {"sent": 3, "held": 3}
        digest = db.session.scalar(sa.select(Job).where(Job.kind == "mail.digest"))
        assert digest.status == "pending" and digest.run_after > utcnow() + timedelta(minutes=59)
    drain(app)
    assert len(smtp.messages) == 2  # nothing more within the hour
    with app.app_context():  # an hour passes
        earlier = utcnow() - timedelta(hours=2)
        db.session.execute(sa.update(MailMessage).values(claimed_at=earlier, sent_at=earlier))
        db.session.execute(sa.update(Job).where(Job.id == digest.id).values(run_after=utcnow()))
        db.session.commit()
    drain(app)
    messages = smtp.wait_for(3)
    assert len(messages) == 3
    last = messages[-1]
    assert last["Subject"] == "3 new comments on Field Notes"
    body = last.part("plain")
    assert all(f"Comment number {n}." in body for n in (2, 3, 4))
    assert "Comment number 1." not in body
    assert last["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count(MailMessage.id)).where(MailMessage.status == "digested")
            )
            == 3
        )


def test_a_comment_fans_out_in_a_few_statements_and_once_however_often_it_runs(app, post, queries):
    """Sixty followers (two batches): the messages go in one INSERT a batch, not one each,
    and no reader's row is read again after the first batch commits; the job run again (its
    worker died before marking it done) adds nothing."""
    with app.app_context():
        for n in range(60):
            address = MailAddress(email=f"reader{n}@example.org", confirmed_at=utcnow())
            db.session.add(address)
            db.session.flush()
            db.session.add(Subscription(address_id=address.id, post_id=post.id))
        db.session.commit()
    assert (
        send_comment(app.test_client(), post, author_name="Bo", body="To all.").status_code == 303
    )

    def fan_out() -> tuple[int, int]:
        with app.app_context():
            job = db.session.scalar(sa.select(Job).where(Job.kind == "mail.comment"))
            fanout.comment_published(job)
            sends = sa.select(sa.func.count(Job.id)).where(Job.kind == "mail.send")
            return db.session.scalar(sa.select(sa.func.count(MailMessage.id))), db.session.scalar(
                sends
            )

    with queries() as statements:
        assert fan_out() == (60, 2)
    assert len(statements) < 20, "\n".join(statements)  # 83 with a statement per reader
    assert fan_out() == (60, 2)


# --- Links: forged, expired, and what they change --------------------------------------------


def test_a_forged_or_expired_link_gets_a_clear_page_and_changes_nothing(app, client, smtp, post):
    send_comment(
        client, post, author_name="Ada", author_email="ada@example.org", body="Hi.", subscribe="all"
    )
    drain(app)
    [confirmation] = smtp.wait_for(1)
    url = link_to(confirmation, "/subscriptions/confirm/")
    unsubscribe = re.findall(r"<([^>]+)>", confirmation["List-Unsubscribe"])[0]
    for forged in (
        url[:-3] + "abc",
        url.replace("/confirm/", "/confirm/x"),
        unsubscribe[:-2] + "zz",
        "http://localhost/subscriptions/manage/eyJhIjoxLCJrIjoieCJ9.forged",
    ):
        response = client.get(forged)
        assert response.status_code == 400
        assert "This link does not work" in text(parse(response).xpath("//h1")[0])
        assert client.post(forged, data={"List-Unsubscribe": "One-Click"}).status_code in (400,)
    app.config["MAIL_CONFIRM_MAX_AGE"] = -1  # every confirmation link is now too old
    response = client.get(url)
    assert response.status_code == 410
    assert "expired" in text(parse(response).xpath("//h1")[0])
    app.config["MAIL_CONFIRM_MAX_AGE"] = 7 * 24 * 3600
    with app.app_context():
        address = db.session.scalar(sa.select(MailAddress))
        assert address.confirmed_at is None
        assert db.session.scalar(sa.select(sa.func.count(Subscription.id))) == 1


def test_the_manage_page_lists_and_ends_subscriptions(app, client, smtp, post):
    subscribed_reader(app, client, smtp, post, kind="replies")
    second = factories.post(app, "Another post")
    send_comment(
        client,
        second,
        author_name="Ada",
        author_email="ada@example.org",
        body="Also.",
        subscribe="all",
    )
    send_comment(app.test_client(), second, author_name="Bo", body="Hi Ada.")
    drain(app)
    [news] = smtp.wait_for(1)
    manage = link_to(news, "/subscriptions/manage/")
    page = parse(client.get(manage))
    items = [text(li) for li in page.xpath("//ul[@class='subscription-list']/li")]
    assert len(items) == 2
    assert items[0].startswith("Talking back: replies to your comment")
    assert items[1].startswith("Another post: every new comment")
    token = page.xpath("//form[@id='manage-form']/input[@name='csrf_token']/@value")[0]
    first = page.xpath("//button[@name='remove']/@value")[0]
    response = client.post(manage, data={"csrf_token": token, "remove": first})
    assert response.status_code == 303
    page = parse(client.get(manage))
    assert [text(li) for li in page.xpath("//ul[@class='subscription-list']/li")] == [items[1]]
    client.post(manage, data={"csrf_token": token, "everything": "y"})
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Subscription.id))) == 0
        assert db.session.scalar(sa.select(MailAddress.confirmed_at)) is None  # must confirm again


def test_one_click_unsubscribe_accepts_what_mail_clients_send(app, client, smtp, post):
    subscribed_reader(app, client, smtp, post)
    send_comment(app.test_client(), post, author_name="Bo", body="Hi.")
    drain(app)
    [news] = smtp.wait_for(1)
    url = re.findall(r"<([^>]+)>", news["List-Unsubscribe"])[0]
    assert url == link_to(news, "/subscriptions/unsubscribe/")  # the visible link is the same
    bot = app.test_client()
    assert bot.get(url).status_code == 200  # a scanner following the link changes nothing
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Subscription.id))) == 1
    # RFC 8058 asks for multipart/form-data (application/x-www-form-urlencoded also works).
    response = bot.post(
        url, data={"List-Unsubscribe": "One-Click"}, content_type="multipart/form-data"
    )
    assert response.status_code == 200 and "Location" not in response.headers
    assert "Set-Cookie" not in response.headers  # nothing to remember about this caller
    assert "You are unsubscribed" in text(parse(response).xpath("//h1")[0])
    assert bot.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200  # again: fine
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Subscription.id))) == 0


# --- Bad input and faults ---------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_subscribing_without_an_address_is_refused_in_place_with_the_comment_kept(
    app, client, smtp, post, htmx
):
    response = send_comment(
        client, post, htmx=htmx, author_name="Ada", body="Keep me.", subscribe="replies"
    )
    assert response.status_code == 422
    assert "Enter your email address" in errors_by_field(response)["comment-author-email"]
    form = parse(response).xpath("//form[@id='comment-form']")[0]
    assert form.xpath(".//textarea[@name='body']")[0].text == "Keep me."
    assert form.xpath(".//input[@name='subscribe'][@checked]/@value") == ["replies"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Comment.id))) == 0


def test_an_address_the_server_refuses_fails_for_good_and_is_refused_next_time(
    app, client, smtp, post
):
    smtp.refused.add("nobody@example.org")
    send_comment(
        client,
        post,
        author_name="Ada",
        author_email="nobody@example.org",
        body="Typo in my address.",
        subscribe="all",
    )
    drain(app)
    with app.app_context():
        mail = db.session.scalar(sa.select(MailMessage))
        assert mail.status == "failed" and "550" in mail.error  # no retries: 5xx is final
        assert "550" in db.session.scalar(sa.select(MailAddress.bounced))
        assert db.session.scalar(sa.select(Job.status).where(Job.kind == "mail.send")) == "done"
    # The back office shows it, with the server's answer, and can send it again.
    factories.writer(app)
    login(client)
    page = parse(client.get("/admin/jobs"))
    row = page.xpath(f"//tr[@id='mail-{mail.id}']")[0]
    assert "nobody@example.org" in text(row) and "550" in text(row)
    assert text(parse(client.get("/admin/")).xpath("//*[@id='stat-failed-jobs']")[0]) == "1"
    # The next comment naming the address is told so, in place, and keeps its text.
    response = send_comment(
        app.test_client(),
        post,
        author_name="Ada",
        author_email="nobody@example.org",
        body="Again.",
        subscribe="all",
    )
    assert response.status_code == 422
    assert "could not be delivered" in errors_by_field(response)["comment-author-email"]
    assert "Again." in response.get_data(as_text=True)
    # The address is fixed on the server's side: Retry sends it.
    smtp.refused.clear()
    token = page.xpath("//form[@id='retry-mail-form']//input[@name='csrf_token']/@value")[0]
    response = client.post("/admin/jobs/mail", data={"csrf_token": token, "ids": str(mail.id)})
    assert response.status_code == 303
    drain(app)
    [received] = smtp.wait_for(1)
    assert received.to == "nobody@example.org"
    with app.app_context():
        assert db.session.scalar(sa.select(MailAddress.bounced)) == ""


def test_a_recipient_turned_away_for_now_waits_without_holding_up_the_others(
    app, client, smtp, post
):
    subscribed_reader(app, client, smtp, post)
    subscribed_reader(app, client, smtp, post, email="bo@example.org")

    def greylist(envelope):
        if "ada@example.org" in envelope.rcpt_tos:
            return "451 4.7.1 Greylisted, try again later"
        return None

    smtp.gate = greylist
    send_comment(app.test_client(), post, author_name="Cy", body="For both.")
    drain(app)
    [mail] = smtp.wait_for(1)
    assert mail.to == "bo@example.org"
    with app.app_context():
        job = db.session.scalar(
            sa.select(Job).where(Job.kind == "mail.send").order_by(Job.id.desc()).limit(1)
        )
        assert job.status == "pending" and job.attempts == 1 and job.run_after > utcnow()
        assert "1 of 2 mails were turned away for now" in job.last_error
        assert "451" in job.last_error
        db.session.execute(sa.update(Job).where(Job.id == job.id).values(run_after=utcnow()))
        db.session.commit()
    smtp.gate = None
    drain(app)
    _, second = smtp.wait_for(2)
    assert second.to == "ada@example.org"
    assert len(smtp.messages) == 2  # Bo's was not sent again


def test_smtp_down_comments_post_and_mail_goes_when_it_is_back(app, client, smtp, post):
    subscribed_reader(app, client, smtp, post)
    smtp.stop()
    response = send_comment(app.test_client(), post, author_name="Bo", body="While it was down.")
    assert response.status_code == 303  # the comment is posted as usual
    drain(app)
    with app.app_context():
        job = db.session.scalar(
            sa.select(Job).where(Job.kind == "mail.send", Job.status == "pending")
        )
        assert job.attempts == 1 and "Could not reach the mail server" in job.last_error
        assert job.run_after > utcnow()  # tried again later, with backoff
    smtp.start()
    with app.app_context():  # the retry's time comes
        db.session.execute(sa.update(Job).where(Job.id == job.id).values(run_after=utcnow()))
        db.session.commit()
    drain(app)
    [mail] = smtp.wait_for(1)
    assert "While it was down." in mail.part("plain")


def test_a_failed_job_is_kept_shown_and_retried_from_the_back_office(app, client, smtp, post):
    app.config["JOBS_MAX_ATTEMPTS"] = 1
    subscribed_reader(app, client, smtp, post)
    smtp.stop()
    send_comment(app.test_client(), post, author_name="Bo", body="Failed once.")
    drain(app)
    factories.writer(app)
    login(client)
    page = parse(client.get("/admin/jobs"))
    [row] = page.xpath("//table[contains(@class, 'jobs-table')]//tbody/tr")
    assert "Could not reach the mail server" in text(row)
    dashboard = parse(client.get("/admin/"))
    assert text(dashboard.xpath("//*[@id='stat-failed-jobs']")[0]) == "1"
    smtp.start()
    token = page.xpath("//form[@id='retry-form']//input[@name='csrf_token']/@value")[0]
    job_id = row.xpath(".//input[@name='ids']/@value")[0]
    response = client.post("/admin/jobs", data={"csrf_token": token, "ids": job_id})
    assert response.status_code == 303
    drain(app)
    [mail] = smtp.wait_for(1)
    assert "Failed once." in mail.part("plain")
    assert parse(client.get("/admin/jobs")).xpath("//*[@id='jobs-failed']")[0].text == "0"


# --- The htmx path, threading, and mail without a server --------------------------------------


def test_subscribing_in_place_says_what_comes_next(app, client, smtp, post):
    response = send_comment(
        client,
        post,
        htmx=True,
        author_name="Ada",
        author_email="ada@example.org",
        body="In place.",
        subscribe="all",
    )
    assert response.status_code == 200
    status = text(parse(response).xpath("//*[@id='comment-status']")[0])
    assert status == (
        "Your comment was posted. To get mail about this discussion, follow the link in the "
        "message we are sending you."
    )
    # The fresh form offers the choice again, "No email" ticked (the same for every reader).
    assert parse(response).xpath("//input[@name='subscribe'][@checked]/@value") == [""]
    drain(app)
    confirm(client, smtp.wait_for(1)[0])
    response = send_comment(
        client,
        post,
        htmx=True,
        author_name="Ada",
        author_email="ada@example.org",
        body="Again.",
        subscribe="replies",
    )
    status = text(parse(response).xpath("//*[@id='comment-status']")[0])
    assert status.endswith("You will get mail about this discussion.")


def test_a_posts_mails_form_one_thread_and_another_posts_another(app, client, smtp, post):
    app.config["MAIL_HOURLY_LIMIT"] = 10
    second = factories.post(app, "Another post")
    subscribed_reader(app, client, smtp, post)
    send_comment(
        client,
        second,
        author_name="Ada",
        author_email="ada@example.org",
        body="Here too.",
        subscribe="all",
    )
    other = app.test_client()
    send_comment(other, post, author_name="Bo", body="One.")
    send_comment(other, post, author_name="Cy", body="Two.")
    send_comment(other, second, author_name="Di", body="Three.")
    drain(app)
    one, two, three = smtp.wait_for(3)
    assert one["References"] == two["References"] == one["In-Reply-To"] == two["In-Reply-To"]
    assert three["References"] != one["References"]
    assert one["Subject"] == two["Subject"]  # clients that thread by subject agree
    assert len({one["Message-ID"], two["Message-ID"], three["Message-ID"]}) == 3


def test_without_a_mail_server_mail_is_written_to_eml_files(app_config, tmp_path):
    config = {**app_config, "MAIL_SERVER": "", "MAIL_FILE_PATH": str(tmp_path / "mail")}
    app = create_app(config)
    factories.writer(app)
    post = factories.post(app, "Talking back")
    client = app.test_client()
    send_comment(
        client,
        post,
        author_name="Ada",
        author_email="ada@example.org",
        body="To a file.",
        subscribe="all",
    )
    drain(app)
    [path] = (tmp_path / "mail").glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"] == "ada@example.org"
    assert "Confirm your subscription" in message["Subject"]
    assert "/subscriptions/confirm/" in message.get_body(("plain",)).get_content()
    assert not list((tmp_path / "mail").glob("*.partial"))
