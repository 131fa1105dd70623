"""Moderating: the queue and spam folder, one-click actions in place, bulk actions, replies."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, utcnow
from tests.helpers import factories
from tests.helpers.database import count
from tests.helpers.html import csrf_token, parse, text


@pytest.fixture
def writer(demo):
    return factories.writer(demo)


@pytest.fixture
def client_in(client, writer, auth):
    auth.login()
    return client


@pytest.fixture
def post(demo) -> Post:
    return factories.newest_post(demo)


def _comment(app, post: Post, name: str, status=CommentStatus.PENDING, minutes_ago=0, **extra):
    return factories.comment(
        app,
        post,
        f"Hello from {name}",
        author_name=name,
        author_email=f"{name.lower()}@example.org",
        author_url=f"https://{name.lower()}.example.org/",
        status=status,
        ip="198.51.100.7",
        created_at=utcnow() - timedelta(minutes=minutes_ago),
        reason="First comment from this email" if status == CommentStatus.PENDING else "",
        **extra,
    )


def _get(app, model, id_: int):
    """Read a row again by id, detached (None when it is gone)."""
    with app.app_context():
        row = db.session.get(model, id_)
        if row is not None:
            db.session.expunge(row)
        return row


def _rows(source) -> list:
    return parse(source).xpath("//li[@class]")


def _queue_ids(source) -> list[int]:
    return [int(r.get("id").rsplit("-", 1)[1]) for r in _rows(source) if r.get("id")]


def test_queue_lists_pending_comments_newest_first_with_everything(demo, client_in, post):
    old = _comment(demo, post, "Olga", minutes_ago=30)
    new = _comment(demo, post, "Nadia", minutes_ago=1)
    _comment(demo, post, "Sven", status=CommentStatus.SPAM)
    response = client_in.get("/admin/comments")
    assert response.status_code == 200
    assert _queue_ids(response) == [new.id, old.id]
    row = parse(response).find(f".//li[@id='queue-comment-{new.id}']")
    shown = text(row)
    for expected in [
        "Nadia",
        "nadia@example.org",
        "https://nadia.example.org/",
        "198.51.100.7",
        post.title,
        "Hello from Nadia",
        "First comment from this email",
    ]:
        assert expected in shown, expected
    spam = client_in.get("/admin/comments?status=spam")
    assert [text(r.find(".//strong")) for r in _rows(spam)] == ["Sven"]


@pytest.mark.parametrize(
    ("url", "status"),
    [("approve", CommentStatus.APPROVED), ("spam", CommentStatus.SPAM)],
)
def test_one_click_actions_in_place_with_htmx(demo, client_in, post, hx, url, status):
    comment = _comment(demo, post, "Nadia")
    before = _get(demo, Post, post.id)
    token = csrf_token(client_in, "/admin/comments")
    response = client_in.post(
        f"/admin/comments/{comment.id}/{url}", data={"csrf_token": token}, headers=hx
    )
    assert response.status_code == 200
    tree = parse(response)
    row = tree.find(".//li")
    assert row.get("id") == f"queue-comment-{comment.id}" and row.get("data-status") == status
    assert tree.find(".//header") is None  # a fragment, not a page
    # The navigation's pending count follows, out of band.
    count_span = tree.find(".//span[@id='pending-count']")
    assert count_span.get("data-hx-swap-oob") == "true" and (count_span.text or "") == ""
    folders = {
        span.get("id"): span.text
        for span in tree.iterfind(".//span[@data-hx-swap-oob]")
        if span.get("id").startswith("folder-count-")
    }
    expected_approved = str(count(demo, Comment, Comment.status == CommentStatus.APPROVED))
    assert folders == {
        "folder-count-pending": "0",
        "folder-count-approved": expected_approved,
        "folder-count-spam": "1" if status == CommentStatus.SPAM else "0",
    }
    after = _get(demo, Post, post.id)
    assert _get(demo, Comment, comment.id).status == status
    added = 1 if status == CommentStatus.APPROVED else 0
    assert after.comment_count == before.comment_count + added
    assert after.revision > before.revision


def test_approving_shows_the_comment_to_readers(demo, client_in, post):
    comment = _comment(demo, post, "Nadia")
    url = factories.permalink(demo, post)
    reader = demo.test_client()
    page = reader.get(url)
    assert "Hello from Nadia" not in page.get_data(as_text=True)
    # The reader is a reader: the writer's login in another client is not theirs.
    form = parse(page).xpath("//form[@id='comment-form']")[0]
    assert form.xpath(".//input[@name='author_name']/@value") in ([], [""])
    assert "Nell Carrow" not in text(form)
    token = csrf_token(client_in, "/admin/comments")
    response = client_in.post(f"/admin/comments/{comment.id}/approve", data={"csrf_token": token})
    assert response.status_code == 303  # without JavaScript: back to the queue
    assert response.headers["Location"] == "/admin/comments"
    assert "Hello from Nadia" in reader.get(url).get_data(as_text=True)


def test_delete_in_place(demo, client_in, post, hx):
    comment = _comment(demo, post, "Nadia", status=CommentStatus.APPROVED)
    before = _get(demo, Post, post.id).comment_count
    token = csrf_token(client_in, "/admin/comments")
    response = client_in.post(
        f"/admin/comments/{comment.id}/delete", data={"csrf_token": token}, headers=hx
    )
    assert response.status_code == 200
    assert "Deleted" in response.get_data(as_text=True)
    assert _get(demo, Comment, comment.id) is None
    assert _get(demo, Post, post.id).comment_count == before - 1


def test_actions_need_the_csrf_token(demo, client_in, post, hx):
    comment = _comment(demo, post, "Nadia")
    for action in ("approve", "spam", "delete"):
        response = client_in.post(f"/admin/comments/{comment.id}/{action}", headers=hx)
        assert response.status_code == 400
    # Actions are POST only.
    assert client_in.get(f"/admin/comments/{comment.id}/approve").status_code == 405
    assert _get(demo, Comment, comment.id).status == CommentStatus.PENDING


def test_actions_on_a_missing_comment_are_404(client_in, post):
    token = csrf_token(client_in, "/admin/comments")
    assert (
        client_in.post("/admin/comments/9999/approve", data={"csrf_token": token}).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("action", "expected"),
    [("approve", CommentStatus.APPROVED), ("spam", CommentStatus.SPAM), ("delete", None)],
)
def test_bulk_actions(demo, client_in, post, action, expected):
    chosen = [_comment(demo, post, name) for name in ("Ann", "Bo")]
    other = _comment(demo, post, "Cy")
    before = _get(demo, Post, post.id).comment_count
    token = csrf_token(client_in, "/admin/comments")
    response = client_in.post(
        "/admin/comments/bulk",
        data={
            "csrf_token": token,
            "ids": [c.id for c in chosen],
            "action": action,
            "next": "/admin/comments",
        },
    )
    assert response.status_code == 303 and response.headers["Location"] == "/admin/comments"
    for comment in chosen:
        found = _get(demo, Comment, comment.id)
        assert (found.status if found else None) == expected
    assert _get(demo, Comment, other.id).status == CommentStatus.PENDING
    added = 2 if expected == CommentStatus.APPROVED else 0
    assert _get(demo, Post, post.id).comment_count == before + added
    page = client_in.get("/admin/comments").get_data(as_text=True)
    assert "2 comments" in page  # the flash says what happened


def test_bulk_with_nothing_selected_changes_nothing(demo, client_in, post):
    comment = _comment(demo, post, "Ann")
    token = csrf_token(client_in, "/admin/comments")
    response = client_in.post(
        "/admin/comments/bulk",
        data={"csrf_token": token, "action": "delete"},
        follow_redirects=True,
    )
    assert "Select at least one comment" in response.get_data(as_text=True)
    assert _get(demo, Comment, comment.id) is not None


def test_bulk_form_works_without_javascript(demo, client_in, post):
    _comment(demo, post, "Ann")
    tree = parse(client_in.get("/admin/comments"))
    form = tree.find(".//form[@id='bulk']")
    assert form.get("method") == "post" and form.get("action") == "/admin/comments/bulk"
    boxes = tree.findall(".//input[@name='ids']")
    assert boxes and all(b.get("form") == "bulk" for b in boxes)
    # Each one-click action is a real form too, with htmx replacing the row in place.
    row_forms = tree.xpath("//li//form[@data-hx-post]")
    assert row_forms
    for row_form in row_forms:
        assert row_form.get("action") == row_form.get("data-hx-post")
        assert row_form.get("data-hx-target") == "closest .queue-item"
        assert row_form.get("data-hx-swap") == "outerHTML"
        assert row_form.find(".//input[@name='csrf_token']") is not None


def test_reply_from_the_back_office_as_the_author(demo, client_in, post, writer, hx):
    comment = _comment(demo, post, "Nadia")
    before = _get(demo, Post, post.id).comment_count
    token = csrf_token(client_in, "/admin/comments")
    response = client_in.post(
        f"/admin/comments/{comment.id}/reply",
        data={"csrf_token": token, "body": "Thanks, Nadia!"},
        headers=hx,
    )
    assert response.status_code == 200
    assert "Reply published" in response.get_data(as_text=True)
    with demo.app_context():
        reply = db.session.scalar(sa.select(Comment).where(Comment.parent_id == comment.id))
        db.session.expunge(reply)
    assert reply.user_id == writer.id and reply.author_name == "Nell Carrow"
    assert reply.status == CommentStatus.APPROVED
    # Replying approves what it answers.
    assert _get(demo, Comment, comment.id).status == CommentStatus.APPROVED
    assert _get(demo, Post, post.id).comment_count == before + 2
    # The public page marks the reply as the author's, for any reader.
    reader = parse(demo.test_client().get(factories.permalink(demo, post)))
    article = reader.find(f".//article[@id='comment-{reply.id}']")
    assert "Author" in text(article)
    # The reader's own form is not filled in with the writer's name.
    name = reader.xpath("//form[@id='comment-form']//input[@name='author_name']")[0]
    assert name.get("value", "") == ""


def test_an_empty_reply_is_refused(demo, client_in, post, hx):
    comment = _comment(demo, post, "Nadia")
    token = csrf_token(client_in, "/admin/comments")
    response = client_in.post(
        f"/admin/comments/{comment.id}/reply", data={"csrf_token": token, "body": " "}, headers=hx
    )
    assert response.status_code == 422
    assert "Write a reply" in response.get_data(as_text=True)
    assert count(demo, Comment, Comment.parent_id == comment.id) == 0


def test_dashboard_counts(demo, client_in, post):
    _comment(demo, post, "Ann")
    _comment(demo, post, "Bo")
    _comment(demo, post, "Cy", status=CommentStatus.SPAM)
    _comment(demo, post, "Di", status=CommentStatus.APPROVED)
    _comment(demo, post, "Ed", status=CommentStatus.APPROVED, minutes_ago=60 * 24 * 8)
    tree = parse(client_in.get("/admin/"))

    def stat(name: str) -> int:
        return int(tree.find(f".//span[@id='stat-{name}']").text)

    assert stat("published") == 5 and stat("drafts") == 1 and stat("scheduled") == 0
    assert stat("pending") == 2 and stat("spam") == 1
    week_ago = utcnow() - timedelta(days=7)
    expected_week = count(
        demo, Comment, Comment.created_at >= week_ago, Comment.status == CommentStatus.APPROVED
    )
    assert stat("week") == expected_week and expected_week >= 1
    links = [a.get("href") for a in tree.iterfind(".//a")]
    assert "/admin/comments" in links and "/admin/comments?status=spam" in links
    # The navigation shows the pending count.
    nav = tree.find(".//nav[@class='admin-nav']")
    assert "Comments 2" in text(nav)
