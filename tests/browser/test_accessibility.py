"""Every page type, light and dark, has no axe-core violation; motion and print are cared for.

axe-core (npm, node_modules/axe-core) runs in Chromium on the page as served, its strict CSP
on: Playwright evaluates the library through the DevTools protocol, which the page's policy
does not govern, so nothing is loosened for the test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from blog.extensions import db
from blog.models import Post, PostKind
from tests.conftest import require
from tests.helpers.factories import PASSWORD, comment, path_of, writer

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
OPEN_POST = "comments-are-the-best-part-of-a-blog"


def axe_violations(page) -> list[str]:
    """Run axe-core on the page; return one line per violation (rule, impact, elements)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(" ".join(n["target"]) for n in v["nodes"][:5])
        for v in result["violations"]
    ]


@pytest.fixture
def urls(demo):
    """A URL of every page type a reader or the writer sees, from the demo blog."""
    require(AXE.exists(), "axe-core (npm ci)", "npm")
    with demo.app_context():
        posts = {p.slug: p for p in db.session.scalars(sa.select(Post))}
        db.session.expunge_all()
    open_post = posts[OPEN_POST]
    # A reply, so a thread is checked too.
    first = comment(demo, open_post, "A first thought.", author_name="Ada")
    comment(demo, open_post, "A reply to it.", author_name="Bo", parent=first)
    draft = next(p for p in posts.values() if p.status == "draft")
    about = next(p for p in posts.values() if p.kind == PostKind.PAGE)
    reader = {
        "home": "/",
        "post with comments and form": path_of(open_post),
        "archive": f"/{open_post.published_at:%Y}/",
        "tag": "/tags/community/",
        "search results": "/search?q=comments",
        "search, nothing found": "/search?q=zebra",
        "page": f"/{about.slug}/",
        "not found": "/no-such-thing/",
        "login": "/login",
    }
    writer_pages = {
        "dashboard": "/admin/",
        "posts": "/admin/posts/",
        "editor, new post": "/admin/posts/new",
        "editor, a draft": f"/admin/posts/{draft.id}/edit",
        "pages": "/admin/pages/",
        "editor, a page": f"/admin/pages/{about.id}/edit",
        "comments": "/admin/comments?status=approved",
        "discussion settings": "/admin/settings",
        "site settings": "/admin/site",
        "import": "/admin/import",
    }
    return reader, writer_pages


def log_in(page, live_server):
    page.goto(live_server + "/login")
    page.fill("#username", "nell")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(live_server + "/admin/")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_axe_violation_on_any_page_type(app, urls, live_server, browser, scheme):
    writer(app)
    reader, writer_pages = urls
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    found = {}
    try:
        for name, path in reader.items():
            page.goto(live_server + path)
            found[name] = axe_violations(page)
        log_in(page, live_server)
        for name, path in writer_pages.items():
            response = page.goto(live_server + path)
            assert response.status == 200, (name, path, response.status)
            found[name] = axe_violations(page)
    finally:
        context.close()
    assert {name: v for name, v in found.items() if v} == {}


def test_axe_sees_a_violation(live_server, page, app):
    """The harness can fail: a page with an image without alt text and low contrast."""
    require(AXE.exists(), "axe-core (npm ci)", "npm")
    page.goto(live_server + "/")
    page.evaluate(
        """() => {
        const img = document.createElement('img'); img.src = '/static/none.png';
        document.querySelector('main').appendChild(img); }"""
    )
    assert any(line.startswith("image-alt") for line in axe_violations(page))


def test_reduced_motion_turns_off_transitions_and_smooth_scrolling(demo, live_server, browser):
    context = browser.new_context(reduced_motion="reduce")
    page = context.new_page()
    try:
        page.goto(live_server + "/")
        styles = page.evaluate(
            """() => {
            const link = document.querySelector('a');
            const style = getComputedStyle(link);
            return [style.transitionDuration, style.animationDuration,
                    getComputedStyle(document.documentElement).scrollBehavior];
        }"""
        )
    finally:
        context.close()
    assert styles == ["0s", "0s", "auto"]


def test_print_shows_the_post_and_its_comments_without_form_or_navigation(demo, live_server, page):
    with demo.app_context():
        open_post = db.session.scalar(sa.select(Post).where(Post.slug == OPEN_POST))
        db.session.expunge(open_post)
    comment(demo, open_post, "More at https://example.org/notes today.", author_name="Cy")
    page.goto(live_server + path_of(open_post))
    page.emulate_media(media="print")
    visible = page.evaluate(
        """() => Object.fromEntries(
        ['.site-header', '.site-footer', '.post-nav', '#comment-form', '.comments-feed',
         '.post-title', '.post-body', '#comments', 'article.comment', '.skip-link']
        .map(s => { const el = document.querySelector(s);
                    return [s, !!el && getComputedStyle(el).display !== 'none'
                                     && el.getClientRects().length > 0]; }))"""
    )
    assert visible == {
        ".site-header": False,
        ".site-footer": False,
        ".post-nav": False,
        "#comment-form": False,
        ".comments-feed": False,
        ".post-title": True,
        ".post-body": True,
        "#comments": True,
        "article.comment": True,
        ".skip-link": False,
    }
    # Links print their address after the text, so a printed page keeps them.
    after = page.evaluate(
        "getComputedStyle(document.querySelector('.comment-body a'), '::after').content"
    )
    assert after == '" (https://example.org/notes)"'

    pdf = page.pdf()
    assert pdf.startswith(b"%PDF")
