"""Writing: the posts list, the editor, live preview, scheduling, unpublishing, deleting."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from blog.comments.store import add_comment
from blog.content import save_post
from blog.extensions import db
from blog.models import Comment, Post, PostStatus, Tag, utcnow
from blog.permalinks import post_url as _post_url
from tests.admin_helpers import NS, csrf_token, errors_by_field, login, make_writer, parse, text_of


@pytest.fixture
def writer(app):
    return make_writer()


@pytest.fixture
def client_in(client, writer):
    login(client)
    return client


def _post_data(client, **fields) -> dict:
    data = {
        "title": "Notes on moss",
        "slug": "",
        "body": "Moss grows *slowly*.\n\n<script>alert(1)</script>",
        "excerpt": "",
        "tags": "nature, Walks, nature",
        "comments_open": "y",
        "publish_at": "",
        "csrf_token": csrf_token(client, "/admin/posts/new"),
    }
    data.update(fields)
    return data


def post_url(post: Post) -> str:
    from flask import current_app

    with current_app.test_request_context():
        return _post_url(post)


def _only_post() -> Post:
    return db.session.scalars(sa.select(Post)).one()


def test_publish_a_new_post(client_in):
    response = client_in.post("/admin/posts/new", data=_post_data(client_in, publish="Publish"))
    assert response.status_code == 303
    post = _only_post()
    assert response.headers["Location"] == f"/admin/posts/{post.id}/edit"
    assert post.status == PostStatus.PUBLISHED and post.is_public
    assert post.slug == "notes-on-moss"
    assert "<em>slowly</em>" in post.body_html and "<script" not in post.body_html
    assert post.excerpt.startswith("Moss grows slowly")
    assert sorted(t.name for t in post.tags) == ["Walks", "nature"]
    assert post.comments_open and post.author.username == "nell"
    # Readers see it on the home page and at its permalink.
    assert "Notes on moss" in client_in.get("/").get_data(as_text=True)
    assert client_in.get(post_url(post)).status_code == 200


def test_save_a_draft_then_publish_it(client_in):
    client_in.post("/admin/posts/new", data=_post_data(client_in, save_draft="Save draft"))
    post = _only_post()
    assert post.status == PostStatus.DRAFT and post.published_at is None
    assert "Notes on moss" not in client_in.get("/").get_data(as_text=True)
    # A draft may have no text yet.
    client_in.post(
        f"/admin/posts/{post.id}/edit",
        data=_post_data(client_in, body="", save_draft="Save draft"),
    )
    assert _only_post().body == ""
    response = client_in.post(
        f"/admin/posts/{post.id}/edit", data=_post_data(client_in, publish="Publish")
    )
    assert response.status_code == 303
    assert _only_post().is_public


def test_unicode_titles_make_unicode_slugs_and_slugs_stay_unique(client_in):
    client_in.post(
        "/admin/posts/new", data=_post_data(client_in, title="Über Straßen", publish="1")
    )
    client_in.post(
        "/admin/posts/new", data=_post_data(client_in, title="Über Straßen", publish="1")
    )
    client_in.post("/admin/posts/new", data=_post_data(client_in, title="東京の雨", publish="1"))
    slugs = sorted(db.session.scalars(sa.select(Post.slug)))
    assert slugs == ["über-strassen", "über-strassen-2", "東京の雨"]


def test_a_typed_slug_already_in_use_is_refused_keeping_the_text(client_in):
    client_in.post("/admin/posts/new", data=_post_data(client_in, publish="1"))
    data = _post_data(client_in, title="Another", slug="Notes on Moss", body="Kept text", tags="x")
    response = client_in.post("/admin/posts/new", data={**data, "publish": "1"})
    assert response.status_code == 422
    assert "notes-on-moss" in errors_by_field(response.data)["slug"]
    tree = parse(response.data)
    assert tree.find(".//h:textarea[@name='body']", NS).text.strip() == "Kept text"
    assert tree.find(".//h:input[@name='title']", NS).get("value") == "Another"
    assert db.session.scalar(sa.select(sa.func.count(Post.id))) == 1


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"title": "", "publish": "1"}, "title", "required"),
        ({"body": "  ", "publish": "1"}, "body", "Write something"),
        ({"schedule": "1"}, "publish_at", "date and time"),
        ({"schedule": "1", "publish_at": "2001-01-01T10:00"}, "publish_at", "passed"),
        ({"publish_at": "tomorrow", "schedule": "1"}, "publish_at", "valid"),
    ],
)
def test_validation_errors_keep_everything_typed(client_in, fields, field, message):
    data = _post_data(client_in, excerpt="My excerpt", tags="a, b", **fields)
    response = client_in.post("/admin/posts/new", data=data)
    assert response.status_code == 422
    errors = errors_by_field(response.data)
    assert message.casefold() in errors[field].casefold(), errors
    tree = parse(response.data)
    assert tree.find(".//h:textarea[@name='excerpt']", NS).text.strip() == "My excerpt"
    assert tree.find(".//h:input[@name='tags']", NS).get("value") == "a, b"
    body = tree.find(".//h:textarea[@name='body']", NS).text or ""
    assert body.strip() == data["body"].strip()
    assert db.session.scalar(sa.select(sa.func.count(Post.id))) == 0


def test_schedule_a_post_which_appears_when_its_time_comes(client_in):
    when = (utcnow() + timedelta(days=2)).replace(second=0, microsecond=0)
    data = _post_data(client_in, publish_at=when.strftime("%Y-%m-%dT%H:%M"), schedule="1")
    response = client_in.post("/admin/posts/new", data=data)
    assert response.status_code == 303
    post = _only_post()
    assert post.status == PostStatus.SCHEDULED and post.published_at == when
    assert not post.is_public
    assert "Notes on moss" not in client_in.get("/").get_data(as_text=True)
    listing = client_in.get("/admin/posts/").get_data(as_text=True)
    assert "Scheduled for" in listing
    # Time passes: the scheduled post is public with no job having to flip it.
    post.published_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert post.is_public
    assert "Notes on moss" in client_in.get("/").get_data(as_text=True)
    assert client_in.get(post_url(post)).status_code == 200


def test_edit_a_published_post_keeps_its_address(client_in):
    client_in.post("/admin/posts/new", data=_post_data(client_in, publish="1"))
    post = _only_post()
    url, published_at, updated_at, revision = (
        post_url(post),
        post.published_at,
        post.updated_at,
        post.revision,
    )
    page = client_in.get(f"/admin/posts/{post.id}/edit")
    tree = parse(page.data)
    assert tree.find(".//h:input[@name='slug']", NS).get("value") == "notes-on-moss"
    assert tree.find(".//h:input[@name='tags']", NS).get("value") == "Walks, nature"
    data = _post_data(
        client_in, title="Notes on moss, revised", slug="notes-on-moss", body="New text", tags=""
    )
    response = client_in.post(f"/admin/posts/{post.id}/edit", data={**data, "update": "1"})
    assert response.status_code == 303
    db.session.refresh(post)
    assert post.title == "Notes on moss, revised" and post.body == "New text"
    assert post_url(post) == url and post.published_at == published_at
    assert post.updated_at > updated_at and post.revision > revision
    assert post.tags == []
    assert "New text" in client_in.get(url).get_data(as_text=True)


def test_unpublish_then_republish_keeps_the_date(client_in):
    client_in.post("/admin/posts/new", data=_post_data(client_in, publish="1"))
    post = _only_post()
    url = post_url(post)
    client_in.post(f"/admin/posts/{post.id}/edit", data=_post_data(client_in, unpublish="1"))
    db.session.refresh(post)
    assert post.status == PostStatus.DRAFT
    assert client_in.get(url).status_code == 404
    client_in.post(f"/admin/posts/{post.id}/edit", data=_post_data(client_in, publish="1"))
    db.session.refresh(post)
    assert post_url(post) == url and client_in.get(url).status_code == 200


def test_close_comments(client_in):
    data = _post_data(client_in, publish="1")
    del data["comments_open"]
    client_in.post("/admin/posts/new", data=data)
    assert _only_post().comments_open is False


def test_delete_asks_first(client_in):
    client_in.post("/admin/posts/new", data=_post_data(client_in, publish="1"))
    post = _only_post()
    add_comment(post, author_name="Ann", body="Hi")
    db.session.commit()
    confirm = client_in.get(f"/admin/posts/{post.id}/delete")
    assert confirm.status_code == 200
    assert "1 comment" in confirm.get_data(as_text=True)
    assert _only_post()  # asking deletes nothing
    # Without the CSRF token nothing happens.
    assert client_in.post(f"/admin/posts/{post.id}/delete").status_code == 400
    token = csrf_token(client_in, f"/admin/posts/{post.id}/delete")
    response = client_in.post(f"/admin/posts/{post.id}/delete", data={"csrf_token": token})
    assert response.status_code == 303
    assert db.session.scalar(sa.select(sa.func.count(Post.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(Comment.id))) == 0
    assert client_in.get(f"/admin/posts/{post.id}/edit").status_code == 404


def test_preview_renders_with_the_published_posts_code(client_in, hx):
    token = csrf_token(client_in, "/admin/posts/new")
    response = client_in.post(
        "/admin/posts/preview",
        data={"body": "# Hi\n\n**bold** <img src=x onerror=alert(1)>", "csrf_token": token},
        headers=hx,
    )
    assert response.status_code == 200
    tree = parse(response.data)
    container = tree.find(".//h:div[@data-hx-disable]", NS)
    assert container is not None
    assert container.find(".//h:h1", NS).text == "Hi"
    assert container.find(".//h:strong", NS).text == "bold"
    assert "onerror" not in response.get_data(as_text=True)
    # The preview POST needs the CSRF token like every other.
    assert client_in.post("/admin/posts/preview", data={"body": "x"}).status_code == 400


def test_editor_wires_the_live_preview(client_in):
    tree = parse(client_in.get("/admin/posts/new").data)
    body = tree.find(".//h:textarea[@name='body']", NS)
    assert body.get("data-hx-post") == "/admin/posts/preview"
    assert body.get("data-hx-trigger") == "input changed delay:400ms"
    assert body.get("data-hx-target") == "#preview"
    assert tree.find(".//h:div[@id='preview']", NS) is not None
    scripts = [s.get("src") for s in tree.iterfind(".//h:script", NS)]
    assert "/static/js/admin.js" in scripts
    assert all(s.get("src") for s in tree.iterfind(".//h:script", NS))  # no inline script


def test_posts_list_shows_status_and_comment_counts(demo, client_in):
    from blog.models import CommentStatus

    post = db.session.scalars(Post.published()).first()
    add_comment(post, author_name="Ann", body="Held", status=CommentStatus.PENDING)
    save_post(
        Post(),
        title="Later",
        body="x",
        author_id=1,
        tags=[],
        status=PostStatus.SCHEDULED,
        published_at=utcnow() + timedelta(days=1),
    )
    db.session.commit()
    tree = parse(client_in.get("/admin/posts/").data)
    rows = {
        text_of(r.find(".//h:a[@class='post-edit-link']", NS)): r
        for r in tree.iterfind(".//h:tbody/h:tr", NS)
    }
    assert len(rows) == 7
    statuses = [r.get("data-status") for r in tree.iterfind(".//h:tbody/h:tr", NS)]
    assert statuses[:2] == ["draft", "scheduled"]  # work in progress first
    row = rows[post.title]
    cells = row.findall("h:td", NS)
    assert text_of(cells[1]).startswith("Published")
    assert text_of(cells[2]) == f"{post.comment_count} 1 pending"
    assert "Scheduled for" in text_of(rows["Later"])
    drafts = parse(client_in.get("/admin/posts/?status=draft").data)
    assert len(drafts.findall(".//h:tbody/h:tr", NS)) == 1


def test_tags_are_created_on_the_fly(client_in):
    client_in.post(
        "/admin/posts/new", data=_post_data(client_in, tags="New tag, другой", publish=1)
    )
    assert sorted(db.session.scalars(sa.select(Tag.slug))) == ["new-tag", "другой"]
