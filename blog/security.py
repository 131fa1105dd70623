"""Security for every request: headers, proxy trust, Secure cookies, request ids, input hygiene.

One place for the defences that do not belong to a blueprint:

- strict security headers on every response (a CSP without ``unsafe-inline`` or ``unsafe-eval``);
- ProxyFix when the operator says how many proxies to trust (``PROXY_FIX_X_*``);
- a plain 400 for a ``Host`` outside ``TRUSTED_HOSTS``, before Flask builds any URL from it;
- ``Secure`` on every cookie we set over HTTPS, and HSTS over HTTPS;
- a request id (``g.request_id``, the ``X-Request-ID`` header) logged with every 5xx;
- control characters (NUL...) stripped from every query-string and form value before any view
  sees them, and URL parts that no slug could ever contain answered with 404, so a database
  never gets a value it cannot store (PostgreSQL refuses NUL) and no view has to remember.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Request, Response, abort, current_app, g, has_request_context, request
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wsgi import get_host

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# Features a blog never uses; only names Chromium and Firefox know (an unknown one is a warning).
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": PERMISSIONS_POLICY,
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_KEY = "HTTP_" + REQUEST_ID_HEADER.upper().replace("-", "_")  # in a WSGI environ
# A proxy's id is reused only if it is short and plain: it goes into logs and a header.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
# C0 controls but tab, LF and CR; DEL; C1 controls. Never meaningful in text a person types.
_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Longer than any slug, tag or id this blog makes (Post.slug is 200 characters at most).
MAX_URL_PART_LENGTH = 300

PROXY_FIX_KEYS = ("x_for", "x_proto", "x_host", "x_port", "x_prefix")


def strip_control_characters(text: str) -> str:
    """Return text without NUL and the other control characters (tab and line breaks stay)."""
    return _CONTROL_CHARACTERS.sub("", text)


class CleanMultiDict(ImmutableMultiDict):
    """Query-string and form values with control characters removed from keys and values."""

    def __init__(self, mapping: Any = None) -> None:
        pairs: Iterable[tuple[Any, Any]] = MultiDict(mapping).items(multi=True) if mapping else ()
        super().__init__([(_clean(key), _clean(value)) for key, value in pairs])


def _clean(value: Any) -> Any:
    return strip_control_characters(value) if isinstance(value, str) else value


class BlogRequest(Request):
    """Flask's request, parsing query strings and forms into CleanMultiDict."""

    parameter_storage_class = CleanMultiDict


def request_id() -> str:
    """Return this request's id (the proxy's X-Request-ID if sane, else a new random one)."""
    if "request_id" not in g:
        _start_request()
    return g.request_id


def _start_request() -> None:
    # Set on every request, not only when missing: a test's app context can outlive one.
    g.request_id = new_request_id(request.environ)


def new_request_id(environ: dict) -> str:
    """Return the id of the request environ: its proxy's X-Request-ID if sane, else a new one."""
    wanted = environ.get(_REQUEST_ID_KEY, "")
    return wanted if _SANE_REQUEST_ID.fullmatch(wanted) else secrets.token_hex(16)


class RequestIdFilter(logging.Filter):
    """Append the request id to every log record made while handling a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context() and not hasattr(record, "request_id"):
            record.request_id = request_id()
            record.msg = f"{record.msg} [request id {record.request_id}]"
        return True


def impossible_url_parts(view_args: dict[str, Any]) -> bool:
    """Return True when a URL part has control characters or is longer than any of ours."""
    return any(
        isinstance(value, str)
        and (len(value) > MAX_URL_PART_LENGTH or _CONTROL_CHARACTERS.search(value) is not None)
        for value in view_args.values()
    )


def _reject_impossible_url_parts() -> None:
    # No slug, tag or number of ours has control characters or is this long: 404 at once,
    # before a database sees a value it may refuse (PostgreSQL: "cannot contain NUL").
    if impossible_url_parts(request.view_args or {}):
        abort(404)


def standard_headers(app: Flask, secure: bool) -> dict[str, str]:
    """The headers every response gets (but its request id): SECURITY_HEADERS, and HSTS over
    HTTPS. Also sent by blog.pagecache.Revalidation, which answers before Flask's hooks run."""
    max_age = int(app.config["HSTS_MAX_AGE"])
    if secure and max_age > 0:
        return {**SECURITY_HEADERS, "Strict-Transport-Security": f"max-age={max_age}"}
    return SECURITY_HEADERS


def _add_headers(response: Response) -> Response:
    for name, value in standard_headers(current_app, request.is_secure).items():
        response.headers.setdefault(name, value)
    response.headers[REQUEST_ID_HEADER] = request_id()
    return response


def _log_server_errors(response: Response) -> Response:
    if response.status_code >= 500:
        current_app.logger.error(
            "%s %s answered %s", request.method, request.path, response.status_code
        )
    return response


class SecureCookies:
    """WSGI middleware: add Secure to every Set-Cookie of a response to an HTTPS request.

    Flask and Flask-Login read their *_COOKIE_SECURE settings once, for every request; this
    marks cookies Secure exactly when the request came over HTTPS (after ProxyFix has said
    so), so one configuration serves both a plain-HTTP development server and production.
    """

    def __init__(self, wsgi_app: Callable) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable):
        if environ.get("wsgi.url_scheme") != "https":
            return self.wsgi_app(environ, start_response)

        def secure_start_response(status, headers, exc_info=None):
            headers = [
                (name, _secure_cookie(value) if name.lower() == "set-cookie" else value)
                for name, value in headers
            ]
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, secure_start_response)


class TrustedHosts:
    """WSGI middleware: answer 400 to a request whose Host is not in TRUSTED_HOSTS.

    Flask checks TRUSTED_HOSTS itself, but only while routing: its refusal then reaches our
    error pages without a URL adapter, and rendering them (url_for) failed with a 500. Refused
    here, before Flask, the answer is a short plain 400 that builds no URL at all. Inside
    ProxyFix, so X-Forwarded-Host is checked when a proxy is trusted to set it.
    """

    def __init__(self, wsgi_app: Callable, app: Flask) -> None:
        self.wsgi_app = wsgi_app
        self.config = app.config

    def __call__(self, environ: dict, start_response: Callable):
        trusted = self.config.get("TRUSTED_HOSTS")
        if trusted:
            try:
                get_host(environ, trusted_hosts=trusted)
            except SecurityError:
                refused = Response(
                    "400 Bad Request: this site does not answer to that host name.\n",
                    status=400,
                    mimetype="text/plain",
                    headers={**SECURITY_HEADERS, "Cache-Control": "no-store"},
                )
                return refused(environ, start_response)
        return self.wsgi_app(environ, start_response)


def _secure_cookie(value: str) -> str:
    attributes = [part.strip().lower() for part in value.split(";")[1:]]
    return value if "secure" in attributes else value + "; Secure"


def init_app(app: Flask) -> None:
    """Install the headers, the request id, input hygiene and (when configured) ProxyFix."""
    app.request_class = BlogRequest
    app.wsgi_app = TrustedHosts(SecureCookies(app.wsgi_app), app)
    trusted = {key: int(app.config.get(f"PROXY_FIX_{key.upper()}", 0)) for key in PROXY_FIX_KEYS}
    if any(trusted.values()):
        # Outermost, so the Secure-cookie check sees the scheme the client really used.
        app.wsgi_app = ProxyFix(app.wsgi_app, **trusted)

    app.logger.addFilter(RequestIdFilter())
    app.before_request(_start_request)
    app.before_request(_reject_impossible_url_parts)
    app.after_request(_add_headers)
    app.after_request(_log_server_errors)
    app.jinja_env.globals["request_id"] = request_id
