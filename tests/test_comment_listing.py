"""The rendered comment list is made once per change and never goes stale across processes."""

from __future__ import annotations

from flask import template_rendered

from blog import create_app
from blog.comments import store
from blog.comments.section import HELD_COOKIE
from blog.extensions import db
from blog.models import Comment, CommentStatus
from tests.helpers import factories
from tests.helpers.auth import login
from tests.helpers.database import post_by_slug
from tests.helpers.factories import OPEN_DEMO_POST, path_of
from tests.helpers.html import parse


def renders_of_list(app, client, path: str) -> tuple[int, str]:
    """GET path; return how often _list.html was rendered, and the page."""
    rendered = []

    def record(sender, template, context, **extra):
        if template.name == "comments/_list.html":
            rendered.append(template.name)

    template_rendered.connect(record, app)
    try:
        response = client.get(path)
    finally:
        template_rendered.disconnect(record, app)
    assert response.status_code == 200
    return len(rendered), response.get_data(as_text=True)


def comment_list(page: str) -> str:
    start = page.index('<ol id="comment-list"')
    return page[start : page.index('<div id="comment-poll"', start)]


def test_list_is_rendered_once_and_reused(app, client, demo):
    path = path_of(post_by_slug(app, OPEN_DEMO_POST))
    first, page = renders_of_list(app, client, path)
    second, again = renders_of_list(app, client, path)
    assert (first, second) == (1, 0)
    # The same list, served from the cache (the page around it carries a fresh CSRF token).
    assert comment_list(again) == comment_list(page)
    assert "Ilse Brandt" in again and "Marco Bellini" in again


def test_a_comment_written_by_another_process_shows_at_once(app, app_config, client, demo):
    post = post_by_slug(app, OPEN_DEMO_POST)
    path = path_of(post)
    renders_of_list(app, client, path)  # cached here

    other = create_app(app_config)  # another worker: its own cache, the same database
    factories.comment(other, post, "written by another process", author_name="From elsewhere")

    renders, page = renders_of_list(app, client, path)
    assert renders == 1  # the revision changed, so the key did
    assert "written by another process" in page
    assert '<span id="comment-count">3 comments</span>' in page


def test_moderation_changes_the_list(app, client, demo):
    post = post_by_slug(app, OPEN_DEMO_POST)
    path = path_of(post)
    held = factories.comment(
        app, post, "waiting words", author_name="Held", status=CommentStatus.PENDING
    )
    assert "waiting words" not in renders_of_list(app, client, path)[1]

    with app.app_context():
        store.set_status([db.session.get(Comment, held.id)], CommentStatus.APPROVED)
        db.session.commit()
    assert "waiting words" in renders_of_list(app, client, path)[1]


def test_a_reader_with_a_held_comment_gets_their_own_list(app, client, demo):
    post = post_by_slug(app, OPEN_DEMO_POST)
    path = path_of(post)
    held = factories.comment(
        app, post, "my held words", author_name="Me", status=CommentStatus.PENDING
    )
    held_id = held.id
    renders_of_list(app, client, path)  # the shared list is cached

    from blog.comments.section import set_signed_cookie as _set_cookie

    with app.test_request_context():
        from flask import make_response

        response = make_response("")
        _set_cookie(response, HELD_COOKIE, [held_id], 3600)
        cookie = response.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    client.set_cookie(HELD_COOKIE, cookie)
    renders, page = renders_of_list(app, client, path)
    assert renders == 1 and "my held words" in page and "awaiting moderation" in page
    client.delete_cookie(HELD_COOKIE)
    renders, page = renders_of_list(app, client, path)
    assert renders == 0 and "my held words" not in page


def test_a_list_cached_while_the_writer_looks_holds_nothing_of_the_writers(app, client, demo):
    """The writer's visit fills the cache; a reader then gets the readers' list and form."""
    factories.writer(app)
    path = path_of(post_by_slug(app, OPEN_DEMO_POST))
    writer = app.test_client()
    assert login(writer).status_code == 303
    renders, as_writer = renders_of_list(app, writer, path)
    assert renders == 1 and author_field(as_writer) == "Nell Carrow"  # the writer's own form
    renders, as_reader = renders_of_list(app, client, path)
    assert renders == 0  # served from the cache the writer's visit filled
    assert comment_list(as_reader) == comment_list(as_writer)
    assert author_field(as_reader) == ""


def author_field(page: str) -> str:
    """The name the page's comment form is filled in with."""
    (field,) = parse(page).xpath("//form[@id='comment-form']//input[@name='author_name']")
    return field.get("value", "")
