"""The sanitized hostile corpus, loaded into Chromium with htmx: nothing runs, no dialog opens.

No CSP is sent here on purpose: the HTML itself must be inert, not merely blocked.
"""

from __future__ import annotations

from pathlib import Path

from blog.sanitize import clean_comment
from tests.helpers.hostile import load_corpus

ROOT = Path(__file__).resolve().parents[2]
HTMX = ROOT / "static" / "vendor" / "htmx-2.0.11" / "htmx.min.js"
ORIGIN = "http://blog.test"


def serve(page, body: str) -> tuple[list[str], list[str]]:
    """Open body in a page that loads htmx; return the dialogs opened and URLs requested."""
    dialogs: list[str] = []
    requested: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    document = (
        "<!doctype html><html><head><meta charset=utf-8><title>t</title>"
        f'<script src="{ORIGIN}/htmx.js"></script></head><body>{body}</body></html>'
    )

    def handle(route):
        url = route.request.url
        if url == f"{ORIGIN}/":
            route.fulfill(status=200, content_type="text/html", body=document)
        elif url == f"{ORIGIN}/htmx.js":
            route.fulfill(status=200, content_type="text/javascript", body=HTMX.read_text())
        else:
            # Anything a payload makes the browser fetch, or htmx request: note it, refuse it.
            if not url.endswith("/favicon.ico"):
                requested.append(url)
            route.abort()

    page.route("**/*", handle)
    page.goto(f"{ORIGIN}/")
    page.wait_for_function("window.htmx !== undefined")
    page.wait_for_timeout(800)  # onload, onerror, animations, htmx "load" triggers
    return dialogs, requested


def test_the_harness_sees_a_script_run_and_a_request(page):
    dialogs, requested = serve(page, '<img src="/x.png" onerror="alert(\'ran\')">')
    assert dialogs == ["ran"]
    assert requested == [f"{ORIGIN}/x.png"]


def test_sanitized_corpus_is_inert_in_chromium_with_htmx(page):
    comments = "".join(
        # Deliberately without data-hx-disable: even htmx processing it must find nothing.
        f'<article id="c{i}">{clean_comment(payload)}</article>'
        for i, payload in enumerate(load_corpus())
    )
    dialogs, requested = serve(page, comments)
    assert dialogs == []
    assert requested == []
    # Nothing in the comments that runs, loads or takes over the page (htmx's own <script>
    # and injected <style> sit in <head>).
    dangerous = "script, iframe, object, embed, img, svg, math, style, link, meta, base, form"
    assert page.evaluate(f"document.body.querySelectorAll('{dangerous}').length") == 0
    # Every comment's text is there to read.
    assert page.locator("article").count() == len(load_corpus())
