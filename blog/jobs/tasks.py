"""The huey side: the queue's storage, the task that runs a job, the sweep, periodic tasks.

huey carries nudges ("run job 12", "run job 12 at 14:05") from the web processes to the worker,
and runs the periodic tasks. It holds no state the blog cannot lose: every job is a row in the
blog's database (blog.jobs.models), so an emptied or lost huey queue costs at most a minute,
until the sweep finds the due rows again.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import huey
from flask import Flask

from blog.jobs import heartbeat, registry, runner


class _SqliteStorage(huey.storage.SqliteStorage):
    """huey's SQLite queue with synchronous=NORMAL, as the blog's own database has.

    huey leaves SQLite's default (FULL: an fsync at every commit) or offers OFF. Every comment
    that records a job enqueues a task after its commit, and the worker dequeues each: on this
    machine's disk an fsync cost 10-20 ms of wall time per enqueue (bench/bench_mail.py).
    NORMAL in WAL mode never corrupts the file; a power cut may lose the last few tasks, which
    the sweep finds again in the blog's database.
    """

    def _create_connection(self):
        connection = super()._create_connection()
        connection.execute("pragma synchronous=NORMAL")
        return connection


@dataclass
class JobQueue:
    huey: huey.Huey
    run_job: huey.api.TaskWrapper
    description: str


def make_huey(url: str) -> tuple[huey.Huey, str]:
    """Return the huey instance for a storage URL (blog.jobs.queue.storage_url), and a
    description of where it keeps its queue."""
    # Results are never read: every outcome is written to the job's row.
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        queue = huey.Huey("blog", storage_class=_SqliteStorage, filename=path, results=False)
        return queue, f"SQLite file {path}"
    if url == "memory://":
        return huey.MemoryHuey("blog", results=False), "memory (this process only)"
    return huey.RedisHuey("blog", url=_with_timeouts(url), results=False), "Redis"


def _with_timeouts(url: str) -> str:
    """Bound how long a request may wait for Redis after its commit (redis-py waits for ever
    by default, and an unreachable host holds a TCP connect for minutes): the job is in the
    database anyway, and the sweep queues what could not be queued."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.setdefault("socket_connect_timeout", "2")
    query.setdefault("socket_timeout", "5")
    return urlunsplit(parts._replace(query=urlencode(query)))


def build(app: Flask, url: str) -> JobQueue:
    """Create the app's queue and its tasks: run a job, sweep and beat every minute, the periodic
    ones."""
    queue, description = make_huey(url)

    @queue.task(name="run_job")
    def run_job(job_id: int) -> None:
        with app.app_context():
            again = runner.run(job_id)
        if again is not None:
            run_job.schedule(args=(job_id,), eta=again)

    @queue.periodic_task(huey.crontab(minute="*"), name="sweep")
    def sweep() -> None:
        with app.app_context():
            for job_id in runner.due_jobs():
                run_job(job_id)

    @queue.on_shutdown(name="clean_up")
    def clean_up() -> None:
        runner.clean_up()

    @queue.periodic_task(huey.crontab(minute="*"), name="heartbeat")
    def beat() -> None:
        """Say the worker is running (uploads ask before deciding who makes an image's sizes)."""
        with app.app_context():
            heartbeat.beat()

    @queue.periodic_task(huey.crontab(minute="17", hour="3"), name="prune_jobs")
    def prune() -> None:
        with app.app_context():
            runner.prune()

    for task in registry.periodic_tasks():
        queue.periodic_task(huey.crontab(**task.crontab), name=task.name)(
            _in_context(app, task.run)
        )
    return JobQueue(queue, run_job, description)


def _in_context(app: Flask, run):
    def periodic() -> None:
        with app.app_context():
            run()

    return periodic
