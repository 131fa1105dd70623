"""Production shape: gunicorn with several workers, several app servers on one database."""

from __future__ import annotations

import urllib.request
from datetime import UTC, datetime, timedelta

from tests.helpers import factories
from tests.helpers.html import parse


def _fetch(url: str) -> tuple[int, object]:
    # Generous: a fresh worker loads the app on its first request, slow on a busy machine.
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.status, parse(response.read())


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
    post = factories.post(
        app,
        "Shared state",
        "Both servers read the same database.",
        published_at=datetime.now(UTC) - timedelta(minutes=1),
    )
    for server in (first, second):
        status, doc = _fetch(server.url + "/")
        assert status == 200
        assert _summary_counts(doc) == {"Shared state": "0 comments"}

    # A write made elsewhere shows at once on every server and in every worker: nothing is
    # cached in a process without a version read from the database.
    factories.comment(app, post, "Seen everywhere?", author_name="Reader")
    for server in (first, second):
        for _ in range(4):  # enough requests to reach both workers
            assert _summary_counts(_fetch(server.url + "/")[1]) == {"Shared state": "1 comment"}
    assert len(first.worker_pids()) == 2
