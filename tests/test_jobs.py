"""The background-job outbox (blog.jobs): recorded with the change or not at all, run once,
retried with backoff, kept when it keeps failing, taken up again after a dead worker.

A kind of job registered by this module ("test.job") stands in for mail, image sizes and
webmentions: the outbox knows nothing about any of them.
"""

from __future__ import annotations

import os
import socket
import subprocess
from datetime import timedelta

import pytest
import sqlalchemy as sa

from blog import create_app
from blog.extensions import db
from blog.jobs import outbox, queue, registry, runner
from blog.jobs.models import Job, JobStatus
from blog.models import utcnow

CALLS: list[dict] = []
# What the test kind does next: None (succeed), an exception to raise.
OUTCOME: list[BaseException | None] = [None]


def _handler(job: Job) -> None:
    CALLS.append(dict(job.payload))
    if OUTCOME[0] is not None:
        raise OUTCOME[0]


registry.register("test.job", _handler, lambda job: f"Test job {job.payload.get('n')}")


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear()
    OUTCOME[0] = None
    yield
    OUTCOME[0] = None


@pytest.fixture
def app_config(app_config, tmp_path):
    return {
        **app_config,
        "JOBS_STORAGE_URL": f"sqlite:///{tmp_path / 'queue.sqlite'}",
        "JOBS_MAX_ATTEMPTS": 3,
        "JOBS_RETRY_SECONDS": 10,
        "JOBS_RETRY_MAX_SECONDS": 15,
    }


def job(app, job_id: int) -> Job:
    with app.app_context():
        row = db.session.get(Job, job_id)
        db.session.expunge(row)
        return row


def record(app, n: int = 1, **options) -> int:
    with app.app_context():
        job_id = outbox.record("test.job", {"n": n}, **options)
        db.session.commit()
        return job_id


def make_due(app, job_id: int) -> None:
    with app.app_context():
        db.session.execute(sa.update(Job).where(Job.id == job_id).values(run_after=utcnow()))
        db.session.commit()


def run(app, job_id: int):
    with app.app_context():
        return runner.run(job_id)


def test_a_job_exists_and_is_queued_only_when_its_transaction_commits(app):
    huey = queue.of(app).huey
    with app.app_context():
        outbox.record("test.job", {"n": 1})
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 0
    assert huey.pending_count() == 0
    job_id = record(app)
    assert huey.pending_count() == 1
    [task] = huey.pending()
    assert task.name == "run_job" and task.args == (job_id,)
    # The worker's side of that task: it runs the job.
    huey.execute(huey.dequeue())
    assert CALLS == [{"n": 1}]
    assert job(app, job_id).status == JobStatus.DONE


def test_a_job_for_later_is_scheduled_for_its_time(app):
    huey = queue.of(app).huey
    when = utcnow() + timedelta(hours=1)
    job_id = record(app, run_after=when)
    [task] = huey.pending()
    assert task.args == (job_id,)
    assert abs(task.eta - when.replace(tzinfo=None)) < timedelta(seconds=1)  # huey keeps UTC


def test_recording_the_same_key_twice_keeps_one_job(app):
    first = record(app, key="event-1")
    assert record(app, key="event-1") is None
    assert first is not None
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 1


def test_a_failing_job_is_retried_with_backoff_then_kept_as_failed(app):
    OUTCOME[0] = RuntimeError("the far end said no")
    job_id = record(app)
    before = utcnow()
    again = run(app, job_id)
    row = job(app, job_id)
    assert row.status == JobStatus.PENDING and row.attempts == 1
    assert row.last_error == "RuntimeError: the far end said no"
    assert again == row.run_after
    assert timedelta(seconds=9) < row.run_after - before < timedelta(seconds=12)
    assert run(app, job_id) is None  # not due yet: nothing runs
    assert len(CALLS) == 1
    make_due(app, job_id)
    before = utcnow()
    run(app, job_id)
    row = job(app, job_id)
    assert row.attempts == 2 and timedelta(seconds=14) < row.run_after - before < timedelta(
        seconds=17
    )
    make_due(app, job_id)
    assert run(app, job_id) is None
    row = job(app, job_id)
    assert row.status == JobStatus.FAILED and row.attempts == 3 and row.finished_at is not None
    assert row.last_error == "RuntimeError: the far end said no"
    with app.app_context():
        assert runner.failed_count() == 1
        assert runner.due_jobs() == []  # kept, never run again by itself
    # The back office's Retry: due now, attempts counted afresh, queued after the commit.
    OUTCOME[0] = None
    with app.app_context():
        assert outbox.retry([job_id]) == [job_id]
        db.session.commit()
    assert job(app, job_id).status == JobStatus.PENDING and job(app, job_id).attempts == 0
    huey = queue.of(app).huey
    huey.execute(huey.dequeue())  # the first task: the job's recording
    huey.execute(huey.dequeue())  # the retry's
    assert job(app, job_id).status == JobStatus.DONE and len(CALLS) == 4


def test_a_permanent_error_fails_at_once(app):
    OUTCOME[0] = registry.PermanentError("The mail server refused the address: 550 no")
    job_id = record(app)
    run(app, job_id)
    row = job(app, job_id)
    assert row.status == JobStatus.FAILED and row.attempts == 1
    assert row.last_error == "The mail server refused the address: 550 no"


def test_a_postponed_job_waits_without_spending_an_attempt(app):
    later = utcnow() + timedelta(minutes=30)
    OUTCOME[0] = registry.Postpone(later, "not yet")
    job_id = record(app)
    assert run(app, job_id) == later
    row = job(app, job_id)
    assert row.status == JobStatus.PENDING and row.attempts == 0 and row.run_after == later


def test_a_job_without_a_handler_fails_and_says_so(app):
    with app.app_context():
        job_id = outbox.record("test.unknown", {})
        db.session.commit()
    run(app, job_id)
    row = job(app, job_id)
    assert row.status == JobStatus.FAILED
    assert "no handler is registered for jobs of kind 'test.unknown'" in row.last_error


def test_a_job_is_claimed_by_one_worker_and_a_stale_claim_expires(app):
    job_id = record(app)
    with app.app_context():
        assert runner.claim(job_id) is True
        assert runner.claim(job_id) is False  # held: a second nudge does nothing
        assert runner.due_jobs() == []
        db.session.execute(
            sa.update(Job)
            .where(Job.id == job_id)
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        assert runner.due_jobs() == [job_id]  # its worker is presumed dead
        assert runner.claim(job_id) is True


def test_jobs_of_a_dead_worker_on_this_machine_are_taken_up_at_once(app):
    host = socket.gethostname()
    dead, alive, elsewhere = record(app, 1), record(app, 2), record(app, 3)
    child = subprocess.Popen(["true"])  # a pid that is surely not running: a reaped child's
    child.wait()
    lease = utcnow() + timedelta(hours=1)
    with app.app_context():
        for job_id, holder in (
            (dead, f"{host}:{child.pid}"),
            (alive, f"{host}:{os.getppid()}"),
            (elsewhere, f"another-host:{child.pid}"),
        ):
            db.session.execute(
                sa.update(Job)
                .where(Job.id == job_id)
                .values(status=JobStatus.RUNNING, locked_by=holder, locked_until=lease)
            )
        db.session.commit()
        assert runner.release_dead_workers() == [dead]
        assert runner.due_jobs() == [dead]
        assert runner.run_due() == 1
    assert CALLS == [{"n": 1}]
    assert job(app, alive).status == job(app, elsewhere).status == JobStatus.RUNNING


def test_finished_jobs_are_pruned_and_failed_ones_kept(app):
    done, failed = record(app, 1), record(app, 2)
    long_ago = utcnow() - timedelta(days=60)
    with app.app_context():
        db.session.execute(
            sa.update(Job).where(Job.id == done).values(status=JobStatus.DONE, finished_at=long_ago)
        )
        db.session.execute(
            sa.update(Job)
            .where(Job.id == failed)
            .values(status=JobStatus.FAILED, finished_at=long_ago)
        )
        db.session.commit()
        assert runner.prune() == 1
        assert db.session.scalars(sa.select(Job.id)).all() == [failed]


def test_the_queue_lives_where_the_settings_say(app_config, tmp_path, redis_url):
    """SQLite (the default, in instance/ outside tests) or Redis; anything else is refused."""
    for url, kind in (
        (f"sqlite:///{tmp_path / 'q.sqlite'}", "SqliteStorage"),
        (redis_url, "RedisStorage"),
    ):
        app = create_app({**app_config, "JOBS_STORAGE_URL": url})
        storage = queue.of(app).huey.storage
        assert kind in [cls.__name__ for cls in type(storage).__mro__]
        record(app)
        assert queue.of(app).huey.pending_count() == 1
        queue.of(app).huey.flush()
    with pytest.raises(ValueError, match="JOBS_STORAGE_URL"):
        queue.storage_url(type("App", (), {"config": {"JOBS_STORAGE_URL": "ftp://x"}})())


def test_worker_drain_runs_what_is_due_and_says_where_mail_goes(app):
    record(app, 1)
    record(app, 2, run_after=utcnow() + timedelta(hours=1))  # not due: left for later
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["worker", "--drain"])
    assert result.exit_code == 0, result.output
    assert "Mail: no MAIL_SERVER is configured" in result.output
    assert "SERVER_NAME is not set" in result.output  # mails could not link to the blog
    assert "Ran 1 job(s); none is due now." in result.output
    assert CALLS == [{"n": 1}]


def test_a_queue_that_cannot_be_reached_loses_no_job(app_config, caplog):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = {**app_config, "JOBS_STORAGE_URL": f"redis://127.0.0.1:{port}/0"}
    app = create_app(config)
    job_id = record(app)  # the change commits; queueing fails after it
    assert "could not queue jobs" in caplog.text
    with app.app_context():
        assert runner.due_jobs() == [job_id]  # the sweep's list: it runs all the same
        runner.run_due()
    assert CALLS == [{"n": 1}]
