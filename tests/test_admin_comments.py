"""Moderating: the queue and spam folder, one-click actions in place, bulk actions, replies."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from blog.comments.store import add_comment
from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, utcnow
from tests.admin_helpers import NS, csrf_token, login, make_writer, parse, text_of


@pytest.fixture
def writer(demo):
    return make_writer()


@pytest.fixture
def client_in(client, writer):
    login(client)
    return client


@pytest.fixture
def post(demo) -> Post:
    return db.session.scalars(Post.published()).first()


def _comment(post: Post, name: str, status=CommentStatus.PENDING, minutes_ago=0, **extra):
    comment = add_comment(
        post,
        author_name=name,
        author_email=f"{name.lower()}@example.org",
        author_url=f"https://{name.lower()}.example.org/",
        body=f"Hello from {name}",
        status=status,
        ip="198.51.100.7",
        created_at=utcnow() - timedelta(minutes=minutes_ago),
        reason="First comment from this email" if status == CommentStatus.PENDING else "",
        **extra,
    )
    db.session.commit()
    return comment


def _rows(html: bytes) -> list:
    return parse(html).findall(".//h:li[@class]", NS)


def _queue_ids(html: bytes) -> list[int]:
    return [int(r.get("id").rsplit("-", 1)[1]) for r in _rows(html) if r.get("id")]


def test_queue_lists_pending_comments_newest_first_with_everything(client_in, post):
    old = _comment(post, "Olga", minutes_ago=30)
    new = _comment(post, "Nadia", minutes_ago=1)
    _comment(post, "Sven", status=CommentStatus.SPAM)
    response = client_in.get("/admin/comments")
    assert response.status_code == 200
    assert _queue_ids(response.data) == [new.id, old.id]
    row = parse(response.data).find(f".//h:li[@id='queue-comment-{new.id}']", NS)
    text = text_of(row)
    for expected in [
        "Nadia",
        "nadia@example.org",
        "https://nadia.example.org/",
        "198.51.100.7",
        post.title,
        "Hello from Nadia",
        "First comment from this email",
    ]:
        assert expected in text, expected
    spam = client_in.get("/admin/comments?status=spam")
    assert [text_of(r.find(".//h:strong", NS)) for r in _rows(spam.data)] == ["Sven"]


@pytest.mark.parametrize(
    ("url", "status"),
    [("approve", CommentStatus.APPROVED), ("spam", CommentStatus.SPAM)],
)
def test_one_click_actions_in_place_with_htmx(client_in, post, hx, url, status):
    comment = _comment(post, "Nadia")
    count, revision = post.comment_count, post.revision
    token = csrf_token(client_in, "/admin/comments")
    response = client_in.post(
        f"/admin/comments/{comment.id}/{url}", data={"csrf_token": token}, headers=hx
    )
    assert response.status_code == 200
    tree = parse(response.data)
    row = tree.find(".//h:li", NS)
    assert row.get("id") == f"queue-comment-{comment.id}" and row.get("data-status") == status
    assert tree.find(".//h:header", NS) is None  # a fragment, not a page
    # The navigation's pending count follows, out of band.
    count_span = tree.find(".//h:span[@id='pending-count']", NS)
    assert count_span.get("data-hx-swap-oob") == "true" and (count_span.text or "") == ""
    folders = {
        span.get("id"): span.text
        for span in tree.iterfind(".//h:span[@data-hx-swap-oob]", NS)
        if span.get("id").startswith("folder-count-")
    }
    expected_approved = str(
        db.session.scalar(
            sa.select(sa.func.count(Comment.id)).where(Comment.status == CommentStatus.APPROVED)
        )
    )
    assert folders == {
        "folder-count-pending": "0",
        "folder-count-approved": expected_approved,
        "folder-count-spam": "1" if status == CommentStatus.SPAM else "0",
    }
    db.session.refresh(comment)
    db.session.refresh(post)
    assert comment.status == status
    assert post.comment_count == count + (1 if status == CommentStatus.APPROVED else 0)
    assert post.revision > revision


def test_approving_shows_the_comment_to_readers(client_in, post):
    from flask import current_app

    from blog.permalinks import post_url

    comment = _comment(post, "Nadia")
    with current_app.test_request_context():
        url = post_url(post)
    reader = current_app.test_client()
    assert "Hello from Nadia" not in reader.get(url).get_data(as_text=True)
    token = csrf_token(client_in, "/admin/comments")
    response = client_in.post(f"/admin/comments/{comment.id}/approve", data={"csrf_token": token})
    assert response.status_code == 303  # without JavaScript: back to the queue
    assert response.headers["Location"] == "/admin/comments"
    assert "Hello from Nadia" in reader.get(url).get_data(as_text=True)


def test_delete_in_place(client_in, post, hx):
    comment = _comment(post, "Nadia", status=CommentStatus.APPROVED)
    count = post.comment_count
    token = csrf_token(client_in, "/admin/comments")
    response = client_in.post(
        f"/admin/comments/{comment.id}/delete", data={"csrf_token": token}, headers=hx
    )
    assert response.status_code == 200
    assert "Deleted" in response.get_data(as_text=True)
    assert db.session.get(Comment, comment.id) is None
    db.session.refresh(post)
    assert post.comment_count == count - 1


def test_actions_need_the_csrf_token(client_in, post, hx):
    comment = _comment(post, "Nadia")
    for action in ("approve", "spam", "delete"):
        response = client_in.post(f"/admin/comments/{comment.id}/{action}", headers=hx)
        assert response.status_code == 400
    # Actions are POST only.
    assert client_in.get(f"/admin/comments/{comment.id}/approve").status_code == 405
    db.session.refresh(comment)
    assert comment.status == CommentStatus.PENDING


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
def test_bulk_actions(client_in, post, action, expected):
    chosen = [_comment(post, name) for name in ("Ann", "Bo")]
    other = _comment(post, "Cy")
    count = post.comment_count
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
        found = db.session.get(Comment, comment.id)
        assert (found.status if found else None) == expected
    db.session.refresh(other)
    assert other.status == CommentStatus.PENDING
    db.session.refresh(post)
    assert post.comment_count == count + (2 if expected == CommentStatus.APPROVED else 0)
    page = client_in.get("/admin/comments").get_data(as_text=True)
    assert "2 comments" in page  # the flash says what happened


def test_bulk_with_nothing_selected_changes_nothing(client_in, post):
    comment = _comment(post, "Ann")
    token = csrf_token(client_in, "/admin/comments")
    response = client_in.post(
        "/admin/comments/bulk",
        data={"csrf_token": token, "action": "delete"},
        follow_redirects=True,
    )
    assert "Select at least one comment" in response.get_data(as_text=True)
    assert db.session.get(Comment, comment.id) is not None


def test_bulk_form_works_without_javascript(client_in, post):
    _comment(post, "Ann")
    tree = parse(client_in.get("/admin/comments").data)
    form = tree.find(".//h:form[@id='bulk']", NS)
    assert form.get("method") == "post" and form.get("action") == "/admin/comments/bulk"
    boxes = tree.findall(".//h:input[@name='ids']", NS)
    assert boxes and all(b.get("form") == "bulk" for b in boxes)
    # Each one-click action is a real form too, with htmx replacing the row in place.
    for row_form in tree.iterfind(".//h:li//h:form[@data-hx-post]", NS):
        assert row_form.get("action") == row_form.get("data-hx-post")
        assert row_form.get("data-hx-target") == "closest .queue-item"
        assert row_form.get("data-hx-swap") == "outerHTML"
        assert row_form.find(".//h:input[@name='csrf_token']", NS) is not None


def test_reply_from_the_back_office_as_the_author(client_in, post, writer, hx):
    comment = _comment(post, "Nadia")
    count = post.comment_count
    token = csrf_token(client_in, "/admin/comments")
    response = client_in.post(
        f"/admin/comments/{comment.id}/reply",
        data={"csrf_token": token, "body": "Thanks, Nadia!"},
        headers=hx,
    )
    assert response.status_code == 200
    assert "Reply published" in response.get_data(as_text=True)
    reply = db.session.scalar(sa.select(Comment).where(Comment.parent_id == comment.id))
    assert reply.user_id == writer.id and reply.author_name == "Nell Carrow"
    assert reply.status == CommentStatus.APPROVED
    db.session.refresh(comment)
    db.session.refresh(post)
    assert comment.status == CommentStatus.APPROVED  # replying approves what it answers
    assert post.comment_count == count + 2
    # The public page marks the reply as the author's.
    from flask import current_app

    from blog.permalinks import post_url

    with current_app.test_request_context():
        url = post_url(post)
    tree = parse(current_app.test_client().get(url).data)
    article = tree.find(f".//h:article[@id='comment-{reply.id}']", NS)
    assert "Author" in text_of(article)


def test_an_empty_reply_is_refused(client_in, post, hx):
    comment = _comment(post, "Nadia")
    token = csrf_token(client_in, "/admin/comments")
    response = client_in.post(
        f"/admin/comments/{comment.id}/reply", data={"csrf_token": token, "body": " "}, headers=hx
    )
    assert response.status_code == 422
    assert "Write a reply" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(Comment).where(Comment.parent_id == comment.id)) is None


def test_dashboard_counts(client_in, post):
    _comment(post, "Ann")
    _comment(post, "Bo")
    _comment(post, "Cy", status=CommentStatus.SPAM)
    _comment(post, "Di", status=CommentStatus.APPROVED)
    _comment(post, "Ed", status=CommentStatus.APPROVED, minutes_ago=60 * 24 * 8)
    tree = parse(client_in.get("/admin/").data)

    def stat(name: str) -> int:
        return int(tree.find(f".//h:span[@id='stat-{name}']", NS).text)

    assert stat("published") == 5 and stat("drafts") == 1 and stat("scheduled") == 0
    assert stat("pending") == 2 and stat("spam") == 1
    week_ago = utcnow() - timedelta(days=7)
    expected_week = db.session.scalar(
        sa.select(sa.func.count(Comment.id)).where(
            Comment.created_at >= week_ago, Comment.status == CommentStatus.APPROVED
        )
    )
    assert stat("week") == expected_week and expected_week >= 1
    links = [a.get("href") for a in tree.iterfind(".//h:a", NS)]
    assert "/admin/comments" in links and "/admin/comments?status=spam" in links
    # The navigation shows the pending count.
    nav = tree.find(".//h:nav[@class='admin-nav']", NS)
    assert "Comments 2" in text_of(nav)
