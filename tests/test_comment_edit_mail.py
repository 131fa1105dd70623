"""Editing, withdrawing and previewing comments, with mail (issue 17 meets the mail of main).

Each comment is announced once: an edit is not a new comment, so readers who follow the post
hear nothing more when it is fixed, deleted, or held by the spam checks and approved again; the
writer hears of an edit that is held, as of any held comment. A preview subscribes nobody.
Through the real outbox and a real SMTP server on loopback (the jobs run in this process, as
`flask worker --drain` runs them).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from blog.discussion import DiscussionSettings, Moderation
from blog.extensions import db
from blog.jobs.models import Job
from blog.mail.models import MailAddress, Subscription
from blog.models import Comment, CommentStatus, User
from tests.helpers import factories
from tests.helpers.auth import login
from tests.helpers.comments import send_comment
from tests.helpers.html import csrf_token, form_fields, parse
from tests.helpers.mail import confirm, drain, mail_config


@pytest.fixture
def app_config(app_config, smtp, tmp_path):
    sender = {"MAIL_DEFAULT_SENDER": "Field Notes <blog@example.org>"}
    return {**app_config, **mail_config(smtp, tmp_path, **sender)}


@pytest.fixture
def post(app):
    factories.writer(app)
    return factories.post(app, "Talking back")


def subscriber(app, smtp, post) -> None:
    """Ada comments, follows every comment on the post and confirms; the inbox is emptied."""
    ada = app.test_client()
    response = send_comment(
        ada, post, author_name="Ada", author_email="ada@example.org", body="Mine.", subscribe="all"
    )
    assert response.status_code == 303
    drain(app)
    confirm(ada, smtp.wait_for(1)[-1])
    smtp.messages.clear()


def posted(response) -> int:
    assert response.status_code == 303, response.status_code
    return int(response.headers["Location"].rsplit("#comment-", 1)[1])


def edit(client, post, comment_id: int, **data):
    url = f"{factories.path_of(post)}comments/{comment_id}/edit"
    return client.post(url, data={"action": "save", **data})


def writer_approves(app, comment_id: int) -> None:
    writer = app.test_client()
    login(writer)
    token = csrf_token(writer, "/admin/comments")
    response = writer.post(f"/admin/comments/{comment_id}/approve", data={"csrf_token": token})
    assert response.status_code == 303


def status_of(app, comment_id: int) -> str | None:
    with app.app_context():
        return db.session.scalar(sa.select(Comment.status).where(Comment.id == comment_id))


def jobs(app, kind: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(Job.id)).where(Job.kind == kind))


def test_edits_a_hold_and_a_withdrawal_mail_no_reader_again(app, smtp, post):
    with app.app_context():
        db.session.scalar(sa.select(User)).email = "nell@example.org"  # notify: held (default)
        db.session.commit()
    subscriber(app, smtp, post)
    bo = app.test_client()
    mine = posted(send_comment(bo, post, author_name="Bo", body="First *words*."))
    drain(app)
    [news] = smtp.wait_for(1)
    assert news.to == "ada@example.org" and "<em>words</em>" in news.part("html")

    assert edit(bo, post, mine, body="Fixed *words*.").status_code == 303
    drain(app)
    assert len(smtp.messages) == 1  # a fixed typo is not news

    links = "See https://a.example https://b.example https://c.example"
    assert edit(bo, post, mine, body=links).status_code == 303
    assert status_of(app, mine) == CommentStatus.PENDING
    drain(app)
    _, held = smtp.wait_for(2)
    assert held.to == "nell@example.org"  # the writer is told that it waits, as for any hold
    assert held["Subject"] == "Comment awaiting moderation on “Talking back”"
    assert "c.example" in held.part("plain")

    writer_approves(app, mine)
    assert status_of(app, mine) == CommentStatus.APPROVED
    drain(app)
    assert len(smtp.messages) == 2  # approved again: the readers heard of it the first time
    assert jobs(app, "mail.comment") == 1

    assert edit(bo, post, mine, action="delete").status_code == 303
    assert status_of(app, mine) is None
    drain(app)
    assert len(smtp.messages) == 2


def test_a_held_comment_fixed_by_its_author_is_mailed_once_approved_with_its_new_text(
    app, smtp, post
):
    subscriber(app, smtp, post)
    with app.app_context():
        DiscussionSettings(moderation=Moderation.HOLD_ALL).save()
        db.session.commit()
    bo = app.test_client()
    mine = posted(send_comment(bo, post, author_name="Bo", body="Helld for now."))
    assert edit(bo, post, mine, body="Held for now, fixed.").status_code == 303
    drain(app)
    assert smtp.messages == []  # held: nobody but the writer (who has no address) may hear
    writer_approves(app, mine)
    drain(app)
    [news] = smtp.wait_for(1)
    assert news.to == "ada@example.org"
    assert "Held for now, fixed." in news.part("plain") and "Helld" not in news.part("plain")


def test_a_preview_keeps_the_subscribe_choice_and_subscribes_nobody(app, smtp, post):
    reader = app.test_client()
    page = reader.get(factories.path_of(post))
    _, fields = form_fields(page, page.request.host_url, "//form[@id='comment-form']")
    data = {
        **dict(fields),
        "author_name": "Ada",
        "author_email": "ada@example.org",
        "body": "Will *this* do?",
        "subscribe": "replies",
    }
    response = reader.post(factories.path_of(post) + "comments/preview", data=data)
    assert response.status_code == 200
    tree = parse(response)
    assert "<em>this</em>" in response.get_data(as_text=True)  # rendered, as posting would
    assert tree.xpath("//input[@name='subscribe' and @checked]/@value") == ["replies"]
    assert tree.xpath("//input[@name='author_email']/@value") == ["ada@example.org"]
    with app.app_context():
        for model in (Comment, Subscription, MailAddress, Job):
            assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0, model
    assert drain(app) == 0
    assert smtp.messages == []
