"""Who is reading: an anonymous reader (no cookie of ours) or one with something personal.

Every anonymous reader of a page gets the same bytes, so that a shared cache (this process's,
nginx's, a CDN's) can serve them. A reader is anonymous when the request carries none of the
blog's cookies; the list below is the one place that names them (deploy/nginx.conf bypasses its
cache on the same names, and tests/test_page_cache.py checks that the two lists agree).

Reading `flask.session` or `flask_login.current_user` marks the session accessed, and Flask then
adds `Vary: Cookie` to the response (Flask-Login loads the user from the session). So nothing
here touches either unless the request carries a cookie that could hold a session:
`writer()` answers None at once for everybody else.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask, Response, current_app, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user

# The comment section's own cookies (signed; blog.comments.section writes them).
REMEMBER_COOKIE = "comment_author"  # "remember me": name, email, website
HELD_COOKIE = "comment_held"  # ids of this reader's comments awaiting moderation
RECENT_COOKIE = "comment_recent"  # ids of comments this reader posted moments ago
MINE_COOKIE = "comment_mine"  # ids of comments this reader may still edit (the edit window)
COMMENT_COOKIES = (REMEMBER_COOKIE, HELD_COOKIE, RECENT_COOKIE, MINE_COOKIE)


def reader_cookies(app: Flask) -> tuple[str, ...]:
    """Return the names of every cookie that makes a reader's pages personal."""
    return (
        app.config["SESSION_COOKIE_NAME"],  # Flask's session (the writer's login, CSRF tokens)
        app.config.get("REMEMBER_COOKIE_NAME", "remember_token"),  # Flask-Login's "remember me"
        *COMMENT_COOKIES,
    )


def is_anonymous() -> bool:
    """Return True when the request carries none of the blog's cookies: the shared page is its."""
    return not has_cookie_of_ours(request.cookies, current_app)


def has_cookie_of_ours(cookies: Mapping[str, str], app: Flask) -> bool:
    """Return True when cookies (a request's, or a Cookie header parsed before Flask runs, as
    blog.pagecache.Revalidation does) hold any of reader_cookies(app)."""
    return bool(cookies) and any(name in cookies for name in app.extensions["reader_cookies"])


def may_be_logged_in() -> bool:
    """Return True when the request carries a cookie a login could live in."""
    cookies = request.cookies
    return bool(cookies) and any(
        name in cookies for name in current_app.extensions["login_cookies"]
    )


def writer():
    """Return the logged-in writer, or None; never touches the session of a cookie-less request."""
    if not may_be_logged_in():
        return None
    return current_user if current_user.is_authenticated else None


def mark_personal(response: Response) -> Response:
    """Say that response was made for this reader alone: no shared cache may keep it."""
    response.cache_control.public = False
    response.cache_control.private = True
    response.cache_control.no_cache = True
    response.vary.add("Cookie")
    return response


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, remembering on the request whether anything used one.

    `flask.session` marks the session accessed whenever it is read, even to ask whether it is
    in use; the session object kept here can be asked without that side effect.
    """

    def open_session(self, app, request):
        session = super().open_session(app, request)
        request.environ["blog.session"] = session
        return session


def session_in_use() -> bool:
    """Return True when this request sent a session cookie or its code read or wrote the session."""
    session = request.environ.get("blog.session")
    used = session is not None and (session.accessed or session.modified)
    return used or current_app.config["SESSION_COOKIE_NAME"] in request.cookies


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    app.extensions["reader_cookies"] = reader_cookies(app)
    app.extensions["login_cookies"] = reader_cookies(app)[:2]
    # Flask-Login's context processor loads the user for every template; the proxy instead
    # loads it only where a template asks (the back office, the writer's own pages).
    app.jinja_env.globals.update(current_user=current_user, writer=writer)
