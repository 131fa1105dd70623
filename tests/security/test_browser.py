"""In Chromium: no payload runs, and no page type breaks the Content Security Policy.

The XSS pages load in a context that *bypasses* the CSP: the policy would block most inline
code anyway, so only with it off does a run prove the escaping and sanitizing themselves.
The CSP pages load with the policy on, as readers get them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from tests.helpers import factories
from tests.helpers.routes import page_type_urls
from tests.helpers.xss import PAYLOADS, publish_payload_posts

# What a browser runs does not depend on the database behind the pages.
pytestmark = pytest.mark.engine_independent

# Collected before any page script runs (init scripts are not subject to the page's CSP).
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""


@pytest.fixture
def app_config(app_config):
    return {**app_config, "POSTS_PER_PAGE": 50}


@pytest.fixture
def xss_page(browser):
    """A page with the CSP bypassed and every dialog (alert, confirm, prompt) recorded."""
    context = browser.new_context(bypass_csp=True, java_script_enabled=True)
    page = context.new_page()
    page.fired = []

    def on_dialog(dialog):
        page.fired.append(f"{dialog.type}: {dialog.message} on {page.url}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_dialog_handler_sees_code_that_runs(xss_page):
    """The harness must be able to fail: an injected handler that runs is caught."""
    with xss_page.expect_event("dialog"):
        xss_page.set_content("<img src=x onerror=alert('ran')>")
    assert xss_page.fired and "ran" in xss_page.fired[0]


def _visit(page, url: str, settle_ms: int = 30) -> None:
    # "load" waits for images, so their onerror has fired; settle_ms lets a late ontoggle or
    # animation handler fire too.
    page.goto(url, wait_until="load")
    if settle_ms:
        page.wait_for_timeout(settle_ms)


def test_stored_payloads_never_run_in_chromium(app, live_server, xss_page):
    posts = publish_payload_posts(app)
    everything = factories.post(
        app,
        "Every payload at once",
        "\n\n".join(PAYLOADS),
        author=posts[0].author.username,
        tags=["all"],
        published_at=datetime.now(UTC),
    )
    pages = len(PAYLOADS) // 50 + 1
    urls = [f"/?page={n}" for n in range(1, pages + 1)]
    urls.append(f"/{everything.published_at:%Y/%m}/{everything.slug}/")
    urls += [f"/{p.published_at:%Y/%m}/{p.slug}/" for p in posts[::10]]
    urls += sorted({f"/tags/{t.slug}/" for p in posts[::10] for t in p.tags})
    for url in urls:
        _visit(xss_page, live_server + url)
        assert xss_page.url == live_server + url, "a payload navigated away"
    assert xss_page.fired == []


def test_search_echo_never_runs_in_chromium(live_server, xss_page):
    for payload in PAYLOADS:
        url = f"{live_server}/search?{urlencode({'q': payload})}"
        _visit(xss_page, url, settle_ms=0)
        assert xss_page.url.startswith(f"{live_server}/search?"), payload
    assert xss_page.fired == []


def test_url_parts_never_run_in_chromium(live_server, xss_page):
    # The 404 page does not echo the URL; a sample proves it stays so in a real browser.
    from urllib.parse import quote

    for payload in PAYLOADS[::10]:
        _visit(xss_page, f"{live_server}/tags/{quote(payload, safe='')}/")
    assert xss_page.fired == []


# --- Content Security Policy ---------------------------------------------------------------


@pytest.fixture
def csp_page(page):
    """The fixture page, CSP on, with violations, console complaints and errors recorded."""
    page.complaints = []
    page.add_init_script(WATCH_CSP)

    def on_console(message):
        text = message.text
        if "Content Security Policy" in text or "Permissions-Policy" in text:
            page.complaints.append(f"console: {text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: page.complaints.append(f"page error: {error}"))
    return page


def _violations(page) -> list[str]:
    return page.complaints + [f"event: {v}" for v in page.evaluate("window.__cspViolations")]


def test_csp_listener_sees_a_violation(live_server, csp_page):
    """The harness must be able to fail: an inline style added to a real page is reported."""
    csp_page.goto(live_server + "/", wait_until="load")
    with csp_page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        csp_page.evaluate(
            "document.body.insertAdjacentHTML('beforeend', '<p style=\"color:red\">x</p>')"
        )
    assert _violations(csp_page)


def test_no_page_type_breaks_the_csp(app, demo, live_server, csp_page):
    urls = page_type_urls(app)
    assert len(urls) >= 10
    for url in urls:
        csp_page.complaints.clear()
        response = csp_page.goto(live_server + url, wait_until="load")
        assert response.status < 500, url
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        csp_page.wait_for_timeout(50)
        if "xml" in response.headers["content-type"]:
            # Chromium shows XML in its own tree viewer, which styles itself inline and so
            # trips the CSP; that page is the browser's, not ours (and holds no script).
            continue
        assert _violations(csp_page) == [], url
        if response.headers["content-type"].startswith("text/html"):
            # htmx ran (the CSP let our own script in) and injected no <style> of its own.
            assert csp_page.evaluate("typeof window.htmx") == "object", url
            assert csp_page.evaluate("htmx.config.includeIndicatorStyles") is False
            assert csp_page.evaluate("document.querySelectorAll('style').length") == 0, url


# --- Comments: payloads typed into the real form -----------------------------------------


def test_comment_payloads_typed_into_the_form_never_run(app, live_server, xss_page):
    """A sample of payloads in every comment field, sent with htmx, shown in place and reloaded."""
    post = factories.post(app, "Type anything", "A form for hostile readers.")
    factories.comment(app, post, "A comment to reply to.", author_name="First")
    url = live_server + factories.permalink(app, post)

    page = xss_page
    sample = PAYLOADS[::25]
    page.goto(url, wait_until="load")

    def send() -> int:
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.click("#comment-submit")
        page.wait_for_function(
            "!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
        )
        return answer.value.status

    for i, payload in enumerate(sample):
        # Website and email as typed: refused in place (422), the form echoing them.
        page.fill("#comment-author-name", payload[:100])
        page.fill("#comment-author-email", payload[:254])
        page.fill("#comment-author-url", payload[:500])
        page.fill("#comment-body", payload)
        assert send() == 422, payload
        assert page.locator("#comment-form .form-error").count() >= 1
        # Then kept as name and comment, shown in place.
        page.fill("#comment-author-email", "")
        page.fill("#comment-author-url", f"https://example.org/{i}")
        assert send() == 200, payload
        assert page.locator("#comment-list article.comment").count() == i + 2
        assert page.url == url, payload
    page.wait_for_timeout(100)
    _visit(page, url)  # the whole page, every payload from the database
    assert page.url == url
    assert page.locator("#comment-list article.comment").count() == len(sample) + 1
    assert page.fired == []
