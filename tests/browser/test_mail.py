"""Mail in Chromium: a reader subscribes from the comment form (htmx), confirms from the mail's
link, receives a reply, and leaves with one click: a live server, the real worker process and
a real SMTP server."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from blog import create_app
from blog.extensions import db
from blog.mail.models import Subscription
from tests.helpers import factories
from tests.helpers.comments import send_comment
from tests.helpers.factories import path_of
from tests.helpers.mail import link_to, mail_config
from tests.helpers.smtp import free_port
from tests.helpers.worker import WorkerProcess, wait_for_first_beat, worker_settings


@pytest.fixture
def site(app_config, smtp, tmp_path):
    """A live server whose SERVER_NAME is its own address (the mails link to it) and a worker."""
    port = free_port()
    host = f"127.0.0.1:{port}"
    config = {
        **app_config,
        **mail_config(smtp, tmp_path, SERVER_NAME=host, JOBS_POLL_SECONDS=0.05),
    }
    app = create_app(config)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    worker = WorkerProcess(worker_settings(config))
    try:
        wait_for_first_beat(app)
        yield app, f"http://{host}"
    finally:
        worker.stop()
        server.shutdown()
        thread.join(5)


def test_subscribe_confirm_receive_and_unsubscribe_in_one_click(page, site, smtp):
    app, base = site
    factories.writer(app)
    post = factories.post(app, "Talking back")
    page.goto(base + path_of(post))
    page.fill("#comment-author-name", "Ada")
    page.fill("#comment-author-email", "ada@example.org")
    page.fill("#comment-body", "Tell me when someone answers.")
    page.check("input[name='subscribe'][value='replies']")
    page.click("#comment-submit")
    status = page.locator("#comment-status")
    status.filter(has_text="follow the link").wait_for()
    assert page.is_checked("input[name='subscribe'][value='']")  # the fresh form: no email

    [confirmation] = smtp.wait_for(1)
    page.goto(link_to(confirmation, "/subscriptions/confirm/", base))
    page.click("#confirm-button")
    page.locator("#confirmed-title").wait_for()
    assert "Talking back: replies to your comment" in page.inner_text(".subscription-list")

    with app.app_context():
        thread = db.session.scalar(sa.select(Subscription.comment_id))
    response = send_comment(
        app.test_client(),
        post,
        author_name="Bo",
        body="Here is your answer.",
        parent_id=str(thread),
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    _, reply = smtp.wait_for(2)
    assert "Bo replied to Ada" in reply.part("plain")
    comment_link = link_to(reply, f"/{post.published_at:%Y/%m}/", base)
    page.goto(comment_link)
    answer = page.locator("#" + comment_link.split("#")[1])
    assert "Here is your answer." in answer.inner_text()

    page.goto(link_to(reply, "/subscriptions/unsubscribe/", base))
    page.click("#unsubscribe-button")
    page.locator("#unsubscribed-title").wait_for()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Subscription.id))) == 0


def test_the_choice_of_mail_moves_with_the_form(page, site):
    app, base = site
    factories.writer(app)
    post = factories.post(app, "Talking back")
    factories.comment(app, post, "Answer me.", author_name="Ada")
    page.goto(base + path_of(post))
    page.fill("#comment-author-email", "bo@example.org")
    page.check("input[name='subscribe'][value='all']")
    page.click("a.comment-reply")
    page.locator("#comment-form-title", has_text="Reply").wait_for()
    assert page.is_checked("input[name='subscribe'][value='all']")
    assert page.input_value("#comment-author-email") == "bo@example.org"
