"""Reading pages in a real browser: layout on a desktop and a phone, light and dark."""

from __future__ import annotations

from tests.helpers.database import post_by_slug
from tests.helpers.factories import CLOSED_DEMO_POST, path_of


def closed_post_url(app, live_server: str) -> str:
    return live_server + path_of(post_by_slug(app, CLOSED_DEMO_POST))


def test_post_page_reads_like_the_reference(demo, live_server, page, tmp_path):
    page.goto(closed_post_url(demo, live_server))
    assert page.title().startswith("Surfacing after a long quiet spell")
    previous = page.locator("nav.post-nav a[rel=prev]")
    following = page.locator("nav.post-nav a[rel=next]")
    assert "A reading list for the winter" in previous.inner_text()
    assert "Comments are the best part of a blog" in following.inner_text()
    # Previous sits on the left and next on the right, as on the page it grew from.
    assert previous.bounding_box()["x"] < following.bounding_box()["x"]
    assert page.get_by_role("heading", level=1).inner_text() == "Surfacing after a long quiet spell"
    assert page.locator("#comment-count").inner_text() == "6 comments"
    assert page.locator("article.comment").count() == 6
    assert page.get_by_text("Comments are closed.").is_visible()
    assert page.get_by_role("link", name="Subscribe to this post’s comment feed").is_visible()
    page.screenshot(path=str(tmp_path / "post.png"), full_page=True)


def test_comment_permalink_highlights_the_comment(demo, live_server, page):
    page.goto(closed_post_url(demo, live_server))
    first = page.locator("article.comment").first
    first.locator("a.comment-permalink").click()
    assert page.url.endswith("#" + first.get_attribute("id"))
    background = first.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")


def test_phone_width_has_no_horizontal_scroll(demo, live_server, browser):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    page = context.new_page()
    try:
        for path in ("/", closed_post_url(demo, live_server).removeprefix(live_server)):
            page.goto(live_server + path)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
    finally:
        context.close()


def test_dark_mode_follows_the_system(demo, live_server, browser):
    colours = {}
    for scheme in ("light", "dark"):
        context = browser.new_context(color_scheme=scheme)
        page = context.new_page()
        page.goto(live_server + "/")
        colours[scheme] = page.evaluate("getComputedStyle(document.body).backgroundColor")
        context.close()
    assert colours["light"] != colours["dark"]
    assert colours["dark"] == "rgb(22, 24, 27)"
