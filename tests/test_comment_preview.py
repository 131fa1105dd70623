"""Previewing a comment: in place with htmx, as a page without JavaScript; nothing stored."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from blog.comments import spam
from blog.extensions import db
from blog.models import Comment, Post
from tests.helpers import factories
from tests.helpers.config import base_config
from tests.helpers.html import errors_by_field, parse, text

HX = {"HX-Request": "true"}
BODY = "*Hello* there,\nsecond line\n\n- a list"


def fields(**extra) -> dict[str, str]:
    return {"author_name": "Ada", "author_email": "ada@example.org", "body": BODY, **extra}


def stored(app) -> tuple[int, int]:
    """Return how many comments there are, and the post's revision (changed by any write)."""
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count(Comment.id)))
        revision = db.session.scalar(sa.select(Post.revision))
    return count, revision


@pytest.fixture
def post(app):
    return factories.post(app)


def test_htmx_preview_shows_the_comment_as_it_will_be_stored_in_place(app, client, post):
    before = stored(app)
    response = client.post(factories.path_of(post) + "comments/preview", data=fields(), headers=HX)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    tree = parse(response)
    [form] = tree.xpath("//form[@id='comment-form']")
    [preview] = form.xpath(
        ".//div[@class='comment-preview']//div[contains(@class, 'comment-body')]"
    )
    # The very HTML posting would store: Markdown, line break and list.
    assert preview.xpath(".//em")[0].text == "Hello"
    assert len(preview.xpath(".//br")) == 1 and preview.xpath(".//ul/li")[0].text == "a list"
    # Above the fields, and the text is still in the form, as typed.
    assert form.index(form.xpath(".//div[@class='comment-preview']")[0]) < form.index(
        form.xpath(".//div[@class='form-row']")[0]
    )
    assert form.xpath(".//textarea[@name='body']")[0].text == BODY
    assert form.xpath(".//input[@name='author_name']/@value") == ["Ada"]
    assert stored(app) == before  # nothing stored, no cache touched


def test_preview_html_equals_what_posting_stores(app, client, post):
    preview = parse(
        client.post(factories.path_of(post) + "comments/preview", data=fields(), headers=HX)
    )
    [shown] = preview.xpath("//div[@class='comment-preview']//div[contains(@class,'comment-body')]")
    client.post(factories.path_of(post) + "comments", data=fields())
    with app.app_context():
        html = db.session.scalar(sa.select(Comment.body_html))
    page = parse(client.get(factories.path_of(post)))
    [posted] = page.xpath("//ol[@id='comment-list']//div[contains(@class,'comment-body')]")
    assert text(shown) == text(posted)
    assert [e.tag for e in shown.iter()] == [e.tag for e in posted.iter()]
    assert "<em>Hello</em>" in html


def test_preview_without_javascript_is_the_page_with_the_preview_and_the_form_filled(
    app, client, post
):
    before = stored(app)
    response = client.post(factories.path_of(post) + "comments/preview", data=fields())
    assert response.status_code == 200
    tree = parse(response)
    assert tree.xpath("//h1")  # the whole page
    assert tree.xpath("//form[@id='comment-form']//div[@class='comment-preview']//em")
    assert tree.xpath("//textarea[@name='body']")[0].text == BODY
    assert "not posted yet" in text(tree.xpath("//p[@id='comment-form-alert']")[0])
    assert stored(app) == before


def test_the_preview_button_sits_beside_post_and_works_without_javascript(app, client, post):
    tree = parse(client.get(factories.path_of(post)))
    [button] = tree.xpath("//form[@id='comment-form']//button[@id='comment-preview-button']")
    assert button.get("formaction") == factories.path_of(post) + "comments/preview"
    assert button.get("data-hx-post") == button.get("formaction")
    assert button.getprevious().get("id") == "comment-submit"


def test_an_invalid_preview_answers_422_with_the_messages_and_the_text(app, client, post):
    response = client.post(
        factories.path_of(post) + "comments/preview", data=fields(body=""), headers=HX
    )
    assert response.status_code == 422
    assert "comment-body" in errors_by_field(response)
    assert not parse(response).xpath("//div[@class='comment-preview']")


def test_a_cross_site_preview_is_refused_with_the_text_kept(app, client, post):
    response = client.post(
        factories.path_of(post) + "comments/preview",
        data=fields(),
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403
    assert parse(response).xpath("//textarea[@name='body']")[0].text == BODY
    assert not parse(response).xpath("//div[@class='comment-preview']")


class TestTimeCheck:
    """With the time check on (the setting's 3 s, as on a real blog)."""

    @pytest.fixture
    def app_config(self, database_uri) -> dict:
        return base_config(database_uri, COMMENT_MIN_SECONDS=None)

    def test_a_shared_page_previewed_without_javascript_posts_without_a_second_confirmation(
        self, app, client, post
    ):
        """The preview stands for the confirmation an old page stamp asks for (spam.needs_...)."""
        with app.app_context():
            old_page = spam.page_stamp(time.time() - 600)
        url = factories.path_of(post) + "comments"
        # Without the preview, an old page stamp asks to confirm (200, nothing stored).
        confirm = client.post(url, data=fields(issued=old_page))
        assert confirm.status_code == 200 and stored(app)[0] == 0
        preview = client.post(url + "/preview", data=fields(issued=old_page))
        [issued] = parse(preview).xpath("//input[@name='issued']/@value")
        posted = client.post(url, data=fields(issued=issued))
        assert posted.status_code == 303
        with app.app_context():
            comment = db.session.scalar(sa.select(Comment))
            assert comment.status == "approved", comment.reason


class TestLimits:
    @pytest.fixture
    def app_config(self, database_uri) -> dict:
        return base_config(database_uri, RATELIMIT_ENABLED=True, COMMENT_MIN_SECONDS=None)

    def test_previews_are_rate_limited_in_a_bucket_of_their_own(self, app, client, post):
        url = factories.path_of(post) + "comments"
        answers = [
            client.post(url + "/preview", data=fields(), headers=HX).status_code
            for _ in range(spam.PREVIEW_FACTOR + 1)
        ]
        assert answers == [200] * spam.PREVIEW_FACTOR + [429]
        refused = client.post(url + "/preview", data=fields(), headers=HX)
        assert refused.status_code == 429 and "Retry-After" in refused.headers
        assert parse(refused).xpath("//textarea[@name='body']")[0].text == BODY
        # Previews spent nothing of the posting limits: the comment still goes through.
        with app.app_context():
            issued = spam.form_stamp(time.time() - 60)
        assert client.post(url, data=fields(issued=issued)).status_code == 303
