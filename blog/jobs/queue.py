"""How the web asks the worker to run a job: where the queue lives, and the nudge after a commit.

The queue itself (huey, its storage and its tasks: blog.jobs.tasks) is built by the first
process that uses it, not by create_app(): huey imports the Redis and PostgreSQL clients
(about 17 MB in every process), and a web worker needs it only once it queues a job. Most
requests never do, and a blog without mail or webmentions never does at all.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask, current_app

from blog.models import utcnow

if TYPE_CHECKING:
    from blog.jobs.tasks import JobQueue

QUEUE_FILE = "jobs-queue.sqlite"
_building = threading.Lock()


def storage_url(app: Flask) -> str:
    """Return where the app's queue lives: JOBS_STORAGE_URL, or by default an SQLite file in
    instance/ (in-memory when testing). Raise ValueError for a place huey cannot use."""
    url = app.config["JOBS_STORAGE_URL"]
    if not url:
        if app.testing:
            return "memory://"
        return f"sqlite:///{Path(app.instance_path) / QUEUE_FILE}"
    if url == "memory://" or url.startswith(("redis://", "rediss://", "unix://", "sqlite:///")):
        return url
    raise ValueError(f"JOBS_STORAGE_URL must be redis://..., sqlite:///... or empty, not {url!r}")


def init_app(app: Flask) -> None:
    """Refuse a JOBS_STORAGE_URL huey cannot use when the app starts, not at its first job."""
    storage_url(app)


def of(app: Flask) -> JobQueue:
    """Return app's queue, building it on first use (once, even with threads)."""
    queue = app.extensions.get("jobs")
    if queue is None:
        with _building:
            queue = app.extensions.get("jobs")
            if queue is None:
                from blog.jobs import tasks  # huey: see the module's docstring

                queue = app.extensions["jobs"] = tasks.build(app, storage_url(app))
    return queue


def current() -> JobQueue:
    return of(current_app._get_current_object())


def start(recorded: list[tuple[int, datetime]]) -> None:
    """Ask the worker to run these jobs: now, or at their time."""
    queue = current()
    soon = utcnow() + timedelta(seconds=1)
    for job_id, when in recorded:
        if when <= soon:
            queue.run_job(job_id)
        else:
            queue.run_job.schedule(args=(job_id,), eta=when)
