"""Production shape: gunicorn with several workers, several app servers on one database."""

from __future__ import annotations

import urllib.request
from datetime import UTC, datetime, timedelta

import html5lib

from blog.comments.store import add_comment
from blog.content import save_post
from blog.extensions import db
from blog.models import Post, PostStatus, User


def _fetch(url: str) -> tuple[int, object]:
    with urllib.request.urlopen(url, timeout=10) as response:
        doc = html5lib.parse(response.read(), namespaceHTMLElements=False)
        return response.status, doc


def _summary_counts(doc) -> dict[str, str]:
    """Map each post title on a listing to its comment-count link text."""
    found = {}
    for article in doc.findall(".//article"):
        title = article.find(".//h2/a").text
        links = article.findall(".//p[@class='summary-links']/a")
        found[title] = links[-1].text.strip()
    return found


def test_two_app_servers_share_one_database(app, gunicorn):
    first, second = gunicorn(workers=2), gunicorn(workers=2)
    author = User(username="w", display_name="W", password_hash="")
    db.session.add(author)
    db.session.flush()
    post = save_post(
        Post(),
        title="Shared state",
        body="Both servers read the same database.",
        author_id=author.id,
        tags=[],
        status=PostStatus.PUBLISHED,
        published_at=datetime.now(UTC) - timedelta(minutes=1),
    )
    db.session.commit()
    for server in (first, second):
        status, doc = _fetch(server.url + "/")
        assert status == 200
        assert _summary_counts(doc) == {"Shared state": "0 comments"}

    # A write made elsewhere shows at once on every server and in every worker: nothing is
    # cached in a process without a version read from the database.
    add_comment(post, author_name="Reader", body="Seen everywhere?")
    db.session.commit()
    for server in (first, second):
        for _ in range(4):  # enough requests to reach both workers
            assert _summary_counts(_fetch(server.url + "/")[1]) == {"Shared state": "1 comment"}
    assert len(first.worker_pids()) == 2
