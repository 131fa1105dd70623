"""`flask --app wsgi worker`: run the background jobs until stopped."""

from __future__ import annotations

import logging

import click
from flask import current_app

from blog.extensions import db
from blog.jobs import queue, registry, runner


@click.command("worker")
@click.option(
    "--threads",
    type=click.IntRange(1, 64),
    default=None,
    help="Jobs run at once (default: JOBS_WORKER_THREADS).",
)
@click.option(
    "--drain", is_flag=True, help="Run every job that is due now in this process, then exit."
)
def worker_command(threads: int | None, drain: bool) -> None:
    """Run background jobs (mail, webmentions, image sizes) until stopped.

    Ctrl-C (SIGINT) lets the running jobs finish; SIGTERM stops at once (an interrupted job
    runs again when a worker next starts on this machine, or when its lease expires).
    """
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s worker %(levelname)s %(name)s: %(message)s"
    )
    # huey says "executing run_job" for every task; the runner's own lines say what ran.
    logging.getLogger("huey").setLevel(logging.WARNING)
    logging.getLogger("huey.consumer").setLevel(logging.INFO)
    app = current_app._get_current_object()
    jobs = queue.current()
    for note in registry.startup_notes():
        click.echo(note())
    released = runner.release_dead_workers()
    if released:
        click.echo(f"Taken up again from a worker that died: {len(released)} job(s).")
    if drain:
        ran = runner.run_due()
        click.echo(f"Ran {ran} job(s); none is due now.")
        return
    consumer = jobs.huey.create_consumer(
        workers=threads or app.config["JOBS_WORKER_THREADS"],
        worker_type="thread",
        periodic=True,
        initial_delay=0.05,
        backoff=1.5,
        max_delay=float(app.config["JOBS_POLL_SECONDS"]),
    )
    # The sweep at start: what was recorded while no worker ran, or whose nudge was lost.
    due = runner.due_jobs()
    for job_id in due:
        jobs.run_job(job_id)
    db.session.remove()  # the main thread only watches the workers from now on
    click.echo(
        f"Worker ready: {consumer.workers} thread(s), queue in {jobs.description}, "
        f"{len(due)} job(s) due. Ctrl-C to stop."
    )
    consumer.run()
