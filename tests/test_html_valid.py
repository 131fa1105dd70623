"""Every page type is valid HTML, checked by the Nu Html Checker (npm package vnu-jar)."""

from __future__ import annotations

from tests.helpers import CLOSED_DEMO_POST, OPEN_DEMO_POST, path_of, post_by_slug
from tests.helpers.vnu import validate


def test_every_page_type_is_valid_html(client, demo, tmp_path):
    post = post_by_slug(CLOSED_DEMO_POST)
    urls = [
        "/",
        path_of(post),
        path_of(post_by_slug(OPEN_DEMO_POST)),
        f"/{post.published_at:%Y}/",
        f"/{post.published_at:%Y/%m}/",
        "/tags/writing/",
        "/search?q=notebook",
        "/search?q=zebra",
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
