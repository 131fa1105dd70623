"""In Chromium: live search as the reader types (and without JavaScript), and the sharing
metadata's JSON-LD data block under the strict CSP."""

from __future__ import annotations

import json

import sqlalchemy as sa

from blog.extensions import db
from blog.models import Post
from tests.helpers.browser import wait_until
from tests.helpers.factories import path_of, post

# Collected before any script of the page runs; a CSP violation anywhere lands here.
WATCH_CSP = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def test_results_follow_the_typing_and_the_url_can_be_shared(demo, live_server, page):
    page.add_init_script(WATCH_CSP)
    page.goto(live_server + "/search")
    page.evaluate("window.__same_page = true")
    box = page.locator("#search-q")
    box.press_sequentially("notebook", delay=20)
    page.wait_for_url(live_server + "/search?q=notebook")
    hit = page.locator("article.search-hit h2 a")
    hit.first.wait_for()
    assert hit.all_inner_texts() == ["Why I keep a notebook next to the keyboard"]
    assert page.locator("article.search-hit mark").first.inner_text().lower() == "notebook"
    assert page.locator("#search-status").inner_text() == "1 post found."
    assert page.title() == "Search: notebook · Field Notes"
    assert page.evaluate("window.__same_page") is True  # updated in place, no reload
    box.fill("comments")
    page.wait_for_url(live_server + "/search?q=comments")
    page.locator("#search-status", has_text="posts found").wait_for()
    # Back restores the earlier search (a history restore asks for the whole page).
    page.go_back()
    page.wait_for_url(live_server + "/search?q=notebook")
    page.locator("#search-status", has_text="1 post found.").wait_for()
    assert page.evaluate("window.__violations") == []


def test_search_works_without_javascript(demo, live_server, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(live_server + "/search")
        page.fill("#search-q", '"feed reader"')
        page.click("main form button[type=submit]")
        page.wait_for_url(live_server + "/search?q=%22feed+reader%22")
        assert page.locator("article.search-hit h2").all_inner_texts() == [
            "Small tools, used every day"
        ]
        assert page.locator("article.search-hit mark").all_inner_texts() == ["feed reader"]
        # The header's box on any other page leads here too.
        page.goto(live_server + "/")
        page.fill("#site-search", "mosses")
        page.press("#site-search", "Enter")
        page.wait_for_url(live_server + "/search?q=mosses")
        assert page.locator("article.search-hit").count() == 1
    finally:
        context.close()


def test_json_ld_is_data_the_csp_lets_be(app, live_server, page):
    title = '</script><script>alert("x")</script> Harbour'
    # An image of this site's own (the CSP's img-src is 'self'), made absolute for previews.
    shared = post(app, title, "![Dawn](/static/dawn.jpg)\n\nWords.")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.add_init_script(WATCH_CSP)
    page.goto(live_server + path_of(shared))
    data = json.loads(page.locator("script[type='application/ld+json']").text_content())
    assert data["@type"] == "BlogPosting" and data["headline"] == title
    assert data["image"] == [live_server + "/static/dawn.jpg"]
    assert page.locator("script").count() == 3  # htmx, comments.js and the data block
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__violations") == []
    assert dialogs == []
    assert page.title().startswith(title)
    with app.app_context():
        assert db.session.scalar(sa.select(Post.title).where(Post.id == shared.id)) == title


def test_the_watcher_sees_a_violation(live_server, page):
    """The listener can fail: an inline script is refused and reported."""
    page.add_init_script(WATCH_CSP)
    page.goto(live_server + "/search")
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = '1';"
        " document.body.appendChild(s); }"
    )
    wait_until(page, "window.__violations.length > 0")
    assert page.evaluate("window.__violations")[0].startswith("script-src")
