"""Chromium reads a post with a reply and likes received as webmentions from a hostile site.

The reply and the row of names render; nothing the sources wrote runs (no dialog, no console
error), the strict Content Security Policy is there, and the browser requests nothing from the
sources' site (no hot-linked avatar or image).
"""

from __future__ import annotations

import pytest

from tests.helpers.config import base_config
from tests.helpers.factories import path_of, post
from tests.helpers.mail import drain
from tests.helpers.servers import serve_in_thread
from tests.helpers.sites import Site

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


@pytest.fixture
def app_config(database_uri) -> dict:
    return base_config(database_uri, FETCH_ALLOW_PRIVATE_ADDRESSES=True)


def test_a_reply_and_likes_render_and_nothing_runs(app, page):
    with serve_in_thread(app) as blog, Site() as elsewhere:
        target = blog + path_of(post(app, "Read me", "A post with friends."))
        reply = f"""<div class="h-entry"><span class="p-author h-card">
<span class="p-name">Mallory<img src=x onerror=alert('name')></span>
<img class="u-photo" src="{elsewhere.url}/mallory.png"></span>
<a class="u-in-reply-to" href="{target}">re</a>
<div class="e-content"><p>Nice post!<script>alert('script')</script>
<img src="{elsewhere.url}/pixel.gif" onerror="alert('img')">
<a href="javascript:alert('link')">click</a>
<span data-hx-get="/admin/" data-hx-trigger="load">htmx?</span></p></div></div>"""
        like = """<div class="h-entry"><a class="p-author h-card" href="javascript:alert('url')">
<span class="p-name">Eve<svg onload=alert('like')></svg></span></a>
<a class="u-like-of" href="{}">liked</a></div>"""
        sources = [
            elsewhere.page("/reply", reply),
            elsewhere.page("/like", like.format(target)),
            elsewhere.page("/like2", like.format(target).replace("Eve", "Trent")),
        ]
        with app.app_context():
            client = app.test_client()
            for source in sources:
                sent = client.post(
                    "/webmention", data={"source": source, "target": target}, base_url=blog
                )
                assert sent.status_code == 201
        assert drain(app) == 3
        seen_by_site = len(elsewhere.seen)

        dialogs, errors, outside = [], [], []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        failed = []
        page.on(
            "response",
            lambda r: (
                failed.append(r.url)
                if r.status >= 400 and not r.url.endswith("/favicon.ico")
                else None
            ),
        )
        page.on("request", lambda r: None if r.url.startswith(blog) else outside.append(r.url))
        response = page.goto(target)
        assert response.status == 200
        assert response.headers["content-security-policy"] == CSP
        page.wait_for_load_state("networkidle")

        reply_box = page.locator("article.comment-webmention")
        assert reply_box.count() == 1
        assert "Nice post!" in reply_box.inner_text()
        assert "replied on 127.0.0.1" in reply_box.inner_text()
        assert reply_box.locator("script, img, svg").count() == 0
        likes = page.locator("#reactions .reaction-like")
        assert likes.is_visible()
        assert likes.locator(".reaction-name").all_inner_texts() == ["Eve", "Trent"]
        # The author's javascript: address is not a link target: the like links to its page.
        assert likes.locator("a").first.get_attribute("href") == sources[1]
        page.wait_for_timeout(500)  # onload/onerror handlers, htmx "load" triggers
        # The only console error allowed: the browser's own favicon request (the blog has none).
        assert failed == [] and len([e for e in errors if "404" not in e]) == 0
        assert dialogs == [] and outside == []
        assert len(elsewhere.seen) == seen_by_site  # the browser fetched nothing from there
