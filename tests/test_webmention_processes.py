"""Two blogs as they run for real, on one machine, reply to each other, moderated.

Each blog is a gunicorn (2 workers) and a `flask --app wsgi worker` (huey, with its queue in an
SQLite file of its own), on its own database (B on the engine of this pass, A on an SQLite file),
with FETCH_ALLOW_PRIVATE_ADDRESSES as two blogs on one development machine need. The writers use
their editors and back offices over HTTP, like a browser; nothing is run in this process but the
setup of the two databases (a writer and a post each, B's policy: hold every comment).
"""

from __future__ import annotations

import time

from blog import create_app
from blog.discussion import DiscussionSettings, Moderation
from blog.extensions import db
from tests.helpers.blogs import Browser, blog_processes, sqlite_copy
from tests.helpers.config import base_config
from tests.helpers.factories import path_of, post, writer
from tests.helpers.html import parse, text


def replies(browser: Browser, path: str) -> list[str]:
    _, _, page = browser.open(path)
    return [text(a) for a in parse(page).xpath("//article[contains(@class, 'comment-webmention')]")]


def wait_until(check, timeout: float = 60):
    """Poll check() until it returns something true (the workers run on their own time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"still waiting after {timeout} s")


def setup(uri: str, name: str, title: str, hold_all: bool = False):
    app = create_app(base_config(uri))
    writer(app, name, name.title())
    made = post(app, title, f"{name.title()} writes about {title.lower()}.", author=name)
    if hold_all:
        with app.app_context():
            DiscussionSettings(moderation=Moderation.HOLD_ALL).save()
            db.session.commit()
    with app.app_context():
        db.engine.dispose()
    return path_of(made)


def test_two_running_blogs_reply_to_each_other(database_uri, migrated_sqlite, tmp_path):
    a_db = sqlite_copy(migrated_sqlite, tmp_path, "a")
    a_path = setup(a_db, "ana", "Slow gardens")
    b_path = setup(database_uri, "bea", "Fast rivers", hold_all=True)

    def env(uri: str, name: str) -> dict[str, str]:
        return {
            "BLOG_SQLALCHEMY_DATABASE_URI": uri,
            "BLOG_SECRET_KEY": f"secret-of-{name}",
            "BLOG_RATELIMIT_ENABLED": "false",
            "BLOG_FETCH_ALLOW_PRIVATE_ADDRESSES": "true",
            "BLOG_JOBS_STORAGE_URL": f"sqlite:///{tmp_path / f'{name}-queue.sqlite'}",
            "BLOG_JOBS_POLL_SECONDS": "0.2",
        }

    with (
        blog_processes(env(a_db, "a"), tmp_path, "a") as a_url,
        blog_processes(env(database_uri, "b"), tmp_path, "b") as b_url,
    ):
        ana, bea = Browser(a_url), Browser(b_url)
        ana.login("ana")
        bea.login("bea")
        editor = "//form[@id='editor']"
        # Each answers the other's post on their own blog.
        status, _, _ = ana.submit(
            "/admin/posts/new",
            editor,
            ("publish", "Publish now"),
            title="Rivers are not fast",
            body=f"Bea says [rivers are fast]({b_url}{b_path}); I watched one all day.",
            in_reply_to=b_url + b_path,
        )
        assert status == 303
        status, _, _ = bea.submit(
            "/admin/posts/new",
            editor,
            ("publish", "Publish now"),
            title="Gardens are not slow",
            body=f"Ana finds [gardens slow]({a_url}{a_path}). Look at the weeds.",
            in_reply_to=a_url + a_path,
        )
        assert status == 303

        # A publishes at once (the default policy): Bea's reply appears under Ana's post.
        shown = wait_until(lambda: replies(ana, a_path))
        assert "Bea" in shown[0] and "Look at the weeds." in shown[0]
        assert "replied on 127.0.0.1" in shown[0]

        # B holds every comment: Ana's reply waits in Bea's queue, unseen by readers.
        def held():
            _, _, page = bea.open("/admin/comments")
            items = parse(page).xpath("//li[contains(@class, 'queue-item')]")
            return items if items and "I watched one all day." in text(items[0]) else None

        (item,) = wait_until(held)
        assert item.xpath(".//p[@class='queue-source']")
        assert replies(Browser(b_url), b_path) == []
        form = item.xpath(".//form[.//button[@data-action='approve']]")[0]
        values = [(i.get("name"), i.get("value")) for i in form.xpath(".//input")]
        status, _, _ = bea.open(form.get("action"), values)
        assert status == 303
        (shown,) = replies(Browser(b_url), b_path)
        assert "Ana" in shown and "I watched one all day." in shown

        # The editors say how sending went.
        _, _, page = ana.open("/admin/posts/")
        edit = parse(page).xpath("//a[contains(@href, '/edit')][.='Rivers are not fast']/@href")
        _, _, page = ana.open(edit[0])
        assert text(parse(page).xpath("//p[@id='sent-summary']")[0]) == "Sent to 1 site."
