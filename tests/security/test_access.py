"""CSRF, authorization and open redirects, for every route app.url_map has (now and later)."""

from __future__ import annotations

import pytest
from flask import Flask
from werkzeug.routing import Rule

from blog.extensions import csrf
from tests.helpers import factories
from tests.helpers.auth import login
from tests.helpers.html import csrf_token, main_text, parse
from tests.helpers.routes import (
    admin_rules,
    rule_urls,
    same_origin,
    sample_values,
    state_changing_rules,
)

# POST routes exempt from CSRF by design, with what authorizes a request instead. Each is
# checked below to refuse a request whose authorization is missing or forged.
SIGNED_URL_ROUTES = {
    # RFC 8058 one-click unsubscribe: mail clients POST with no cookies (so no CSRF token);
    # the signed token in the URL is the authorization.
    "subscriptions.unsubscribe",
}
# Open to any site by design (W3C Webmention): it only queues a check of a public page, which
# must link to ours; SECURITY.md says why that is safe.
OPEN_APIS = {"webmention.receive_webmention"}
CROSS_SITE_APIS = SIGNED_URL_ROUTES | OPEN_APIS
# Readers' forms on pages every anonymous reader shares (blog.pagecache): such a page cannot
# carry a token bound to one reader's session, so these take none from readers and refuse what
# a browser says another site sent instead (blog.origin, 403); a logged-in writer's request
# still needs the token. The walker checks exactly these for the origin rule, every other
# state-changing route for the token.
ORIGIN_GUARDED_FORMS = {
    "comments.create",
    "comments.preview",  # the comment form's Preview button (issue 17)
    "comments.edit",  # one's own comment, edited or deleted within the window (issue 17)
}
# Every view Flask-WTF skips, each for one of the reasons above.
TOKEN_EXEMPT = CROSS_SITE_APIS | ORIGIN_GUARDED_FORMS

# A browser's signs that another site's page sent the request (blog.origin refuses each).
CROSS_SITE = [
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
    {"Referer": "https://evil.example/a-page-with-a-form"},
    # Sec-Fetch-Site says nothing usable: the Origin decides.
    {"Sec-Fetch-Site": "some-future-value", "Origin": "https://evil.example"},
]


def refused_without_token(
    app: Flask, client, rules: list[Rule], origin_guarded: set[str] = ORIGIN_GUARDED_FORMS
) -> list[str]:
    """Return the state-changing rules that did NOT refuse a forged request.

    Every rule must refuse a request without a valid CSRF token (400), except the cross-site
    APIs (checked by their own tests) and the forms named in origin_guarded: those must refuse a
    request any of CROSS_SITE marks as another site's (403). (That the writer's session still
    needs the token there is shown by test_origin_guarded_forms_still_want_the_writers_token.)
    """
    values = sample_values(app)
    failures = []
    rules = [rule for rule in rules if rule.endpoint not in CROSS_SITE_APIS]
    for rule, url in rule_urls(app, rules, values):
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"}):
            if rule.endpoint in origin_guarded:
                for headers in CROSS_SITE:
                    response = client.open(url, method=method, data={"x": "1"}, headers=headers)
                    text = main_text(response.data)
                    if response.status_code != 403 or "another site" not in text:
                        failures.append(f"{method} {url} {headers}: {response.status_code}")
                continue
            for headers in ({}, {"X-CSRFToken": "not-a-valid-token"}):
                response = client.open(url, method=method, data={"x": "1"}, headers=headers)
                if response.status_code != 400 or "could not be sent" not in main_text(
                    response.data
                ):
                    failures.append(f"{method} {url} {headers}: {response.status_code}")
    return failures


def test_every_state_changing_route_refuses_a_post_without_token(app, client, demo):
    rules = state_changing_rules(app)
    assert ORIGIN_GUARDED_FORMS <= {r.endpoint for r in rules}
    assert not refused_without_token(app, client, rules)
    # The same requests with a valid token (from this site's own pages) are not refused for
    # CSRF: the check is the token, or for the public forms where the browser says it was.
    urls = [url for _rule, url in rule_urls(app, rules, sample_values(app))]
    same_site = {"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"}
    for url in urls:
        # A fresh token each time: an earlier POST may have logged out and emptied the session.
        token = csrf_token(client)
        headers = {"X-CSRFToken": token, **same_site}
        response = client.post(url, data={"csrf_token": token}, headers=headers)
        text = main_text(response.data)
        assert "could not be sent" not in text and "another site" not in text, url


def test_origin_guarded_forms_still_want_the_writers_token(app, client, demo):
    """A logged-in writer's session is never exempt: without the token, 400 as everywhere."""
    factories.writer(app)
    assert login(client).status_code == 303
    rules = [r for r in state_changing_rules(app) if r.endpoint in ORIGIN_GUARDED_FORMS]
    assert {r.endpoint for r in rules} == ORIGIN_GUARDED_FORMS
    same_site = {"Sec-Fetch-Site": "same-origin"}
    for _rule, url in rule_urls(app, rules, sample_values(app)):
        for headers in (same_site, {**same_site, "X-CSRFToken": "not-a-valid-token"}):
            response = client.post(url, data={"x": "1"}, headers=headers)
            assert response.status_code == 400, (url, headers)
            assert "could not be sent" in main_text(response.data)


def test_signed_url_routes_refuse_a_forged_signature(app, client, demo):
    """The routes without a CSRF token refuse a URL whose signed token is forged or missing."""
    rules = [r for r in state_changing_rules(app) if r.endpoint in SIGNED_URL_ROUTES]
    assert {r.endpoint for r in rules} == SIGNED_URL_ROUTES
    for _rule, url in rule_urls(app, rules, {"token": "eyJhIjoxLCJrIjoieCIsInAiOjB9.forged"}):
        response = client.post(url, data={"List-Unsubscribe": "One-Click"})
        assert response.status_code == 400, url
        assert "This link does not work" in main_text(response.data), url


def test_csrf_walker_catches_an_unprotected_route(app, client, demo):
    """Prove the walker can fail: a route exempt from CSRF is reported."""

    @app.post("/__unprotected")
    def unprotected():
        return "changed"

    csrf.exempt(unprotected)
    rules = [r for r in state_changing_rules(app) if r.rule == "/__unprotected"]
    assert refused_without_token(app, client, rules) == [
        "POST /__unprotected {}: 200",
        "POST /__unprotected {'X-CSRFToken': 'not-a-valid-token'}: 200",
    ]


def test_origin_walker_catches_a_form_that_only_claims_the_check(app, client, demo):
    """Prove the walker can fail: an exempt route named as origin-guarded but not checking."""

    @app.post("/__claims")
    def claims():
        return "changed"

    csrf.exempt(claims)
    rules = [r for r in state_changing_rules(app) if r.rule == "/__claims"]
    assert refused_without_token(app, client, rules, origin_guarded={"claims"}) == [
        f"POST /__claims {headers}: 200" for headers in CROSS_SITE
    ]


def test_csrf_is_on_in_tests_too(app):
    # TESTING=True does not switch Flask-WTF's check off: the suite tests the real thing.
    assert app.config["TESTING"] and app.config.get("WTF_CSRF_ENABLED", True)


# --- Authorization -------------------------------------------------------------------------


def anonymous_failures(app: Flask, client) -> list[str]:
    """Return the /admin rules an anonymous visitor got through to."""
    token = csrf_token(client)
    failures = []
    for rule, url in rule_urls(app, admin_rules(app), sample_values(app)):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, headers={"X-CSRFToken": token})
            location = response.headers.get("Location", "")
            refused = response.status_code in (401, 403) or (
                response.status_code in (302, 303) and "/login" in location
            )
            if not refused:
                failures.append(f"{method} {url}: {response.status_code} {location}")
    return failures


def test_every_admin_route_refuses_anonymous_visitors(app, client, demo):
    if "admin" in app.blueprints:
        assert admin_rules(app), "the admin blueprint is registered but has no /admin rule"
    assert not anonymous_failures(app, client)


def test_admin_walker_catches_an_open_route(app, client, demo):
    @app.get("/admin/__open")
    def open_door():
        return "secrets"

    assert "GET /admin/__open: 200 " in anonymous_failures(app, client)


# --- Open redirects ------------------------------------------------------------------------

# Targets that leave the site if a redirect sends the browser there as they are.
EVIL_NEXT = [
    "https://evil.example/",
    "http://evil.example",
    "//evil.example/",
    "///evil.example/",
    "////evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "\\/evil.example/",
    "https:evil.example",
    "https:/evil.example",
    "http://localhost@evil.example/",
    "http://evil.example\\@localhost/",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    " //evil.example/",
    "\t//evil.example/",
    "/\t/evil.example/",
    "\u3002evil.example",
    "https://evil.example%23@localhost/",
]
# Encoded tricks: harmless as a literal Location, dangerous if the app decodes them again.
ENCODED_NEXT = [
    "/%5Cevil.example/",
    "%2F%2Fevil.example/",
    "/%2F/evil.example",
    "/%09/evil.example/",
]


def assert_no_open_redirect(app: Flask, login_url: str, fields: dict[str, str]) -> None:
    """Log in with next= set to each hostile target; every redirect must stay on this site.

    login_url is the login page; fields the credentials. The form's other fields (the CSRF
    token, a hidden next) are read from the page, the way a browser sends them. Each target
    gets a new client (a session of its own).
    """
    for target in EVIL_NEXT + ENCODED_NEXT:
        client = app.test_client()
        page = client.get(login_url, query_string={"next": target})
        assert page.status_code == 200, target
        form = parse(page).find(".//form[@method='post']")
        data = {i.get("name"): i.get("value", "") for i in form.iter("input") if i.get("name")}
        data.update(fields)
        action = form.get("action") or login_url
        response = client.post(action, data=data)
        assert response.status_code in (302, 303), (target, response.status_code)
        location = response.headers["Location"]
        assert same_origin(location), f"next={target!r} sent the writer to {location!r}"


def test_login_next_never_leaves_the_site(app):
    if "admin.login" not in app.view_functions:
        pytest.skip("no admin.login endpoint yet (the back office is being built): nothing to test")
    writer = factories.writer(app)
    assert_no_open_redirect(
        app, "/login", {"username": writer.username, "password": factories.PASSWORD}
    )


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_same_origin_rejects_every_hostile_target(target):
    """The redirect check above must itself refuse what it is meant to catch."""
    assert not same_origin(target)


@pytest.mark.parametrize(
    "target", ["/", "/admin/", "/2026/11/a-post/?x=1#c", "http://localhost/", *ENCODED_NEXT[::2]]
)
def test_same_origin_accepts_local_targets(target):
    assert same_origin(target)


def test_only_the_named_routes_are_exempt_from_csrf(app):
    """Every view Flask-WTF skips is one TOKEN_EXEMPT names, and the origin-guarded forms are
    exactly those blog.origin.protect wraps (so the walker checks the rule each one keeps)."""
    exempt = {
        endpoint
        for endpoint, view in app.view_functions.items()
        if f"{view.__module__}.{view.__name__}" in csrf._exempt_views
    }
    assert exempt == TOKEN_EXEMPT
    guarded = {
        endpoint
        for endpoint, view in app.view_functions.items()
        if getattr(view, "cross_origin_protected", False)
    }
    assert guarded == ORIGIN_GUARDED_FORMS
