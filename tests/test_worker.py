"""The real worker process (`flask --app wsgi worker`) with a real SMTP server: the whole path
from the comment form to the received message, a worker killed mid-batch (nothing lost,
nothing sent twice), and the mail server down, then back."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from blog.extensions import db
from blog.jobs.models import Job, JobStatus
from blog.mail.models import MailAddress, MailMessage, MailStatus, Subscription
from blog.models import utcnow
from tests.helpers import factories
from tests.helpers.comments import send_comment
from tests.helpers.mail import confirm, mail_config
from tests.helpers.worker import WorkerProcess, worker_settings


@pytest.fixture
def app_config(app_config, smtp, tmp_path):
    return {
        **app_config,
        **mail_config(
            smtp, tmp_path, JOBS_POLL_SECONDS=0.05, JOBS_RETRY_SECONDS=0.5, MAIL_HOURLY_LIMIT=1000
        ),
    }


@pytest.fixture
def workers(app_config):
    """Start workers on the test's database and queue: workers() -> WorkerProcess."""
    started: list[WorkerProcess] = []
    config = worker_settings(app_config)

    def start() -> WorkerProcess:
        started.append(WorkerProcess(config))
        return started[-1]

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def post(app):
    factories.writer(app)
    return factories.post(app, "Talking back")


def subscribers(app, post, count: int) -> list[str]:
    """Confirmed readers following every comment on post."""
    emails = [f"reader{n:02}@example.org" for n in range(count)]
    with app.app_context():
        for email in emails:
            address = MailAddress(email=email, confirmed_at=utcnow())
            db.session.add(address)
            db.session.flush()
            db.session.add(Subscription(address_id=address.id, post_id=post.id))
        db.session.commit()
    return emails


def test_the_worker_delivers_what_the_comment_form_caused(app, client, smtp, post, workers):
    worker = workers()
    assert "Mail: sent through 127.0.0.1:" in worker.output
    response = send_comment(
        client,
        post,
        author_name="Ada",
        author_email="ada@example.org",
        body="Tell me.",
        subscribe="all",
    )
    assert response.status_code == 303
    [confirmation] = smtp.wait_for(1)
    confirm(client, confirmation)
    send_comment(app.test_client(), post, author_name="Bo", body="Told you.")
    _, news = smtp.wait_for(2)
    assert news.to == "ada@example.org" and "Told you." in news.part("plain")
    assert news["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    worker.stop()
    assert worker.process.returncode == 0


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(app, smtp, post, workers):
    emails = subscribers(app, post, 12)
    holding, release = threading.Event(), threading.Event()

    def hold_the_fifth(envelope):
        # The server has accepted four; it holds its answer to the fifth while the worker dies.
        if len(smtp.messages) == 4 and not release.is_set():
            holding.set()
            release.wait(30)
            return "451 4.3.0 Try again later"  # it was never accepted
        return None

    smtp.gate = hold_the_fifth
    worker = workers()
    send_comment(app.test_client(), post, author_name="Bo", body="News for twelve.")
    assert holding.wait(60), worker.output
    worker.kill()
    release.set()
    with app.app_context():
        states = dict(
            db.session.execute(
                sa.select(MailMessage.status, sa.func.count(MailMessage.id)).group_by(
                    MailMessage.status
                )
            ).all()
        )
        assert states == {MailStatus.SENT: 4, MailStatus.SENDING: 1, MailStatus.QUEUED: 7}
    second = workers()
    assert "Taken up again from a worker that died: 1 job(s)." in second.output
    received = smtp.wait_for(12)
    assert sorted(m.to for m in received) == emails  # every one, each once
    assert len({m["Message-ID"] for m in received}) == 12
    second.stop()  # Ctrl-C: it finishes marking the last one sent, then exits
    assert len(smtp.messages) == 12
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count(MailMessage.id)).where(
                    MailMessage.status == MailStatus.SENT
                )
            )
            == 12
        )
        assert set(db.session.scalars(sa.select(Job.status))) == {JobStatus.DONE}


def test_mail_waits_while_the_server_is_down_and_goes_when_it_is_back(app, smtp, post, workers):
    [email] = subscribers(app, post, 1)
    smtp.stop()
    worker = workers()
    response = send_comment(app.test_client(), post, author_name="Bo", body="Are you there?")
    assert response.status_code == 303  # posting does not wait for mail
    worker.wait_for_output("failed (attempt 1 of")
    assert "Could not reach the mail server 127.0.0.1" in worker.output
    smtp.start()
    [mail] = smtp.wait_for(1)
    assert mail.to == email and "Are you there?" in mail.part("plain")
