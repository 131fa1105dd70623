"""The spam defences as a reader meets them in Chromium: nothing to see, and clear refusals.

Runs with the real defaults: 3 seconds before a form counts as a person's, and the per-IP rate
limits on (the other browser tests turn both off).
"""

from __future__ import annotations

import re

import pytest

from blog.comments import spam
from blog.extensions import limiter
from blog.models import CommentStatus
from tests.helpers import factories
from tests.helpers.config import base_config
from tests.helpers.database import comments


@pytest.fixture
def app_config(database_uri) -> dict:
    return base_config(database_uri, RATELIMIT_ENABLED=True, COMMENT_MIN_SECONDS=None)


@pytest.fixture
def post_page(app, live_server) -> str:
    limiter.reset()
    return live_server + factories.permalink(app, factories.post(app))


def send(page) -> int:
    """Submit the form with htmx; return the answer's status once htmx has swapped it in."""
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("#comment-submit")
    # Polled from here: the page's CSP (no unsafe-eval) forbids wait_for_function's eval.
    busy = "!!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    for _ in range(200):
        if not page.evaluate(busy):
            break
        page.wait_for_timeout(25)
    return answer.value.status


def test_the_trap_is_invisible_and_out_of_the_tab_order(page, post_page):
    page.goto(post_page)
    trap = page.locator("#comment-subject")
    box = trap.bounding_box()
    assert box is None or box["x"] + box["width"] <= 0  # off screen
    assert not trap.is_visible() or box["x"] < -1000
    # Tab from the name through the form never lands in the trap.
    page.focus("#comment-author-name")
    visited = []
    for _ in range(6):
        page.keyboard.press("Tab")
        visited.append(page.evaluate("document.activeElement.id"))
    assert "comment-subject" not in visited and "comment-author-email" in visited
    # Screen readers skip it: the accessibility tree has no such field.
    snapshot = page.locator("#comment-form").aria_snapshot()
    assert "robots" not in snapshot and "Name" in snapshot


def test_a_reader_who_waits_is_published_a_quick_robot_is_held(app, page, post_page):
    page.goto(post_page)
    page.fill("#comment-author-name", "Robot")
    page.fill("#comment-body", "Sent at once.")
    assert send(page) == 200
    assert "awaiting moderation" in page.locator("#comment-status").inner_text()
    [held] = comments(app)
    assert held.status == CommentStatus.SPAM and "less than 3 s" in held.reason


def start_writing(page) -> None:
    """Go into the form as a reader does; comments.js then fetches a fresh form stamp."""
    with page.expect_response(lambda r: r.url.endswith("/comments/stamp")) as stamp:
        page.focus("#comment-author-name")
    assert stamp.value.status == 200
    # The stamp is in the form once the fetch has answered (polled: no eval under the CSP).
    for _ in range(200):
        if page.input_value("#comment-issued") == stamp.value.text().strip():
            return
        page.wait_for_timeout(25)
    raise AssertionError("the fresh stamp never reached the form")


def test_a_reader_without_cookies_gets_a_fresh_stamp_when_writing(app, page, post_page):
    """The shared page carries the time it was made; going into the form replaces it with the
    time now, from which a person's pace is counted."""
    page.goto(post_page)
    assert page.context.cookies() == []  # an anonymous reader: the shared page
    shared = page.input_value("#comment-issued")
    start_writing(page)
    fresh = page.input_value("#comment-issued")
    assert fresh != shared
    with app.test_request_context():
        assert spam.read_stamp(shared).page and not spam.read_stamp(fresh).page
    page.fill("#comment-author-name", "Ada")
    page.wait_for_timeout(3100)  # a person's pace
    page.fill("#comment-body", "Thought through.")
    assert send(page) == 200
    page.locator("article.comment", has_text="Thought through.").wait_for()
    assert comments(app)[0].status == CommentStatus.APPROVED


def test_without_javascript_a_comment_is_confirmed_once(app, browser, post_page):
    """No JavaScript to fetch a fresh stamp: the comment comes back as it will appear, with the
    form and a "Post comment" button; pressed a moment later, the comment is published."""
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(post_page)
        page.fill("#comment-author-name", "Ada")
        page.fill("#comment-body", "Slowly, with <em>care</em>.")
        page.wait_for_timeout(3100)  # the page's own stamp: older than 3 s now
        with page.expect_navigation() as nav:
            page.click("#comment-submit")
        assert nav.value.status == 200
        assert comments(app) == []
        assert "how it will appear" in page.inner_text("#comment-form-alert")
        preview = page.locator(".comment-preview article")
        assert preview.locator("em").inner_text() == "care"
        assert page.input_value("#comment-body") == "Slowly, with <em>care</em>."
        assert page.inner_text("#comment-submit").strip() == "Post comment"
        page.wait_for_timeout(3100)  # reading it over
        page.click("#comment-submit")
        page.wait_for_url(re.compile(r"#comment-\d+$"))
        [mine] = comments(app)
        assert mine.status == CommentStatus.APPROVED
        assert "Slowly, with" in page.inner_text(f"#comment-{mine.id}")
    finally:
        context.close()


def test_flood_429_and_too_large_413_are_shown_in_place_keeping_the_text(app, page, post_page):
    page.goto(post_page)
    start_writing(page)
    page.wait_for_timeout(3100)  # a person's pace
    page.fill("#comment-author-name", "Ada")
    page.fill("#comment-body", "My first thought.")
    assert send(page) == 200
    page.locator("article.comment", has_text="My first thought.").wait_for()
    assert comments(app)[0].status == CommentStatus.APPROVED

    # At once again: too fast for the flood limit; the message in place, the words kept.
    page.fill("#comment-body", "And a second one, quickly.")
    assert send(page) == 429
    alert = page.locator("#comment-form-alert")
    assert alert.is_visible()
    assert re.search(r"You're commenting too fast — try again in \d+ seconds", alert.inner_text())
    assert page.input_value("#comment-body") == "And a second one, quickly."
    assert page.input_value("#comment-author-name") == "Ada"
    assert len(comments(app)) == 1

    # Over a megabyte (past the textarea's maxlength, as a script could): 413 in the alert.
    huge = "x" * (1024 * 1024 + 10)
    page.evaluate("(text) => { document.getElementById('comment-body').value = text; }", huge)
    assert send(page) == 413
    alert = page.locator("#comment-form-alert")
    assert alert.is_visible() and "at most 1 MB" in alert.inner_text()
    assert "could not save" not in alert.inner_text()  # not the generic failure message
    assert page.evaluate("document.getElementById('comment-body').value.length") == len(huge)
    assert len(comments(app)) == 1
