"""Every page type is valid HTML, checked by the Nu Html Checker (npm package vnu-jar)."""

from __future__ import annotations

import time

import pytest

from blog import create_app
from blog.comments import spam
from tests.helpers import factories
from tests.helpers.auth import login
from tests.helpers.blogs import running_blogs
from tests.helpers.config import base_config
from tests.helpers.database import comments, post_by_slug
from tests.helpers.factories import CLOSED_DEMO_POST, OPEN_DEMO_POST, path_of, post
from tests.helpers.factories import path_of as permalink
from tests.helpers.sites import Site
from tests.helpers.vnu import validate


@pytest.mark.engine_independent  # the same HTML on either database
def test_every_page_type_is_valid_html(client, demo, tmp_path):
    post = post_by_slug(demo, CLOSED_DEMO_POST)
    urls = [
        "/",
        path_of(post),
        path_of(post_by_slug(demo, OPEN_DEMO_POST)),
        f"/{post.published_at:%Y}/",
        f"/{post.published_at:%Y/%m}/",
        "/tags/writing/",
        "/search?q=notebook",
        "/search?q=comments -winter",
        "/search?q=zebra",
        "/about/",
        "/search",
        "/no-such-page",
    ]
    pages = {}
    for url in urls:
        response = client.get(url, follow_redirects=True)
        assert response.status_code in (200, 404), url
        pages[url] = response.get_data(as_text=True)
    errors = validate(pages, tmp_path)
    assert errors == []


def test_webmention_pages_are_valid_html(database_uri, migrated_sqlite, tmp_path):
    """A post with a reply, likes and a mention received as webmentions; the status page; the
    back office's Webmentions page; the editor's report of webmentions sent."""
    config = base_config(database_uri, FETCH_ALLOW_PRIVATE_ADDRESSES=True)
    with running_blogs(config) as (blog,), Site() as elsewhere:
        blog.login()
        target = blog.url + permalink(post(blog.app, "Talked about", "Much."))
        elsewhere.page("/endpoint", "ok", 202, {"Content-Type": "text/plain"})
        linked = elsewhere.page("/linked", '<link rel="webmention" href="/endpoint"><p>x</p>')
        kinds = {"reply": "u-in-reply-to", "like": "u-like-of", "repost": "u-repost-of"}
        locations = []
        for name, prop in {**kinds, "mention": ""}.items():
            source = elsewhere.page(
                f"/{name}",
                f'<div class="h-entry"><a class="p-author h-card" href="https://{name}.example/">'
                f'{name.title()}</a><a class="{prop}" href="{target}">t</a>'
                f'<p class="e-content">A {name} <a href="{target}">here</a>.</p></div>',
            )
            answer = blog.post("/webmention", data={"source": source, "target": target})
            locations.append(answer.headers["Location"])
        post_id = blog.publish("Linking out", f"See [this]({linked}).", in_reply_to=linked)
        blog.work()
        urls = [target, locations[0], "/admin/webmentions", f"/admin/posts/{post_id}/edit"]
        pages = {url.removeprefix(blog.url): blog.get(url).get_data(as_text=True) for url in urls}
    assert "Liked by" in pages[target.removeprefix(blog.url)]
    assert validate(pages, tmp_path) == []


@pytest.mark.engine_independent  # the same HTML on either database
def test_pages_made_for_one_reader_are_valid_html(app, app_config, client, demo, tmp_path):
    """The writer's page (their bar, the token), the form opened under a comment, and the page
    that asks a reader without JavaScript to confirm a comment (its preview)."""
    post = post_by_slug(demo, OPEN_DEMO_POST)
    url = path_of(post)
    comment_id = next(c.id for c in comments(app) if c.post_id == post.id)
    pages = {"replyto": client.get(f"{url}?replyto={comment_id}").get_data(as_text=True)}
    with app.app_context():  # signed with the app's secret key
        old_stamp = spam.page_stamp(time.time() - 600)
    # The same blog with the real time check on (the suite's config turns it off).
    checking = create_app({**app_config, "COMMENT_MIN_SECONDS": None}).test_client()
    form = {"author_name": "Ada", "body": "Checked <em>first</em>.", "issued": old_stamp}
    confirm = checking.post(url + "comments", data=form)
    assert confirm.status_code == 200 and "comment-preview" in confirm.get_data(as_text=True)
    pages["confirm"] = confirm.get_data(as_text=True)
    factories.writer(app)
    writer = app.test_client()
    assert login(writer).status_code == 303
    pages["writer"] = writer.get(url).get_data(as_text=True)
    assert "writer-bar" in pages["writer"]
    assert validate(pages, tmp_path) == []
