"""Benchmark mail: what recording a mail job adds to posting a comment, and how many mails a
second the worker hands to an SMTP server.

Run: .venv/bin/python bench/bench_mail.py [--comments 150] [--rounds 6] [--mails 500]

1. Posting. The app (its factory, a migrated SQLite file, huey's queue in an SQLite file as by
   default) takes comments through the plain form with the Flask test client, in three modes
   that take turns round after round, so load from other work on the machine hits all alike:
     - "no mail hook": blog.mail.notify switched off, the code path before mail existed;
     - "no subscriber": the hook runs and finds nobody to tell (one indexed SELECT);
     - "job recorded": the post has a subscriber, so each comment records a "mail.comment"
       job in its transaction and, after the commit, puts a task in huey's queue.
   It prints the median wall time and CPU time per comment of each mode.
2. Sending. A post with --mails confirmed subscribers gets one comment; the real worker
   (`flask --app wsgi worker`, a separate process) fans it out and sends every mail to a
   local SMTP server (aiosmtpd, tests/helpers/smtp.py). It prints mails per second from the
   moment the comment's job was recorded to the last mail the server accepted, for one
   worker thread and for two.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from blog import create_app  # noqa: E402
from blog.comments import store  # noqa: E402
from blog.content import save_post  # noqa: E402
from blog.extensions import db, upgrade_database  # noqa: E402
from blog.jobs import queue  # noqa: E402
from blog.jobs.models import Job  # noqa: E402
from blog.mail import notify  # noqa: E402
from blog.mail.models import MailAddress, Subscription  # noqa: E402
from blog.models import Post, PostStatus, User, utcnow  # noqa: E402
from tests.helpers.html import form_fields  # noqa: E402
from tests.helpers.smtp import SMTPServer  # noqa: E402
from tests.helpers.worker import WorkerProcess, worker_settings  # noqa: E402

TEXT = (
    "I tried the notebook idea for a month and it stuck. The trick for me was a pocket-sized "
    "one, so it comes along on walks.\n\nThere is a good essay on this at "
    "https://example.com/notes/paper-and-pixels - <em>writing things down to forget them</em>."
)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_site(tmp: Path, smtp: SMTPServer | None = None) -> dict:
    config = {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'blog.sqlite'}",
        "SECRET_KEY": "bench",
        "SERVER_NAME": "localhost",
        "RATELIMIT_ENABLED": False,
        "COMMENT_MIN_SECONDS": 0,
        "JOBS_STORAGE_URL": f"sqlite:///{tmp / 'queue.sqlite'}",
        "JOBS_POLL_SECONDS": 0.05,
        "MAIL_HOURLY_LIMIT": 1000,
        **(smtp.config() if smtp else {}),
    }
    app = create_app(config)
    upgrade_database(app)
    with app.app_context():
        writer = User(username="nell", display_name="Nell Carrow", password_hash="")
        db.session.add(writer)
        db.session.flush()
        for title in ("Nobody listens", "Somebody listens"):
            save_post(
                Post(),
                title=title,
                body="A post.",
                author_id=writer.id,
                tags=[],
                status=PostStatus.PUBLISHED,
                published_at=utcnow() - timedelta(days=1),
            )
        db.session.commit()
    return {"app": app, "config": config}


def subscribe(app, post_slug: str, count: int) -> None:
    with app.app_context():
        post = db.session.scalar(sa.select(Post).where(Post.slug == post_slug))
        for n in range(count):
            address = MailAddress(email=f"reader{n:04}@example.org", confirmed_at=utcnow())
            db.session.add(address)
            db.session.flush()
            db.session.add(Subscription(address_id=address.id, post_id=post.id))
        db.session.commit()


def post_path(app, slug: str) -> str:
    with app.app_context():
        post = db.session.scalar(sa.select(Post).where(Post.slug == slug))
        return f"/{post.published_at:%Y/%m}/{post.slug}/"


def posting(args) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-mail-") as tmp:
        site = make_site(Path(tmp))
        app = site["app"]
        subscribe(app, "somebody-listens", 1)
        client = app.test_client()
        forms = {}
        for slug in ("nobody-listens", "somebody-listens"):
            page = client.get(post_path(app, slug))
            action, fields = form_fields(page, "http://localhost/", "//form[@id='comment-form']")
            forms[slug] = (action, dict(fields) | {"author_name": "Bench Reader"})
        hook = notify.comment_added
        modes = {
            "no mail hook (before mail)": ("nobody-listens", False),
            "no subscriber (hook finds nobody)": ("nobody-listens", True),
            "job recorded (post has a subscriber)": ("somebody-listens", True),
        }
        wall: dict[str, list[float]] = {name: [] for name in modes}
        cpu: dict[str, list[float]] = {name: [] for name in modes}
        n = 0
        for _ in range(args.rounds):
            for name, (slug, hooked) in modes.items():
                notify.comment_added = hook if hooked else (lambda comment: None)
                action, data = forms[slug]
                started, started_cpu = time.perf_counter(), time.process_time()
                for _ in range(args.comments):
                    n += 1
                    response = client.post(action, data=data | {"body": f"{TEXT} ({n})"})
                    assert response.status_code == 303, response.status_code
                wall[name].append((time.perf_counter() - started) / args.comments * 1000)
                cpu[name].append((time.process_time() - started_cpu) / args.comments * 1000)
        notify.comment_added = hook
        with app.app_context():
            jobs = db.session.scalar(sa.select(sa.func.count(Job.id)))
        queued = queue.of(app).huey.pending_count()
        print(f"\nPosting a comment (plain form, 303), {args.rounds} rounds x {args.comments}:")
        print("| mode | wall ms/comment (median) | CPU ms/comment (median) |")
        print("|---|---:|---:|")
        for name in modes:
            print(
                f"| {name} | {statistics.median(wall[name]):.2f} | "
                f"{statistics.median(cpu[name]):.2f} |"
            )
        base = statistics.median(wall["no mail hook (before mail)"])
        recorded = statistics.median(wall["job recorded (post has a subscriber)"])
        print(
            f"\nRecording the job costs {recorded - base:.2f} ms a comment "
            f"({(recorded / base - 1) * 100:.0f} %); jobs recorded: {jobs}, "
            f"huey tasks queued: {queued}."
        )


def sending(args) -> None:
    for threads in (1, 2):
        with tempfile.TemporaryDirectory(prefix="bench-mail-") as tmp:
            smtp = SMTPServer().start()
            try:
                site = make_site(Path(tmp), smtp)
                app = site["app"]
                subscribe(app, "somebody-listens", args.mails)
                worker = WorkerProcess(worker_settings(site["config"]), threads=threads)
                cpu_before = cpu_seconds(worker.process.pid)
                try:
                    with app.app_context():
                        post = db.session.scalar(
                            sa.select(Post).where(Post.slug == "somebody-listens")
                        )
                        started = time.perf_counter()
                        store.add_comment(post, author_name="Bo", body=TEXT)
                        db.session.commit()
                    smtp.wait_for(1, timeout=120)
                    first = time.perf_counter()
                    smtp.wait_for(args.mails, timeout=600)
                    done = time.perf_counter()
                    cpu = cpu_seconds(worker.process.pid) - cpu_before
                finally:
                    worker.stop()
                total = done - started
                print(
                    f"| {threads} | {args.mails} | {first - started:.2f} | {total:.2f} | "
                    f"{args.mails / total:.0f} | {(args.mails - 1) / (done - first):.0f} | "
                    f"{cpu / args.mails * 1000:.1f} |"
                )
            finally:
                smtp.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comments", type=int, default=150, help="comments per mode per round")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--mails", type=int, default=500, help="subscribers of the sent post")
    args = parser.parse_args()
    posting(args)
    print(f"\nSending {args.mails} mails about one comment (the real worker, aiosmtpd):")
    print(
        "| worker threads | mails | first mail after (s) | all sent after (s) "
        "| mails/s overall | mails/s once sending | worker CPU ms/mail |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    sending(args)


if __name__ == "__main__":
    main()
