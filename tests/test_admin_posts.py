"""Writing: the posts list, the editor, live preview, scheduling, unpublishing, deleting."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, PostStatus, Tag, utcnow
from tests.helpers import factories
from tests.helpers.database import count
from tests.helpers.html import csrf_token, errors_by_field, parse, text


@pytest.fixture
def writer(app):
    return factories.writer(app)


@pytest.fixture
def client_in(client, writer, auth):
    auth.login()
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


def _only_post(app) -> Post:
    """The one post in the database, detached (tags and author loaded)."""
    with app.app_context():
        post = db.session.scalars(sa.select(Post)).one()
        db.session.expunge(post)
        return post


def test_publish_a_new_post(app, client_in):
    response = client_in.post("/admin/posts/new", data=_post_data(client_in, publish="Publish"))
    assert response.status_code == 303
    post = _only_post(app)
    assert response.headers["Location"] == f"/admin/posts/{post.id}/edit"
    assert post.status == PostStatus.PUBLISHED and post.is_public
    assert post.slug == "notes-on-moss"
    assert "<em>slowly</em>" in post.body_html and "<script" not in post.body_html
    assert post.excerpt.startswith("Moss grows slowly")
    assert sorted(t.name for t in post.tags) == ["Walks", "nature"]
    assert post.comments_open and post.author.username == "nell"
    # Readers see it on the home page and at its permalink.
    assert "Notes on moss" in client_in.get("/").get_data(as_text=True)
    assert client_in.get(factories.permalink(app, post)).status_code == 200


def test_save_a_draft_then_publish_it(app, client_in):
    client_in.post("/admin/posts/new", data=_post_data(client_in, save_draft="Save draft"))
    post = _only_post(app)
    assert post.status == PostStatus.DRAFT and post.published_at is None
    assert "Notes on moss" not in client_in.get("/").get_data(as_text=True)
    # A draft may have no text yet.
    client_in.post(
        f"/admin/posts/{post.id}/edit",
        data=_post_data(client_in, body="", save_draft="Save draft"),
    )
    assert _only_post(app).body == ""
    response = client_in.post(
        f"/admin/posts/{post.id}/edit", data=_post_data(client_in, publish="Publish")
    )
    assert response.status_code == 303
    assert _only_post(app).is_public


def test_unicode_titles_make_unicode_slugs_and_slugs_stay_unique(app, client_in):
    client_in.post(
        "/admin/posts/new", data=_post_data(client_in, title="Über Straßen", publish="1")
    )
    client_in.post(
        "/admin/posts/new", data=_post_data(client_in, title="Über Straßen", publish="1")
    )
    client_in.post("/admin/posts/new", data=_post_data(client_in, title="東京の雨", publish="1"))
    with app.app_context():
        slugs = sorted(db.session.scalars(sa.select(Post.slug)))
    assert slugs == ["über-strassen", "über-strassen-2", "東京の雨"]


def test_a_typed_slug_already_in_use_is_refused_keeping_the_text(app, client_in):
    client_in.post("/admin/posts/new", data=_post_data(client_in, publish="1"))
    data = _post_data(client_in, title="Another", slug="Notes on Moss", body="Kept text", tags="x")
    response = client_in.post("/admin/posts/new", data={**data, "publish": "1"})
    assert response.status_code == 422
    assert "notes-on-moss" in errors_by_field(response)["slug"]
    tree = parse(response)
    assert tree.find(".//textarea[@name='body']").text.strip() == "Kept text"
    assert tree.find(".//input[@name='title']").get("value") == "Another"
    assert count(app, Post) == 1


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
def test_validation_errors_keep_everything_typed(app, client_in, fields, field, message):
    data = _post_data(client_in, excerpt="My excerpt", tags="a, b", **fields)
    response = client_in.post("/admin/posts/new", data=data)
    assert response.status_code == 422
    errors = errors_by_field(response)
    assert message.casefold() in errors[field].casefold(), errors
    tree = parse(response)
    assert tree.find(".//textarea[@name='excerpt']").text.strip() == "My excerpt"
    assert tree.find(".//input[@name='tags']").get("value") == "a, b"
    body = tree.find(".//textarea[@name='body']").text or ""
    assert body.strip() == data["body"].strip()
    assert count(app, Post) == 0


def test_schedule_a_post_which_appears_when_its_time_comes(app, client_in):
    when = (utcnow() + timedelta(days=2)).replace(second=0, microsecond=0)
    data = _post_data(client_in, publish_at=when.strftime("%Y-%m-%dT%H:%M"), schedule="1")
    response = client_in.post("/admin/posts/new", data=data)
    assert response.status_code == 303
    post = _only_post(app)
    assert post.status == PostStatus.SCHEDULED and post.published_at == when
    assert not post.is_public
    assert "Notes on moss" not in client_in.get("/").get_data(as_text=True)
    listing = client_in.get("/admin/posts/").get_data(as_text=True)
    assert "Scheduled for" in listing
    # Time passes: the scheduled post is public with no job having to flip it.
    with app.app_context():
        db.session.get(Post, post.id).published_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    post = _only_post(app)
    assert post.is_public
    assert "Notes on moss" in client_in.get("/").get_data(as_text=True)
    assert client_in.get(factories.permalink(app, post)).status_code == 200


def test_edit_a_published_post_keeps_its_address(app, client_in):
    client_in.post("/admin/posts/new", data=_post_data(client_in, publish="1"))
    post = _only_post(app)
    url = factories.permalink(app, post)
    page = client_in.get(f"/admin/posts/{post.id}/edit")
    tree = parse(page)
    assert tree.find(".//input[@name='slug']").get("value") == "notes-on-moss"
    assert tree.find(".//input[@name='tags']").get("value") == "Walks, nature"
    data = _post_data(
        client_in, title="Notes on moss, revised", slug="notes-on-moss", body="New text", tags=""
    )
    response = client_in.post(f"/admin/posts/{post.id}/edit", data={**data, "update": "1"})
    assert response.status_code == 303
    edited = _only_post(app)
    assert edited.title == "Notes on moss, revised" and edited.body == "New text"
    assert factories.permalink(app, edited) == url
    assert edited.published_at == post.published_at
    assert edited.updated_at > post.updated_at and edited.revision > post.revision
    assert edited.tags == []
    assert "New text" in client_in.get(url).get_data(as_text=True)


def test_unpublish_then_republish_keeps_the_date(app, client_in):
    client_in.post("/admin/posts/new", data=_post_data(client_in, publish="1"))
    post = _only_post(app)
    url = factories.permalink(app, post)
    client_in.post(f"/admin/posts/{post.id}/edit", data=_post_data(client_in, unpublish="1"))
    assert _only_post(app).status == PostStatus.DRAFT
    assert client_in.get(url).status_code == 404
    client_in.post(f"/admin/posts/{post.id}/edit", data=_post_data(client_in, publish="1"))
    assert factories.permalink(app, _only_post(app)) == url
    assert client_in.get(url).status_code == 200


def test_close_comments(app, client_in):
    data = _post_data(client_in, publish="1")
    del data["comments_open"]
    client_in.post("/admin/posts/new", data=data)
    assert _only_post(app).comments_open is False


def test_delete_asks_first(app, client_in):
    client_in.post("/admin/posts/new", data=_post_data(client_in, publish="1"))
    post = _only_post(app)
    factories.comment(app, post, "Hi", author_name="Ann")
    confirm = client_in.get(f"/admin/posts/{post.id}/delete")
    assert confirm.status_code == 200
    assert "1 comment" in confirm.get_data(as_text=True)
    assert _only_post(app)  # asking deletes nothing
    # Without the CSRF token nothing happens.
    assert client_in.post(f"/admin/posts/{post.id}/delete").status_code == 400
    token = csrf_token(client_in, f"/admin/posts/{post.id}/delete")
    response = client_in.post(f"/admin/posts/{post.id}/delete", data={"csrf_token": token})
    assert response.status_code == 303
    assert count(app, Post) == 0 and count(app, Comment) == 0
    assert client_in.get(f"/admin/posts/{post.id}/edit").status_code == 404


def test_preview_renders_with_the_published_posts_code(client_in, hx):
    token = csrf_token(client_in, "/admin/posts/new")
    response = client_in.post(
        "/admin/posts/preview",
        data={"body": "# Hi\n\n**bold** <img src=x onerror=alert(1)>", "csrf_token": token},
        headers=hx,
    )
    assert response.status_code == 200
    tree = parse(response)
    container = tree.find(".//div[@data-hx-disable]")
    assert container is not None
    assert container.find(".//h1").text == "Hi"
    assert container.find(".//strong").text == "bold"
    assert "onerror" not in response.get_data(as_text=True)
    # The preview POST needs the CSRF token like every other.
    assert client_in.post("/admin/posts/preview", data={"body": "x"}).status_code == 400


def test_editor_wires_the_live_preview(client_in):
    tree = parse(client_in.get("/admin/posts/new"))
    body = tree.find(".//textarea[@name='body']")
    assert body.get("data-hx-post") == "/admin/posts/preview"
    assert body.get("data-hx-trigger") == "input changed delay:400ms"
    assert body.get("data-hx-target") == "#preview"
    assert tree.find(".//div[@id='preview']") is not None
    scripts = [s.get("src") for s in tree.iterfind(".//script")]
    assert "/static/js/admin.js" in scripts
    assert all(scripts)  # no inline script


def test_posts_list_shows_status_and_comment_counts(demo, client_in):
    post = factories.newest_post(demo)
    factories.comment(demo, post, "Held", author_name="Ann", status=CommentStatus.PENDING)
    factories.post(
        demo, "Later", "x", status=PostStatus.SCHEDULED, published_at=utcnow() + timedelta(days=1)
    )
    tree = parse(client_in.get("/admin/posts/"))
    rows = {text(r.find(".//a[@class='post-edit-link']")): r for r in tree.iterfind(".//tbody/tr")}
    assert len(rows) == 7
    statuses = [r.get("data-status") for r in tree.iterfind(".//tbody/tr")]
    assert statuses[:2] == ["draft", "scheduled"]  # work in progress first
    row = rows[post.title]
    cells = row.findall("td")
    assert text(cells[1]).startswith("Published")
    assert text(cells[2]) == f"{post.comment_count} 1 pending"
    assert "Scheduled for" in text(rows["Later"])
    drafts = parse(client_in.get("/admin/posts/?status=draft"))
    assert len(drafts.findall(".//tbody/tr")) == 1


def test_tags_are_created_on_the_fly(app, client_in):
    client_in.post(
        "/admin/posts/new", data=_post_data(client_in, tags="New tag, другой", publish=1)
    )
    with app.app_context():
        assert sorted(db.session.scalars(sa.select(Tag.slug))) == ["new-tag", "другой"]
