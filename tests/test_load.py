"""Nothing lost under load: concurrent commenters through gunicorn, and a worker killed mid-run.

Each commenter is a reader with its own cookie jar, posting the plain HTML form (the no-JS
path): it reads the comment form from the post page once, submits every input the page
gives (hidden ones included, empty ones left empty) and a unique token in the body. A
comment is acknowledged by a 303 (or 200); every acknowledged token must then be stored
exactly once and shown, on the post page and through the poll API the page uses.

BLOG_TEST_LOAD_COMMENTERS and BLOG_TEST_LOAD_COMMENTS scale the run (16 x 100 by default).
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from blog.extensions import db
from blog.models import Comment, Post
from tests.helpers import factories
from tests.helpers.config import ENGINE
from tests.helpers.html import form_fields, parse, text
from tests.helpers.servers import browser_opener

COMMENTERS = int(os.environ.get("BLOG_TEST_LOAD_COMMENTERS", 16))
COMMENTS_EACH = int(os.environ.get("BLOG_TEST_LOAD_COMMENTS", 100))
POSTS = 4  # the commenters share these posts, four to a post at the default 16
WORKERS = 4

# The server's environment for the load: one line per switch (rate limits off: a flood of
# comments from one IP is the point of the test, not an attack).
LOAD_ENV = {
    "BLOG_RATELIMIT_ENABLED": "false",  # flood control would hold back one address's load
    "BLOG_COMMENT_MIN_SECONDS": "0",  # the form is read once, just before the load starts
    "GUNICORN_ACCESSLOG": "",
}

TOKEN = re.compile(r"load-\d+-\d+-[0-9a-f]{12}")
ACKNOWLEDGED = {200, 303}


@dataclass
class Tally:
    """What the commenters saw: acknowledged tokens, other answers, connection failures."""

    acknowledged: list[str] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def record(self, token: str, status: int | None, failure: str = "") -> None:
        with self.changed:
            if status in ACKNOWLEDGED:
                self.acknowledged.append(token)
            if status is not None:
                self.statuses[status] += 1
            if failure:
                self.failures.append(failure)
            self.changed.notify_all()


def commenter(number: int, page_url: str, count: int, tally: Tally, go: threading.Event) -> None:
    """Read the form once, then post count comments with this reader's session cookie."""
    opener = browser_opener()
    with opener.open(page_url, timeout=60) as response:
        action, fields = form_fields(response.read(), page_url, "//form[@id='comment-form']")
    go.wait()
    for n in range(count):
        token = f"load-{number}-{n}-{uuid.uuid4().hex[:12]}"
        filled = {"author_name": f"Commenter {number}", "body": f"Comment {n}: {token}"}
        data = [(name, filled.get(name, value)) for name, value in fields]
        request = urllib.request.Request(action, urllib.parse.urlencode(data).encode())
        try:
            with opener.open(request, timeout=60) as response:
                response.read()
                tally.record(token, response.status)
        except urllib.error.HTTPError as error:
            body = error.read()
            failure = "" if error.code in ACKNOWLEDGED else f"{error.code} {body[:300]!r}"
            tally.record(token, error.code, failure)
        except OSError as error:  # the connection dropped: not acknowledged
            tally.record(token, None, f"{type(error).__name__}: {error}")


def run_load(page_urls: list[str], tally: Tally, during=None) -> float:
    """Run the commenters on the posts (round robin); call during(tally) meanwhile."""
    go = threading.Event()
    with ThreadPoolExecutor(COMMENTERS + 1) as pool:
        futures = [
            pool.submit(commenter, i, page_urls[i % len(page_urls)], COMMENTS_EACH, tally, go)
            for i in range(COMMENTERS)
        ]
        extra = pool.submit(during, tally, futures) if during else None
        started = time.monotonic()
        go.set()
        for future in futures:
            future.result()
        if extra:
            extra.result()
    return time.monotonic() - started


def make_posts(app) -> list[Post]:
    when = datetime.now(UTC) - timedelta(minutes=1)
    return [
        factories.post(app, f"Under load {i}", "Comment away.", published_at=when)
        for i in range(POSTS)
    ]


def page_url(server, post: Post) -> str:
    when = post.published_at
    return f"{server.url}/{when.year}/{when.month:02d}/{post.slug}/"


def stored_tokens(app) -> Counter:
    """Count every token in the database."""
    with app.app_context():
        bodies = db.session.scalars(sa.select(Comment.body)).all()
    return Counter(token for body in bodies for token in TOKEN.findall(body))


def shown_tokens(url: str) -> Counter:
    """Count the tokens in the comment bodies on the post page."""
    with urllib.request.urlopen(url, timeout=60) as response:
        doc = parse(response.read())
    return Counter(
        token
        for body in doc.xpath(
            "//article[contains(@class, 'comment')]//div[@class='comment-body e-content']"
        )
        for token in TOKEN.findall(text(body))
    )


def polled_tokens(url: str) -> Counter:
    """Count the tokens the page's poll API sends, walking ?after= to the end (204)."""
    found: Counter = Counter()
    after = 0
    while True:
        request = urllib.request.Request(
            f"{url}comments?after={after}", headers={"HX-Request": "true"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            if response.status == 204:
                return found
            doc = parse(response.read())
        found.update(
            TOKEN.findall(" ".join(doc.xpath("//div[contains(@class, 'comment-body')]//text()")))
        )
        after = int(doc.xpath("//input[@id='comment-after']/@value")[0])


def assert_all_stored_once(app, tally: Tally) -> Counter:
    stored = stored_tokens(app)
    lost = [t for t in tally.acknowledged if stored[t] == 0]
    doubled = [t for t in tally.acknowledged if stored[t] > 1]
    assert not lost, f"{len(lost)} acknowledged comments are not stored, e.g. {lost[:3]}"
    assert not doubled, f"{len(doubled)} comments stored more than once, e.g. {doubled[:3]}"
    return stored


def test_concurrent_commenters_lose_nothing(app, gunicorn):
    posts = make_posts(app)
    server = gunicorn(workers=WORKERS, **LOAD_ENV)
    urls = [page_url(server, post) for post in posts]
    tally = Tally()
    elapsed = run_load(urls, tally)
    print(f"\n{ENGINE}: {COMMENTERS * COMMENTS_EACH} comments in {elapsed:.1f} s, {tally.statuses}")

    assert not tally.failures, tally.failures[:5]
    assert tally.statuses == Counter({303: COMMENTERS * COMMENTS_EACH}), tally.statuses
    stored = assert_all_stored_once(app, tally)
    assert sum(stored.values()) == COMMENTERS * COMMENTS_EACH

    acknowledged = Counter(tally.acknowledged)
    shown, polled = Counter(), Counter()
    for url in urls:
        shown += shown_tokens(url)
        polled += polled_tokens(url)
    assert shown == acknowledged
    assert polled == acknowledged


def test_a_killed_worker_and_a_restart_lose_nothing(app, gunicorn, database_uri):
    posts = make_posts(app)
    server = gunicorn(workers=WORKERS, **LOAD_ENV)
    urls = [page_url(server, post) for post in posts]
    total = COMMENTERS * COMMENTS_EACH
    killed: list[int] = []

    def kill_a_worker(tally: Tally, futures) -> None:
        """SIGKILL one worker once a third of the comments are in."""
        with tally.changed:
            while len(tally.acknowledged) < total // 3:
                if all(f.done() for f in futures):
                    return
                tally.changed.wait(1)  # woken by every answer
        victim = server.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)

    tally = Tally()
    run_load(urls, tally, during=kill_a_worker)
    assert killed, "the load ended before a worker was killed"
    # The master replaced the worker; the requests it held may have dropped (not acknowledged).
    assert killed[0] not in server.worker_pids()
    assert len(server.worker_pids()) == WORKERS
    assert not [s for s in tally.statuses if s >= 500], tally.statuses
    assert len(tally.failures) <= 1, tally.failures  # a sync worker holds one request
    assert len(tally.acknowledged) >= total - 1
    print(f"\nkilled {killed}, {tally.statuses}, failures: {tally.failures}")

    server.stop()
    assert_all_stored_once(app, tally)
    if ENGINE == "sqlite":
        path = sa.engine.make_url(database_uri).database
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    restarted = gunicorn(workers=2, **LOAD_ENV)
    acknowledged = Counter(tally.acknowledged)
    shown = Counter()
    for post in posts:
        shown += shown_tokens(page_url(restarted, post))
    assert Counter({t: n for t, n in shown.items() if t in acknowledged}) == acknowledged
