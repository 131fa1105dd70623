"""Chromium: preview a Markdown comment, post it, edit it and save, delete it, without a reload;
and the same reader without JavaScript."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import expect

from blog.extensions import db
from blog.models import Comment
from tests.helpers import factories


def stored(app) -> list[Comment]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(Comment).order_by(Comment.id)))
        db.session.expunge_all()
        return rows


def test_preview_post_edit_save_and_delete_in_place(app, live_server, page):
    post = factories.post(app)
    page.goto(live_server + factories.path_of(post))
    page.evaluate("window.__marker = 'still here'")
    page.fill("#comment-author-name", "Ada")
    page.fill("#comment-body", "Some *emphasis* and a typo hree.")
    page.click("#comment-preview-button")
    preview = page.locator(".comment-preview .comment-body em")
    preview.wait_for()
    assert preview.inner_text() == "emphasis"
    assert page.input_value("#comment-body") == "Some *emphasis* and a typo hree."
    assert stored(app) == []  # a preview stores nothing

    page.click("#comment-submit")
    # In the list, not the preview above the form (also an article.comment with this text).
    article = page.locator("[id^='comment-item-'] article.comment", has_text="a typo hree")
    article.wait_for()
    [mine] = stored(app)
    edit = page.locator(f"#comment-{mine.id} .comment-edit-link")
    edit.click()
    box = page.locator(f"#comment-edit-body-{mine.id}")
    # Focused by static/js/comments.js on htmx:afterSettle, which comes after the swap shows the
    # box (htmx's settle delay): wait for it (expect polls; wait_for_function's string needs
    # eval, which the CSP refuses).
    expect(box).to_be_focused()
    box.fill("Some *emphasis* and a typo **here**.")
    page.click(f"#comment-{mine.id} button[value='save']")
    page.locator(f"#comment-{mine.id} .comment-body strong").wait_for()
    assert page.locator(f"#comment-{mine.id} .comment-edited").count() == 1
    assert page.locator("#comment-status").inner_text() == "Your changes were saved."
    assert page.evaluate("window.__marker") == "still here"  # no reload
    assert stored(app)[0].body == "Some *emphasis* and a typo **here**."

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#comment-{mine.id} .comment-edit-link").click()
    page.locator(f"#comment-{mine.id} button[value='delete']").click()
    page.locator(f"#comment-item-{mine.id}").wait_for(state="detached")
    assert page.locator("#comment-count").inner_text() == "0 comments"
    assert page.evaluate("window.__marker") == "still here"
    assert stored(app) == []


def test_a_dismissed_delete_keeps_the_comment(app, live_server, page):
    post = factories.post(app)
    page.goto(live_server + factories.path_of(post))
    page.fill("#comment-author-name", "Ada")
    page.fill("#comment-body", "Keep me.")
    page.click("#comment-submit")
    page.locator("article.comment", has_text="Keep me.").wait_for()
    [mine] = stored(app)
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator(f"#comment-{mine.id} .comment-edit-link").click()
    page.locator(f"#comment-{mine.id} button[value='delete']").click()
    page.locator(f"#comment-edit-body-{mine.id}").wait_for()  # still the form
    assert [c.id for c in stored(app)] == [mine.id]


def test_without_javascript_preview_post_and_fix_a_typo(app, live_server, browser):
    post = factories.post(app)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(live_server + factories.path_of(post))
        page.fill("#comment-author-name", "Ada")
        page.fill("#comment-body", "No script, *still* formatted, typo hree.")
        page.click("#comment-preview-button")
        page.wait_for_load_state()
        assert page.locator(".comment-preview em").inner_text() == "still"
        assert page.input_value("#comment-body") == "No script, *still* formatted, typo hree."
        page.click("#comment-submit")
        page.wait_for_load_state()
        [mine] = stored(app)
        page.click(f"#comment-{mine.id} .comment-edit-link")
        page.wait_for_load_state()
        page.fill(f"#comment-edit-body-{mine.id}", "No script, *still* formatted, typo here.")
        page.click("button[value='save']")
        page.wait_for_load_state()
        assert "typo here" in page.locator(f"#comment-{mine.id}").inner_text()
        assert stored(app)[0].edited_at is not None
    finally:
        context.close()
