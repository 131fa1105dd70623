"""Running jobs: claim one, run its handler, then mark it done, or failed, or due again later.

Every step is its own short transaction, never open while a handler talks to the outside world:
  claim    pending (and due) or running with an expired lease -> running, attempts + 1, a lease
  finish   running -> done; or pending again at now + backoff; or failed after the last attempt
The claim is one conditional UPDATE, so two workers nudged about the same job (the queue and the
sweep, or two worker processes) cannot both run it. A worker that dies mid-job leaves its lease;
when it expires, or when a worker starts on the same machine and finds the holder's process gone,
the job runs again. Handlers are written to be run again safely (blog.mail.delivery's sent mark).
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from blog.extensions import db, write_transaction
from blog.jobs import registry
from blog.jobs.models import Job, JobStatus
from blog.models import utcnow

log = logging.getLogger("blog.jobs")
SWEEP_BATCH = 1000


def identity() -> str:
    """Name this process the way locked_by records it: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def backoff(attempts: int) -> timedelta:
    """Return how long to wait after the attempts-th failure: doubling, capped."""
    first = float(current_app.config["JOBS_RETRY_SECONDS"])
    cap = float(current_app.config["JOBS_RETRY_MAX_SECONDS"])
    return timedelta(seconds=min(cap, first * 2 ** max(0, attempts - 1)))


def _runnable(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(Job.status == JobStatus.PENDING, Job.run_after <= now),
        sa.and_(Job.status == JobStatus.RUNNING, Job.locked_until < now),
    )


def claim(job_id: int) -> bool:
    """Take the job for this process if it is due and nobody holds it; True when taken."""
    now = utcnow()
    lease = now + timedelta(seconds=current_app.config["JOBS_LEASE_SECONDS"])
    with write_transaction():
        result = db.session.execute(
            sa.update(Job)
            .where(Job.id == job_id, _runnable(now))
            .values(
                status=JobStatus.RUNNING,
                attempts=Job.attempts + 1,
                locked_until=lease,
                locked_by=identity(),
            )
        )
    return result.rowcount == 1


def run(job_id: int) -> datetime | None:
    """Run the job if it is due and free; return when it should run again, if it should."""
    if not claim(job_id):
        return None
    job = db.session.get(Job, job_id)
    kind, attempts, describe = job.kind, job.attempts, _describe(job)
    handler = registry.kind(kind)
    try:
        if handler is None:
            raise registry.PermanentError(f"no handler is registered for jobs of kind {kind!r}")
        handler.run(job)
    except registry.Postpone as postponed:
        db.session.rollback()
        _finish(job_id, JobStatus.PENDING, str(postponed), run_after=postponed.when, attempt=False)
        return postponed.when
    except Exception as error:
        db.session.rollback()
        message = error_text(error)
        if isinstance(error, registry.PermanentError) or attempts >= _max_attempts():
            log.error(
                "job %s (%s) failed for good after %d attempts: %s",
                job_id,
                describe,
                attempts,
                message,
            )
            _finish(job_id, JobStatus.FAILED, message)
            return None
        again = utcnow() + backoff(attempts)
        log.warning(
            "job %s (%s) failed (attempt %d of %d), next at %s: %s",
            job_id,
            describe,
            attempts,
            _max_attempts(),
            again.isoformat(timespec="seconds"),
            message,
        )
        _finish(job_id, JobStatus.PENDING, message, run_after=again)
        return again
    _finish(job_id, JobStatus.DONE, "")
    log.info("job %s done: %s", job_id, describe)
    return None


def _max_attempts() -> int:
    return max(1, int(current_app.config["JOBS_MAX_ATTEMPTS"]))


def _describe(job: Job) -> str:
    try:
        return describe(job)
    except Exception:  # a description must never stop a job
        return job.kind


def describe(job: Job) -> str:
    """Say what a job is about, for logs and the back office."""
    handler = registry.kind(job.kind)
    return handler.describe(job) if handler else job.kind


def error_text(error: BaseException) -> str:
    """One readable line (or a few) for the back office: what failed and why."""
    text = str(error).strip() or type(error).__name__
    if not isinstance(error, registry.PermanentError | registry.Postpone):
        text = f"{type(error).__name__}: {text}"
    return text[:2000]


def _finish(
    job_id: int,
    status: str,
    error: str,
    *,
    run_after: datetime | None = None,
    attempt: bool = True,
) -> None:
    values: dict = {"status": status, "locked_until": None, "locked_by": "", "last_error": error}
    if status in (JobStatus.DONE, JobStatus.FAILED):
        values["finished_at"] = utcnow()
    if run_after is not None:
        values["run_after"] = run_after
    if not attempt:
        values["attempts"] = Job.attempts - 1
    with write_transaction():
        db.session.execute(sa.update(Job).where(Job.id == job_id).values(**values))


def due_jobs(limit: int = SWEEP_BATCH) -> list[int]:
    """Return the jobs that should be running now and are not (the sweep's list), oldest first."""
    now = utcnow()
    ids = db.session.scalars(
        sa.select(Job.id).where(_runnable(now)).order_by(Job.run_after, Job.id).limit(limit)
    ).all()
    db.session.commit()  # end the read: an idle worker holds no transaction open
    return list(ids)


def release_dead_workers() -> list[int]:
    """Make the jobs held by dead processes of this machine runnable again; return their ids.

    A worker killed mid-job (SIGKILL, a crash, a power cut) leaves its lease behind; waiting for
    it to expire would delay the job by JOBS_LEASE_SECONDS. A process of this host whose pid
    no longer exists holds nothing. (A reused pid only makes us wait for the lease, as before.)
    """
    host = socket.gethostname()
    me = identity()
    rows = db.session.execute(
        sa.select(Job.id, Job.locked_by).where(
            Job.status == JobStatus.RUNNING, Job.locked_by.like(f"{host}:%")
        )
    ).all()
    dead = [job_id for job_id, holder in rows if holder != me and not _alive(holder)]
    if dead:
        with write_transaction():
            db.session.execute(
                sa.update(Job)
                .where(Job.id.in_(dead), Job.status == JobStatus.RUNNING)
                .values(
                    status=JobStatus.PENDING, locked_until=None, locked_by="", run_after=utcnow()
                )
            )
    db.session.commit()
    return dead


def _alive(holder: str) -> bool:
    try:
        pid = int(holder.rsplit(":", 1)[1])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError):
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def run_due(rounds: int = 100) -> int:
    """Run every due job in this process until none is left (jobs may record more); return how
    many ran. For `flask worker --drain` and tests: the same code path as the worker's."""
    ran = 0
    try:
        for _ in range(rounds):
            ids = due_jobs()
            if not ids:
                break
            for job_id in ids:
                run(job_id)
                ran += 1
    finally:
        clean_up()
    return ran


def clean_up() -> None:
    """Release what this thread's jobs kept open between jobs (connections)."""
    for cleanup in registry.cleanups():
        try:
            cleanup()
        except Exception:
            log.warning("a cleanup failed", exc_info=True)


def prune() -> int:
    """Delete finished jobs older than JOBS_KEEP_DAYS (failed ones stay until retried)."""
    before = utcnow() - timedelta(days=current_app.config["JOBS_KEEP_DAYS"])
    with write_transaction():
        result = db.session.execute(
            sa.delete(Job).where(Job.status == JobStatus.DONE, Job.finished_at < before)
        )
    return result.rowcount


def failed_count() -> int:
    """How many jobs failed for good (the back office's attention count)."""
    return db.session.scalar(sa.select(sa.func.count(Job.id)).where(Job.status == JobStatus.FAILED))
