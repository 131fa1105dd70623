"""Comments in a real browser: in place with htmx, without JavaScript, replies, others' comments."""

from __future__ import annotations

import re

import pytest
from flask import request

from tests.helpers import factories
from tests.helpers.browser import wait_until
from tests.helpers.config import base_config
from tests.helpers.database import comments

POLL_SECONDS = 1


@pytest.fixture
def app_config(database_uri) -> dict:
    return base_config(database_uri, COMMENTS_POLL_SECONDS=POLL_SECONDS)


@pytest.fixture
def post_page(app, live_server) -> str:
    """Publish a post with one comment; return its page's full URL."""
    post = factories.post(app)
    factories.comment(app, post, "The first word.", author_name="First Reader")
    return live_server + factories.permalink(app, post)


def polls(page, count: int = 2) -> None:
    """Wait until the page has polled for new comments count more times (every POLL_SECONDS)."""
    for _ in range(count):
        with page.expect_response(lambda r: "/comments?after=" in r.url, timeout=10_000):
            pass


def test_post_a_comment_in_place_without_a_reload(app, page, post_page):
    page.goto(post_page)
    page.evaluate("window.__marker = 'still here'")
    assert page.locator("#comment-count").inner_text() == "1 comment"
    page.fill("#comment-author-name", "Ada")
    page.fill("#comment-body", "Posted in place.\n\nSecond paragraph.")
    page.click("#comment-submit")
    article = page.locator("article.comment", has_text="Posted in place.")
    article.wait_for()
    assert page.evaluate("window.__marker") == "still here"  # the page did not reload
    assert page.locator("#comment-count").inner_text() == "2 comments"
    assert page.locator("#comment-status").inner_text() == "Your comment was posted."
    assert article.locator("p").count() == 2
    assert page.input_value("#comment-body") == ""  # the form was reset
    assert page.evaluate("!!document.activeElement.closest('#comment-form')")  # focus stayed
    [_, mine] = comments(app)
    assert article.get_attribute("id") == f"comment-{mine.id}"
    # The poll runs every second: after two more, the reader's own comment is still there once.
    polls(page)
    assert page.locator(f"#comment-{mine.id}").count() == 1
    assert page.locator("#comment-count").inner_text() == "2 comments"


def test_empty_comment_shows_the_error_and_keeps_the_text(page, post_page):
    page.goto(post_page)
    page.evaluate("window.__marker = 'still here'")
    page.fill("#comment-author-name", "Ada")
    page.fill("#comment-author-url", "ada.example.org")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("#comment-submit")
    assert answer.value.status == 422
    error = page.locator("#comment-body-error")
    error.wait_for()
    assert "Please write a comment" in error.inner_text()
    assert page.get_attribute("#comment-body", "aria-invalid") == "true"
    assert "comment-body-error" in page.get_attribute("#comment-body", "aria-describedby")
    assert page.input_value("#comment-author-name") == "Ada"
    assert page.input_value("#comment-author-url") == "https://ada.example.org"
    assert page.evaluate("window.__marker") == "still here"
    assert page.evaluate("document.activeElement.id") == "comment-body"
    # Fixing it posts it.
    page.fill("#comment-body", "Now with words.")
    page.click("#comment-submit")
    page.locator("article.comment", has_text="Now with words.").wait_for()
    assert page.locator(".form-error").count() == 0


def test_without_javascript_the_form_still_works(app, browser, post_page):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(post_page)
        page.fill("#comment-author-name", "Ada")
        with page.expect_navigation() as nav:
            page.click("#comment-submit")
        assert nav.value.status == 422
        assert "Please write a comment" in page.inner_text("#comment-body-error")
        assert page.input_value("#comment-author-name") == "Ada"
        assert page.locator("h1").count() == 1  # the whole page, errors and all

        page.fill("#comment-body", "No JavaScript needed.")
        page.click("#comment-submit")
        page.wait_for_url(re.compile(r"#comment-\d+$"))
        mine = comments(app)[-1]
        assert page.url.endswith(f"#comment-{mine.id}")
        assert "No JavaScript needed." in page.inner_text(f"#comment-{mine.id}")
        assert page.inner_text("#comment-count") == "2 comments"
    finally:
        context.close()


def test_a_comment_from_one_reader_appears_for_another(browser, post_page):
    one = browser.new_context()
    other = browser.new_context()
    try:
        writer, reader = one.new_page(), other.new_page()
        writer.goto(post_page)
        reader.goto(post_page)
        reader.evaluate("window.__marker = 'still here'")
        writer.fill("#comment-author-name", "Bo")
        writer.fill("#comment-body", "Hello from the other tab.")
        writer.click("#comment-submit")
        writer.locator("article.comment", has_text="Hello from the other tab.").wait_for()
        arrived = reader.locator("article.comment", has_text="Hello from the other tab.")
        arrived.wait_for(timeout=POLL_SECONDS * 4000)
        assert reader.inner_text("#comment-count") == "2 comments"
        assert reader.evaluate("window.__marker") == "still here"
        polls(reader)
        assert arrived.count() == 1  # appended once, never again
        assert reader.locator("article.comment").count() == 2
    finally:
        one.close()
        other.close()


def test_reply_in_place(app, page, post_page):
    page.goto(post_page)
    page.evaluate("window.__marker = 'still here'")
    page.fill("#comment-author-name", "Ada")
    page.fill("#comment-body", "Typed before deciding to reply.")
    [first] = comments(app)
    page.click("a.comment-reply")
    slot = page.locator(f"#reply-slot-{first.id} form#comment-form")
    slot.wait_for()
    assert page.locator("form#comment-form").count() == 1  # the form moved, not copied
    assert page.input_value("#comment-body") == "Typed before deciding to reply."
    assert page.input_value("#comment-parent") == str(first.id)
    assert page.evaluate("document.activeElement.id") == "comment-body"
    page.fill("#comment-body", "A reply, in place.")
    page.click("#comment-submit")
    reply = page.locator(f"#replies-{first.id} article.comment", has_text="A reply, in place.")
    reply.wait_for()
    assert page.evaluate("window.__marker") == "still here"
    # The form is back where it belongs, ready for a new comment.
    page.locator("#comment-form-slot form#comment-form").wait_for()
    assert page.locator("form#comment-form").count() == 1
    assert page.input_value("#comment-parent") == ""
    assert comments(app)[-1].parent_id == first.id


def test_a_network_failure_says_so_and_keeps_the_text(app, page, post_page):
    page.goto(post_page)
    page.evaluate("window.__marker = 'still here'")

    def fail_posts(route):
        if route.request.method == "POST":
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route(re.compile(r".*/comments$"), fail_posts)
    page.fill("#comment-author-name", "Ada")
    page.fill("#comment-body", "Words that must survive.")
    page.click("#comment-submit")
    alert = page.locator("#comment-form-alert")
    alert.wait_for(state="visible")
    assert "could not be sent" in alert.inner_text()
    assert page.input_value("#comment-body") == "Words that must survive."
    assert page.is_enabled("#comment-submit")

    # A server error says so too, and nothing is swapped into the list.
    page.unroute(re.compile(r".*/comments$"))
    page.route(
        re.compile(r".*/comments$"),
        lambda route: (
            route.fulfill(status=500, body="<h1>boom</h1>", content_type="text/html")
            if route.request.method == "POST"
            else route.continue_()
        ),
    )
    page.click("#comment-submit")
    wait_until(
        page, "document.getElementById('comment-form-alert').textContent.includes('could not save')"
    )
    assert page.input_value("#comment-body") == "Words that must survive."
    assert "boom" not in page.inner_text("#comments")
    assert page.evaluate("window.__marker") == "still here"
    assert len(comments(app)) == 1

    # When the network is back, the same text goes through.
    page.unroute(re.compile(r".*/comments$"))
    page.click("#comment-submit")
    page.locator("article.comment", has_text="Words that must survive.").wait_for()
    assert page.is_hidden("#comment-form-alert")


def test_times_are_shown_in_the_readers_time_zone(browser, post_page):
    context = browser.new_context(timezone_id="Asia/Tokyo", locale="en-GB")
    page = context.new_page()
    try:
        page.goto(post_page)
        time = page.locator("article.comment time").first
        assert time.get_attribute("title").endswith("UTC")
        shown = time.inner_text()
        assert "UTC" not in shown
        iso = time.get_attribute("datetime")
        expected = page.evaluate(
            "iso => new Intl.DateTimeFormat(undefined, {dateStyle: 'long', timeStyle: 'short'})"
            ".format(new Date(iso))",
            iso,
        )
        assert shown == expected
    finally:
        context.close()


def test_a_form_on_another_site_is_refused_and_the_text_kept(app, page, post_page):
    """Another site's page posting to ours, with the reader's browser: Chromium says so
    (Sec-Fetch-Site: cross-site, Origin) and the blog refuses it, showing what was sent."""
    seen = []

    @app.before_request
    def what_the_browser_said():
        if request.method == "POST":
            seen.append((request.headers.get("Sec-Fetch-Site"), request.headers.get("Origin")))

    forged = (
        f'<form method="post" action="{post_page}comments">'
        '<input name="author_name" value="Mallory">'
        '<textarea name="body">Forged words</textarea>'
        '<button id="go" type="submit">Go</button></form>'
    )
    page.route(
        "http://evil.example/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body=forged),
    )
    page.goto("http://evil.example/a-page")
    with page.expect_navigation() as nav:
        page.click("#go")
    assert nav.value.status == 403
    assert seen == [("cross-site", "http://evil.example")]
    assert "another site" in page.inner_text("#comment-form-alert")
    assert page.input_value("#comment-body") == "Forged words"
    assert len(comments(app)) == 1  # only the fixture's comment


def test_the_writers_expired_form_says_so_keeps_the_text_and_sends_again(app, page, post_page):
    """The logged-in writer's comment form still carries its token; an expired one is refused
    in place (400), the text kept, and the form that comes back sends."""
    factories.writer(app)
    site = post_page.split("/20", 1)[0]
    page.goto(site + "/login")
    page.fill("#username", "nell")
    page.fill("#password", factories.PASSWORD)
    with page.expect_navigation():
        page.click("#submit")
    page.goto(post_page)
    assert page.locator("nav.writer-bar").is_visible()
    page.evaluate(
        """() => {
            document.querySelector("#comment-form input[name=csrf_token]").value = "expired";
            document.body.setAttribute("data-hx-headers", '{"X-CSRFToken": "expired"}');
        }"""
    )
    page.fill("#comment-body", "Written over a long lunch.")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("#comment-submit")
    assert answer.value.status == 400
    alert = page.locator("#comment-form-alert")
    alert.wait_for(state="visible")
    assert "expired" in alert.inner_text()
    assert page.input_value("#comment-body") == "Written over a long lunch."
    assert len(comments(app)) == 1
    page.click("#comment-submit")  # the returned form carries a fresh token
    page.locator("article.comment", has_text="Written over a long lunch.").wait_for()
    assert len(comments(app)) == 2
