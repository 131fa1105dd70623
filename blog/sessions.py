"""The writer's logins: one server-side row per signed-in browser, ended when the writer says so.

Flask-Login keeps `User.get_id()` in the session cookie and in the remember-me cookie. Here that
id is not the user's number but the random token of a `Login` row (only its SHA-256 is stored),
so a cookie is worth exactly as much as its row:

- logging out deletes the row and both cookies; a copy of either cookie, taken before, then
  finds no row and logs nobody in;
- "log out everywhere" (the Sessions page) and a new password (`User.set_password`, so
  `flask create-admin` too) delete every row of the account;
- a remembered login ends at `expires_at` (REMEMBER_COOKIE_DURATION after signing in), whatever
  the browser keeps; one without "remember me" ends after LOGIN_IDLE_TIMEOUT without a request;
- logging in starts a new session: whatever the browser's session held before (its CSRF token
  above all) is dropped, so a cookie planted before the login knows nothing of the one after.

A row also says when the browser signed in, when it was last seen and what it is, for the
Sessions page. "Last seen" is written at most every SEEN_EVERY seconds, in a short transaction
of its own: a page view normally costs the one read Flask-Login needs anyway, and no write.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, request, session
from flask_login import current_user, login_user, logout_user
from sqlalchemy.orm.attributes import set_committed_value

from blog import readers
from blog.extensions import READ_ONLY_METHODS, db, login_manager
from blog.models import Login, User, utcnow

# How stale "last seen" may get before a request writes it again: one write per browser every
# five minutes at most, however many pages it views.
SEEN_EVERY = timedelta(minutes=5)
USER_AGENT_LENGTH = 300


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _lifetime(remember: bool) -> timedelta:
    seconds = current_app.config["REMEMBER_COOKIE_DURATION" if remember else "LOGIN_IDLE_TIMEOUT"]
    return seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)


def start_login(user: User, remember: bool) -> Login:
    """Log user in on this browser: a new session, a new Login row and token (the caller commits).

    The session is emptied first: a new CSRF token is made on the next page, and nothing the
    browser carried in before the login (or someone planted there) survives it.
    """
    now = utcnow()
    # Ended logins of this account are forgotten as new ones start: the table stays small.
    db.session.execute(sa.delete(Login).where(Login.user_id == user.id, Login.expires_at <= now))
    token = secrets.token_urlsafe(32)
    login = Login(
        user_id=user.id,
        token_hash=_digest(token),
        remember=remember,
        created_at=now,
        last_seen_at=now,
        expires_at=now + _lifetime(remember),
        user_agent=request.user_agent.string[:USER_AGENT_LENGTH],
        ip=(request.remote_addr or "")[:45],
    )
    db.session.add(login)
    db.session.flush()
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF caches this request's token in g
    user.login_token = token
    login_user(user, remember=remember)
    g.login = login
    return login


def current_login() -> Login | None:
    """Return the Login row of this request's writer, or None for a reader."""
    if not current_user.is_authenticated:
        return None
    return g.get("login")


def end_login() -> None:
    """Log this browser out: delete its Login row, empty the session, delete both cookies.

    Emptying the session after logout_user() would also drop Flask-Login's "_remember" marker,
    which is what deletes the remember-me cookie; `forget_cookies()` deletes both instead.
    """
    login = current_login()
    if login is not None:
        db.session.execute(sa.delete(Login).where(Login.id == login.id))
    logout_user()
    session.clear()
    g.forget_cookies = True


def end_all_logins(user_id: int) -> int:
    """Delete every Login of the account (the caller commits); return how many ended."""
    result = db.session.execute(sa.delete(Login).where(Login.user_id == user_id))
    return result.rowcount


def end_other_login(user_id: int, login_id: int) -> bool:
    """End one login of the account by its row id; return False when there is none."""
    result = db.session.execute(
        sa.delete(Login).where(Login.user_id == user_id, Login.id == login_id)
    )
    return result.rowcount > 0


def logins_of(user_id: int) -> list[Login]:
    """Return the account's logins that are still valid, the most recently seen first."""
    return list(
        db.session.scalars(
            sa.select(Login)
            .where(Login.user_id == user_id, Login.expires_at > utcnow())
            .order_by(Login.last_seen_at.desc(), Login.id.desc())
        )
    )


@login_manager.user_loader
def load_user(token: str) -> User | None:
    """Return the user of the login whose token the session or remember cookie carries."""
    login = db.session.scalar(sa.select(Login).where(Login.token_hash == _digest(token)))
    now = utcnow()
    if login is None or login.expires_at <= now:
        # A dead cookie: the browser need not send it again.
        session.pop("_user_id", None)
        if current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies:
            g.forget_cookies = True
        return None
    if now - login.last_seen_at >= SEEN_EVERY and request.method in READ_ONLY_METHODS:
        # Page views only: a POST's transaction may hold SQLite's write lock already, and every
        # POST of the back office is followed by the page it redirects to.
        _seen(login, now)
    user = login.user
    user.login_token = token
    g.login = login
    # A dead session token, then a live remember-me cookie: keep that cookie.
    g.pop("forget_cookies", None)
    return user


def _seen(login: Login, now: datetime) -> None:
    """Write "last seen" (and slide the end of a login without remember-me) in its own transaction.

    On its own connection and committed at once: the request's own transaction may be a
    read-only one (SQLite: a reader that later writes can fail with "database is locked"), and
    "last seen" is worth neither a failed page nor a lock held while the page renders.
    """
    values: dict = {"last_seen_at": now}
    if not login.remember:
        values["expires_at"] = now + _lifetime(False)
    try:
        with db.engine.begin() as connection:
            connection.execute(sa.update(Login).where(Login.id == login.id).values(**values))
    except sa.exc.OperationalError:
        current_app.logger.warning("could not record when login %s was last seen", login.id)
        return
    # Written already: the row object learns the values without becoming "changed".
    for name, value in values.items():
        set_committed_value(login, name, value)


def _forget_cookies(response: Response) -> Response:
    """Delete the session and remember-me cookies when this request ended a login."""
    if g.pop("forget_cookies", False):
        config = current_app.config
        response.delete_cookie(
            config.get("REMEMBER_COOKIE_NAME", "remember_token"),
            domain=config.get("REMEMBER_COOKIE_DOMAIN"),
            path=config.get("REMEMBER_COOKIE_PATH", "/"),
        )
    return response


def _no_store(response: Response) -> Response:
    """Keep every back-office page and every page made for the logged-in writer out of caches.

    A shared cache (a proxy, a CDN) must never keep and hand on the writer's pages, nor a
    browser keep /admin/export.txt (every reader's email and IP) on disk. This runs after
    blog.pagecache has marked the page (personal: `private, no-cache`; shared: `public`), and
    for the writer no-store wins over either. The shared page is left alone: it is only ever
    made for a request that carries no cookie a login can live in (blog.readers), and for such
    a request this decides without touching the session, which would add `Vary: Cookie`.
    """
    if response.cache_control.immutable:
        # Uploaded images and the like: the same bytes for everyone, cached for a year.
        return response
    if request.path.startswith("/admin") or request.blueprint == "admin" or _logged_in():
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("Expires", None)
    return response


def _logged_in() -> bool:
    """Return True for the logged-in writer's requests (and the one that logs them in).

    Without a session or remember-me cookie, and with the session untouched by this request's
    code, nobody is logged in: flask.session is not even asked (asking marks it accessed).
    """
    if not readers.may_be_logged_in() and not readers.session_in_use():
        return False
    return current_user.is_authenticated


def init_app(app: Flask) -> None:
    """Delete cookies of ended logins; answer authenticated requests with no-store."""
    app.after_request(_no_store)
    app.after_request(_forget_cookies)
