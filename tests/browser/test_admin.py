"""The back office in Chromium: first-run setup, login, live preview, moderation in place."""

from __future__ import annotations

import os
import re

import pytest
import sqlalchemy as sa

from blog.admin.auth import new_setup_token
from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, User
from tests.helpers import factories
from tests.helpers.factories import PASSWORD

SCREENSHOTS = os.environ.get("BLOG_SCREENSHOTS", "")


@pytest.fixture
def errors(page):
    """Collect JavaScript errors and console errors (a CSP violation shows up here too).

    "Failed to load resource" is left out: it is the deliberate 404 of a used setup link, or
    the browser asking for a favicon.
    """
    seen: list[str] = []
    page.on("pageerror", lambda exc: seen.append(str(exc)))

    def on_console(msg) -> None:
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            seen.append(msg.text)

    page.on("console", on_console)
    return seen


def _log_in(page, live_server, username="nell", password=PASSWORD):
    page.goto(f"{live_server}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit], input[type=submit][value='Log in']")
    page.wait_for_url(f"{live_server}/admin/")


def test_first_run_setup(demo, live_server, page, errors):
    with demo.app_context():
        token = new_setup_token()
    page.goto(f"{live_server}/setup?token={token}")
    assert page.locator("h1").inner_text() == "Set up your account"
    page.fill("#username", "nell")
    page.fill("#display_name", "Nell Carrow")
    page.fill("#password", "lanterns over the harbour")
    page.fill("#confirm", "lanterns over the harbour")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server}/admin/")
    assert "Welcome, Nell Carrow" in page.locator(".flashes").inner_text()
    assert page.locator("#stat-published").inner_text() == "5"
    # The link is gone for good.
    response = page.goto(f"{live_server}/setup?token={token}")
    assert response.status == 404
    with demo.app_context():
        assert db.session.scalar(sa.select(User.username)) == "nell"
    assert errors == []


def test_write_a_post_with_live_preview_and_publish_it(app, live_server, page, errors):
    factories.writer(app)
    _log_in(page, live_server)
    page.click("text=New post")
    page.wait_for_url(f"{live_server}/admin/posts/new")
    page.fill("#title", "Moss on the north wall")
    body = page.locator("#body")
    body.click()
    page.keyboard.type("## Slow growth\n\nMoss grows **one millimetre** a year.", delay=5)
    # The preview follows the typing, rendered by the server.
    page.wait_for_selector("#preview h2:text('Slow growth')")
    assert page.locator("#preview strong").inner_text() == "one millimetre"
    body.press("End")
    page.keyboard.type(" Sometimes *less*.")
    page.wait_for_selector("#preview em:text('less')")
    page.fill("#tags", "nature, walls")
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, "admin-editor.png"), full_page=True)
    page.click("input[name=publish]")
    page.wait_for_url(re.compile(r".*/admin/posts/\d+/edit$"))
    assert "Published." in page.locator(".flashes").inner_text()
    page.goto(f"{live_server}/")
    first = page.locator(".summary-title a").first
    assert first.inner_text() == "Moss on the north wall"
    first.click()
    assert page.locator(".post-body strong").inner_text() == "one millimetre"
    with app.app_context():
        post = db.session.scalar(sa.select(Post))
        assert post.is_public and sorted(t.name for t in post.tags) == ["nature", "walls"]
    assert errors == []


def test_approve_a_held_comment_in_place(demo, live_server, page, errors):
    factories.writer(demo)
    post = factories.newest_post(demo)
    held = factories.comment(
        demo,
        post,
        "First time here: hello!",
        author_name="Nadia",
        author_email="nadia@example.org",
        status=CommentStatus.PENDING,
        ip="198.51.100.7",
        reason="First comment from this email",
    )
    other = factories.comment(
        demo, post, "Buy things", author_name="Otto", status=CommentStatus.PENDING
    )
    held_id, other_id, title = held.id, other.id, post.title
    _log_in(page, live_server)
    page.goto(f"{live_server}/admin/comments")
    page.evaluate("window.__stillHere = true")
    row = page.locator(f"#queue-comment-{held_id}")
    assert "nadia@example.org" in row.inner_text() and "198.51.100.7" in row.inner_text()
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, "admin-queue.png"), full_page=True)
    assert page.locator("#pending-count").inner_text() == "2"
    row.locator("button[data-action=approve]").click()
    page.wait_for_selector(f"#queue-comment-{held_id}[data-status=approved]")
    assert page.locator("#pending-count").inner_text() == "1"
    assert page.locator("#folder-count-pending").inner_text() == "1"
    assert "Approved." in page.locator(f"#queue-comment-{held_id} .queue-done").inner_text()
    assert page.evaluate("window.__stillHere") is True  # no reload happened
    with demo.app_context():
        assert db.session.get(Comment, held_id).status == CommentStatus.APPROVED
    # Spam, in place too.
    page.locator(f"#queue-comment-{other_id} button[data-action=spam]").click()
    page.wait_for_selector(f"#queue-comment-{other_id}[data-status=spam]")
    assert page.locator("#folder-count-spam").inner_text() == "1"
    assert not page.locator("#pending-count").is_visible()  # nothing left to moderate
    assert page.evaluate("window.__stillHere") is True
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, "admin-queue-after.png"), full_page=True)
    # The reader sees the approved comment.
    page.goto(f"{live_server}/")
    page.click(f"text={title}")
    # Wait for the post page: is_visible() alone may still look at the index (it did, once).
    page.locator(f"#comment-{held_id}").wait_for(state="visible")
    assert errors == []


def test_dashboard_screenshot(demo, live_server, page, errors):
    """Look at the back office: a screenshot of the dashboard for review."""
    factories.writer(demo)
    post = factories.newest_post(demo)
    factories.comment(demo, post, "Held", author_name="Nadia", status=CommentStatus.PENDING)
    _log_in(page, live_server)
    assert page.locator("#stat-pending").inner_text() == "1"
    assert page.locator(".admin-nav").is_visible()
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, "admin-dashboard.png"), full_page=True)
    page.click(".admin-nav >> text=Discussion")
    assert page.locator("input[name=moderation][value=publish_all]").is_checked()
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, "admin-settings.png"), full_page=True)
    assert errors == []


def test_select_all_then_bulk_spam(demo, live_server, page, errors):
    factories.writer(demo)
    post = factories.newest_post(demo)
    for name in ("Ann", "Bo", "Cy"):
        factories.comment(
            demo, post, "Cheap watches", author_name=name, status=CommentStatus.PENDING
        )
    _log_in(page, live_server)
    page.goto(f"{live_server}/admin/comments")
    page.check("[data-select-all]")  # admin.js ticks every row
    assert page.locator("input[name=ids]:checked").count() == 3
    page.select_option("#action", "spam")
    page.click("#bulk input[type=submit]")
    page.wait_for_selector(".flashes")
    assert "Marked as spam: 3 comments." in page.locator(".flashes").inner_text()
    assert page.locator(".queue-item").count() == 0
    assert page.locator("#folder-count-spam").inner_text() == "3"
    assert errors == []
