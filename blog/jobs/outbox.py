"""Recording jobs: in the caller's transaction, so a job exists exactly when its change does.

record() inserts the row with the session's connection and does not commit: the request that
adds a comment commits the comment and its jobs together, or neither. Once that transaction
commits, the jobs it recorded are handed to the queue to run now (or at their time). If that
hand-over is lost (huey's store unreachable, the process killed right after the commit), the
row is still there: the worker's sweep finds every due job it was never told about.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects import postgresql, sqlite

from blog.extensions import db
from blog.jobs import queue
from blog.jobs.models import Job, JobStatus
from blog.models import utcnow

log = logging.getLogger(__name__)
_RECORDED = "blog.jobs.recorded"


def record(
    kind: str, payload: dict[str, Any], *, key: str | None = None, run_after: datetime | None = None
) -> int | None:
    """Add a job to the current transaction; return its id, or None when its key exists.

    The key makes recording idempotent: approving a comment twice records one notification.
    """
    when = run_after or utcnow()
    dialect = sqlite if db.session.get_bind().dialect.name == "sqlite" else postgresql
    statement = dialect.insert(Job).values(kind=kind, payload=payload, key=key, run_after=when)
    if key is not None:
        # One statement, no race: two requests recording the same event keep one row.
        statement = statement.on_conflict_do_nothing(index_elements=["key"])
    job_id = db.session.scalar(statement.returning(Job.id))
    if job_id is not None:
        db.session.info.setdefault(_RECORDED, []).append((job_id, when))
    return job_id


@sa.event.listens_for(so.Session, "after_commit")
def _start_recorded(session: so.Session) -> None:
    """Tell the queue about the jobs the transaction just committed."""
    recorded = session.info.pop(_RECORDED, None)
    if not recorded:
        return
    try:
        queue.start(recorded)
    except Exception:  # the sweep will find them; the change itself is committed
        log.warning("could not queue jobs %s; the sweep will run them", recorded, exc_info=True)


@sa.event.listens_for(so.Session, "after_rollback")
def _forget_recorded(session: so.Session) -> None:
    """Jobs of a rolled-back transaction do not exist: never queue them."""
    session.info.pop(_RECORDED, None)


def retry(job_ids: list[int]) -> list[int]:
    """Make failed jobs due again now, with their attempts counted afresh; the caller commits.

    The back office's Retry: the error stays on the row until the next attempt replaces it.
    """
    now = utcnow()
    ids = db.session.scalars(
        sa.update(Job)
        .where(Job.id.in_(job_ids), Job.status == JobStatus.FAILED)
        .values(status=JobStatus.PENDING, attempts=0, run_after=now, finished_at=None)
        .returning(Job.id)
    ).all()
    db.session.info.setdefault(_RECORDED, []).extend((job_id, now) for job_id in ids)
    return list(ids)
