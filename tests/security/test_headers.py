"""Security headers on every response, HSTS and Secure cookies over HTTPS, ProxyFix, request ids."""

from __future__ import annotations

import logging

import pytest

from blog import create_app
from blog.security import CONTENT_SECURITY_POLICY
from tests.helpers.config import base_config

# Headers and cookies are the same whatever the database.
pytestmark = pytest.mark.engine_independent

EXACT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def test_policy_is_the_strict_one():
    assert CONTENT_SECURITY_POLICY == EXACT_CSP
    assert "unsafe" not in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/search?q=notebook",
        "/tags/writing/",
        "/static/css/blog.css",
        "/static/vendor/htmx-2.0.11/htmx.min.js",
        "/robots.txt",
        "/sitemap.xml",
        "/sitemap-pages-1.xml",
        "/about/",  # a page (the demo's About)
        "/no-such-page/",
        "/search?q=" + "x" * 500,
    ],
)
def test_every_response_has_the_headers(client, demo, url):
    response = client.get(url)
    response.close()  # static files are streamed from an open file
    assert response.status_code in (200, 404, 422)
    assert response.headers["Content-Security-Policy"] == EXACT_CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    policy = response.headers["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
        assert feature in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    secure = client.get("/", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_hsts_can_be_turned_off(database_uri):
    app = create_app(base_config(database_uri, HSTS_MAX_AGE=0))
    response = app.test_client().get("/", base_url="https://localhost")
    assert "Strict-Transport-Security" not in response.headers


def _set_cookies(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_cookies_secure_only_over_https(database_uri):
    # Rendering the login form writes the CSRF token into the session cookie (reading pages
    # set none).
    app = create_app(base_config(database_uri))
    plain = _set_cookies(app.test_client().get("/login"))
    assert plain and all("Secure" not in c for c in plain)
    secure = _set_cookies(app.test_client().get("/login", base_url="https://x"))
    assert secure and all(c.endswith("; Secure") or "; Secure;" in c for c in secure)
    assert all("HttpOnly" in c and "SameSite=Lax" in c for c in plain + secure)


def test_forced_secure_cookie_is_not_marked_twice(database_uri):
    app = create_app(base_config(database_uri, SESSION_COOKIE_SECURE=True))
    cookies = _set_cookies(app.test_client().get("/login", base_url="https://localhost"))
    assert cookies and all(c.count("Secure") == 1 for c in cookies)


def test_forwarded_headers_ignored_unless_configured(client):
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    response = client.get("/login", headers=headers)
    assert "Strict-Transport-Security" not in response.headers  # a client cannot fake HTTPS
    assert _set_cookies(response) and all("Secure" not in c for c in _set_cookies(response))


def test_proxy_fix_when_configured(database_uri):
    app = create_app(base_config(database_uri, PROXY_FIX_X_FOR=1, PROXY_FIX_X_PROTO=1))
    seen = {}

    @app.get("/__whoami")
    def whoami():
        from flask import request

        seen.update(addr=request.remote_addr, scheme=request.scheme)
        return "ok"

    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.1, 203.0.113.9"}
    response = app.test_client().get("/__whoami", headers=headers)
    assert seen == {"addr": "203.0.113.9", "scheme": "https"}  # only the one trusted hop
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    cookies = _set_cookies(app.test_client().get("/login", headers=headers))
    assert cookies and all("Secure" in c for c in cookies)


def test_request_id_generated_and_returned(client):
    first = client.get("/").headers["X-Request-ID"]
    second = client.get("/").headers["X-Request-ID"]
    assert len(first) == 32 and first != second


@pytest.mark.parametrize(
    "sent, kept",
    [
        ("a1b2c3d4-e5f6-7890-abcd-ef1234567890", True),
        ("proxy-id.42:7", True),
        ("short", False),
        ("x" * 500, False),
        ("abcdefgh\r\nX-Injected: 1", False),
        ("abcdefgh<script>", False),
        ("abcdefgh%0d%0a", False),
    ],
)
def test_request_id_from_proxy_only_when_sane(client, sent, kept):
    # Straight into the WSGI environ: werkzeug's client would refuse a header with CR LF.
    response = client.get("/", environ_overrides={"HTTP_X_REQUEST_ID": sent})
    assert (response.headers["X-Request-ID"] == sent) is kept
    assert "X-Injected" not in response.headers


def test_request_id_in_every_log_line_of_a_request(app, client, caplog):
    @app.get("/__log")
    def log_something():
        app.logger.warning("something odd")
        return "ok"

    with caplog.at_level(logging.WARNING, logger=app.logger.name):
        response = client.get("/__log", headers={"X-Request-ID": "req-12345678"})
    assert response.headers["X-Request-ID"] == "req-12345678"
    assert "something odd [request id req-12345678]" in caplog.text


def test_every_cookie_gets_secure_over_https_remember_me_too(database_uri):
    # Flask-Login's remember-me cookie is set in an after_request hook, after the app's own;
    # the WSGI middleware sees every Set-Cookie whoever wrote it.
    app = create_app(base_config(database_uri))

    @app.get("/__cookies")
    def set_cookies():
        from flask import make_response

        response = make_response("ok")
        response.set_cookie("remember_token", "1|abc", httponly=True)
        response.set_cookie("other", "x; not-secure")
        return response

    cookies = _set_cookies(app.test_client().get("/__cookies", base_url="https://localhost"))
    assert len(cookies) == 2 and all(c.endswith("; Secure") for c in cookies)
    plain = _set_cookies(app.test_client().get("/__cookies"))
    assert len(plain) == 2 and not any("Secure" in c for c in plain)
