"""Shared pages: the same bytes for every anonymous reader, from a cache keyed by what they show.

A reading view that can be shared asks blog.posts.keys for its page's key (one small query),
then calls shared(): the ETag is a hash of the key, the code and templates that render it
(the build id) and the address the reader used; a reader whose copy has that ETag gets 304
without anything being rendered, anybody else the page from this process's cache, rendered
once per key. The key changes with every write that changes the page, in any process, so the
cache needs no invalidation and serves nothing stale.

Cache-Control tells shared caches (nginx's proxy_cache, a CDN) they may keep a page for a third
of the comment poll interval and serve it stale while revalidating for the rest: a new comment
is in every page served COMMENTS_POLL_SECONDS after it was posted, as readers with the page open
get it from their next poll. Browsers get max-age=0: they revalidate on every visit (a 304),
because these responses carry no `Vary: Cookie` and a browser that has just posted a comment or
logged in must not show its copy from before.

Every other HTML page is marked here after its view ran: private for a reader with cookies of
ours (blog.readers), and for anonymous readers, a 200 or 404 gets an ETag hashed from its body
and the same shared lifetime (search results, error pages: a version is not worth a query).
blog.sessions runs after this and turns every response to the logged-in writer (and the back
office) into no-store; it never touches a shared page, whose request carries no login cookie.

Revalidation answers the 304s of the post page before Flask dispatches: browsers revalidate on
every visit and shared caches every few seconds, so on a popular page these are most requests.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.sansio.http import parse_cookie

from blog import readers, security
from blog.cache import app_cache

HTML = "text/html; charset=utf-8"


def build_id(app: Flask) -> str:
    """Hash what turns the same data into other bytes: the code, the templates, the settings.

    Part of every ETag, so a reader's copy from before an upgrade is never answered with 304.
    Keyed with the secret key, so no setting can be guessed from it.
    """
    root = Path(app.root_path)
    digest = hashlib.blake2b(key=hashlib.sha256(str(app.secret_key).encode()).digest())
    folders = (root, Path(app.template_folder or root.parent / "templates"))
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix in (".py", ".html", ".xml", ".txt"):
                digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    settings = {}
    for name, value in sorted(app.config.items()):
        try:
            settings[name] = json.dumps(value, sort_keys=True)
        except TypeError:
            continue  # not JSON (a timedelta...): not something a page shows
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def shared_lifetimes(app: Flask) -> tuple[int, int]:
    """Return (s-maxage, stale-while-revalidate) in seconds: they add up to the poll interval."""
    poll = max(int(app.config["COMMENTS_POLL_SECONDS"]), 2)
    fresh = max(poll // 3, 1)
    return fresh, poll - fresh


def etag(kind: str, key: Hashable, environ: dict[str, Any] | None = None) -> str:
    """Return the ETag (without quotes) of a shared page: kind, key, build, address and path.

    The path tells apart pages with the same content but other labels and links (a year's
    archive and its only month's); the query string is left out but for what the key holds
    (?page=N), so ?utm_source=... shares the page. environ is this request's by default.
    """
    # Where absolute URLs in the page point, and the path, as the server gave them (decoding
    # them as request.url_root does cost 0.1 ms).
    if environ is None:
        environ = request.environ
    site = (
        environ["wsgi.url_scheme"],
        environ.get("HTTP_HOST") or environ.get("SERVER_NAME", ""),
        environ.get("SCRIPT_NAME", ""),
        environ.get("PATH_INFO", ""),
    )
    parts = (kind, key, current_app.extensions["build_id"], site)
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


def shared(kind: str, key: Hashable, render: Callable[[], str]) -> Response:
    """Answer an anonymous reader with the page kind under key: 304, cached bytes, or a render.

    render() must make the page for nobody in particular (no cookie, session or per-reader
    token read); its bytes are kept under the ETag.
    """
    tag = etag(kind, key)
    headers = _validators(current_app, tag)
    if _has(request.headers.get("If-None-Match"), tag):
        return Response(status=304, headers=headers)
    cache = app_cache("page_cache", "PAGE_CACHE_SIZE", "PAGE_CACHE_BYTES")
    body = cache.get(tag)
    if body is None:
        body = render().encode()
        cache.put(tag, body)
    return Response(body, headers=headers, content_type=HTML)


def _validators(app: Flask, tag: str) -> dict[str, str]:
    return {"ETag": f'W/"{tag}"', "Cache-Control": app.extensions["shared_cache"]}


def _has(if_none_match: str | None, tag: str) -> bool:
    """Return True when an If-None-Match header lists tag (weak comparison, RFC 9110) or is *.

    Our tags are hex digits, so finding them in quotes is exact; werkzeug's parser costs
    as much again as the rest of a 304.
    """
    if not if_none_match:
        return False
    return f'"{tag}"' in if_none_match or if_none_match.strip() == "*"


def _mark(response: Response) -> Response:
    """Give every other HTML answer to a GET its cache policy (see the module's docstring)."""
    if request.method not in ("GET", "HEAD") or "Cache-Control" in response.headers:
        return response
    if response.mimetype != "text/html":
        return response
    if not readers.is_anonymous() or readers.session_in_use():
        return readers.mark_personal(response)
    if response.status_code in (200, 404) and not response.is_streamed:
        body = response.get_data()
        response.set_etag(hashlib.blake2b(body, digest_size=16).hexdigest(), weak=True)
        response.headers["Cache-Control"] = current_app.extensions["shared_cache"]
        if response.status_code == 200:  # preconditions apply to 2xx answers only (RFC 9110)
            response.make_conditional(request)
    return response


# --- Revalidation before Flask --------------------------------------------------------------


class Keyed(Protocol):
    """What a page's key read returns (blog.posts.keys: PostPageKey, ListingKey)."""

    key: Hashable


@dataclass(frozen=True)
class Revalidator:
    kind: str  # as given to shared()
    read: Callable[..., Keyed | None]  # the view's URL arguments -> its key read, or None


# In a request's environ: what Revalidation read for it before leaving it to Flask.
_READ = "blog.pagecache.read"


def revalidates(bp: Blueprint, view: str, kind: str, read: Callable[..., Keyed | None]) -> None:
    """Let Revalidation answer conditional GETs of bp's view from read(**URL arguments) alone.

    The view must answer anonymous readers with shared(kind, the same read's .key, ...): same
    kind and key, same ETag, and Revalidation adds the headers Flask's hooks would. It gets
    what Revalidation read from read_early(), so that a stale copy's request reads it once.
    """
    endpoint = f"{bp.name}.{view}"
    bp.record_once(
        lambda state: state.app.extensions["revalidators"].update(
            {endpoint: Revalidator(kind, read)}
        )
    )


def read_early() -> Any | None:
    """Return what Revalidation read for this request's view (the reader's copy was another
    version, so Flask answers), or None when it read nothing."""
    found = request.environ.get(_READ)
    return found[1] if found is not None and found[0] == request.endpoint else None


class Revalidation:
    """WSGI middleware: answer an anonymous reader's If-None-Match with 304 before Flask.

    Flask's dispatch around a 304 (request context, session, before- and after-request hooks)
    cost more than the 304 itself: the key's read and the ETag. This answers from those alone,
    for the views registered with revalidates(), with the headers Flask's 304 carries
    (tests/test_page_cache.py compares the two). Everything else goes on to Flask as before:
    another method, a query string, a cookie of the blog's, another route, another tag, a
    database error (Flask's error page says so).

    Installed innermost, so a Host outside TRUSTED_HOSTS is refused (blog.security) and
    ProxyFix has set the scheme and host before this runs.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.wsgi_app = app.wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable):
        headers = self.not_modified(environ)
        if headers is None:
            return self.wsgi_app(environ, start_response)
        start_response("304 NOT MODIFIED", headers)
        return []

    def not_modified(self, environ: dict[str, Any]) -> list[tuple[str, str]] | None:
        """Return the headers of a 304 for this request, or None when Flask must answer."""
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if (
            not if_none_match
            or environ.get("QUERY_STRING")
            or environ.get("REQUEST_METHOD") not in ("GET", "HEAD")
        ):
            return None
        app = self.app
        cookie = environ.get("HTTP_COOKIE")
        if cookie and readers.has_cookie_of_ours(parse_cookie(cookie), app):
            return None  # a reader of their own page
        request = app.request_class(environ)
        adapter = app.create_url_adapter(request)
        try:
            endpoint, arguments = adapter.match()
        except HTTPException:  # no route, a redirect to add the slash, another method
            return None
        revalidator = app.extensions["revalidators"].get(endpoint)
        if revalidator is None or security.impossible_url_parts(arguments):
            return None
        with app.app_context():
            try:
                found = revalidator.read(**arguments)
            except Exception:  # Flask meets it again, and answers and logs it as it should
                return None
            if found is None:
                return None
            tag = etag(revalidator.kind, found.key, environ)
        if not _has(if_none_match, tag):
            environ[_READ] = (endpoint, found)  # the view answers from it: read_early()
            return None
        headers = list(_validators(app, tag).items())
        for announce in app.extensions["revalidation_headers"]:
            headers.extend(announce(endpoint, adapter))
        headers.extend(security.standard_headers(app, request.is_secure).items())
        headers.append((security.REQUEST_ID_HEADER, security.new_request_id(environ)))
        return headers


def init_app(app: Flask) -> None:
    app.extensions["revalidators"] = {}
    app.extensions["revalidation_headers"] = []
    app.extensions["build_id"] = build_id(app)
    fresh, stale = shared_lifetimes(app)
    app.extensions["shared_cache"] = (
        f"public, max-age=0, s-maxage={fresh}, stale-while-revalidate={stale}"
    )
    app.after_request(_mark)
