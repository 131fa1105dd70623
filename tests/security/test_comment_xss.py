"""The XSS corpus through every comment field via the real endpoint, then everywhere it shows.

Name, email, website and comment, over the plain form and htmx: each answer (the new comment's
fragment, a 422 form echoing the input) and then the post page, the post's and the site's
comment feeds and the back office queue are parsed the way a browser does: nothing runs.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from blog.comments import store
from blog.extensions import db
from blog.models import Comment, CommentStatus
from tests.helpers import factories
from tests.helpers.auth import login
from tests.helpers.html import parse, text
from tests.helpers.xss import PAYLOADS, executable_content, feed_html

HX = {"HX-Request": "true"}


# What a page or feed shows of a stored comment does not depend on the engine; what a comment
# field may hold on PostgreSQL (NUL, any byte) is fuzzed through the same endpoint in both
# passes by tests/security/test_fuzz.py. It was the slowest test of the PostgreSQL pass (664 s
# of 3,517 on a busy machine).
@pytest.mark.engine_independent
def test_payloads_in_every_comment_field_never_execute(app, client):
    factories.writer(app)  # for the back office
    post = factories.post(app, "Say anything", "Readers' words, hostile ones too.")
    page = factories.permalink(app, post)
    comments = page + "comments"
    client.get(page)
    headers: dict[str, str] = {}  # readers' forms carry no token (blog.origin guards them)

    failures: list[tuple[str, int, str, list[str]]] = []

    def check(what: str, i: int, response) -> None:
        problems = executable_content(response.data) if response.status_code != 303 else []
        if response.status_code >= 500:
            problems.append(f"status {response.status_code}")
        if problems:
            failures.append((what, i, PAYLOADS[i], problems[:3]))

    kinds: dict[str, dict[int, int]] = {}
    for i, payload in enumerate(PAYLOADS):
        # Both paths; the page a plain form gets back grows with every comment, so only a tenth.
        plain = i % 10 == 0
        sent = {
            # Name and comment: stored, then shown everywhere.
            "name+body": {"author_name": payload[:100], "body": payload},
            # Email and website as typed: nearly all refused (422), the form echoing them.
            "email+url": {
                "author_name": f"Reader {i}",
                "body": f"Comment {i} with a hostile address",
                "author_email": payload,
                "author_url": payload,
            },
            # A website that is a real http URL carrying the payload: stored, shown as a link.
            "url": {
                "author_name": f"Linker {i}",
                "body": f"Comment {i} with a hostile link",
                "author_email": f"reader{i}@example.org",
                "author_url": "https://example.org/" + payload[:400].replace(" ", "%20"),
            },
        }
        for kind, values in sent.items():
            extra = {} if plain else HX
            response = client.post(comments, headers={**headers, **extra}, data=values)
            by_status = kinds.setdefault(kind, {})
            by_status[response.status_code] = by_status.get(response.status_code, 0) + 1
            check(kind, i, response)
    assert not failures, failures[:5]
    # Names and bodies are kept (a repeated corpus line is a duplicate: 409), hostile emails and
    # URLs refused, links that are http URLs kept.
    assert kinds["name+body"].get(422, 0) == 0, kinds
    assert kinds["email+url"].get(422, 0) > len(PAYLOADS) * 0.9, kinds
    assert kinds["url"].get(200, 0) + kinds["url"].get(303, 0) > len(PAYLOADS) * 0.9, kinds

    # Hold a third of them, bin another third: the queue and the spam folder show them.
    with app.app_context():
        ids = list(db.session.scalars(sa.select(Comment.id).order_by(Comment.id)))
        for n, comment_id in enumerate(ids):
            if n % 3:
                comment = db.session.get(Comment, comment_id)
                comment.reason = "held for the XSS test"
                held = CommentStatus.PENDING if n % 3 == 1 else CommentStatus.SPAM
                store.set_status([comment], held)
        db.session.commit()

    pages = []
    reader = client.get(page)
    pages.append((page, reader))
    # A reader who wrote held comments sees them too (the held cookie holds the last 50).
    for url in (
        page + "comments.atom",
        page + "comments.rss",
        "/feeds/comments.atom",
        "/feeds/comments.rss",
    ):
        pages.append((url, client.get(url)))
    writer_client = app.test_client()
    login(writer_client)
    for status in ("pending", "spam", "approved"):
        for n in range(1, len(ids) // 200 + 2):
            url = f"/admin/comments?status={status}&per_page=200&page={n}"
            pages.append((url, writer_client.get(url)))

    problems_by_page = []
    for url, response in pages:
        assert response.status_code in (200, 404), (url, response.status_code)
        if response.status_code != 200:
            continue
        if response.mimetype == "text/html":
            problems = executable_content(response.data)
        else:
            problems = [p for html in feed_html(response.data) for p in executable_content(html)]
        if problems:
            problems_by_page.append((url, problems[:3]))
    assert not problems_by_page, problems_by_page[:5]

    # What was stored is shown as typed: the names as text on the page and in the queue.
    shown = {
        text(el)
        for el in parse(reader).iter()
        if "p-author" in (el.get("class") or "") or "comment-author" in (el.get("class") or "")
    }
    with app.app_context():
        approved = db.session.scalars(
            sa.select(Comment.author_name).where(Comment.status == CommentStatus.APPROVED).limit(50)
        ).all()
    missing = [n for n in approved if " ".join(n.split()) and " ".join(n.split()) not in shown]
    assert not missing, missing[:5]
