"""The outbox table: one row per job to run, with its attempts, its error and its lease."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from blog.extensions import db
from blog.models import UTCDateTime, utcnow


class JobStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for run_after
    RUNNING = "running"  # claimed by a worker until locked_until
    DONE = "done"
    FAILED = "failed"  # kept for the back office after its last attempt


class Job(db.Model):
    __table_args__ = (
        # The sweep's question: which pending jobs are due, which running ones are stale.
        sa.Index("ix_job_status_run_after", "status", "run_after"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # The handler that runs it (blog.jobs.registry), e.g. "mail.send".
    kind: so.Mapped[str] = so.mapped_column(sa.String(40))
    # Recording a job whose key exists does nothing: one job per event, however often it fires.
    key: so.Mapped[str | None] = so.mapped_column(sa.String(200), unique=True)
    payload: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON, default=dict)
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default=JobStatus.PENDING)
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    run_after: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    # A running job's lease, and who holds it ("host:pid"): a dead holder's job is taken up again.
    locked_until: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    locked_by: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    last_error: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    finished_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind} {self.status}>"
