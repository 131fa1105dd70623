"""Sessions that end when the writer says so (issue 12, findings 1 and 2).

Every test drives browsers (test clients, each request in its own app context) through the real
login form, and copies cookies between them the way a thief would. A "stolen" cookie is tried
from a fresh client holding nothing else.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from blog.extensions import db
from blog.models import utcnow
from tests.helpers.auth import login, logout
from tests.helpers.factories import writer
from tests.helpers.html import csrf_token, parse, text

COOKIES = ("session", "remember_token")
NEW_PASSWORD = "a brand new password for the writer"


@pytest.fixture
def site(app) -> Flask:
    """The app with one account, nell, and clients that never share a request context."""
    writer(app)
    return app


def logged_in(site: Flask, cookies: dict[str, str]) -> bool:
    """Return True when a fresh browser holding only these cookies gets the back office."""
    browser = site.test_client()
    for name, value in cookies.items():
        browser.set_cookie(name, value)
    response = browser.get("/admin/")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def cookies_of(client, names=COOKIES) -> dict[str, str]:
    found = {name: client.get_cookie(name) for name in names}
    return {name: cookie.value for name, cookie in found.items() if cookie is not None}


def logins(site: Flask) -> list:
    """Return the Login rows (detached). Imported here: the suite also runs on the code before."""
    from blog.models import Login

    with site.app_context():
        rows = db.session.scalars(sa.select(Login).order_by(Login.id)).all()
        db.session.expunge_all()
        return list(rows)


def log_out_everywhere(client):
    token = csrf_token(client, "/admin/sessions")
    return client.post("/admin/sessions/end-all", data={"csrf_token": token})


# --- Finding 1: logout did not log out a "remember me" login ----------------------------------


def test_logout_ends_a_remembered_login_and_deletes_both_cookies(site):
    browser = site.test_client()
    assert login(browser, remember="y").status_code == 303
    assert set(cookies_of(browser)) == set(COOKIES)
    response = logout(browser)
    assert response.status_code == 303
    deleted = [c for c in response.headers.getlist("Set-Cookie") if "Max-Age=0" in c]
    assert {c.split("=", 1)[0] for c in deleted} == set(COOKIES), deleted
    assert cookies_of(browser) == {}
    # The same browser, next visit: not logged in (it used to be, through remember_token).
    assert browser.get("/admin/").status_code == 302
    assert logins(site) == []
    page = parse(browser.get(response.headers["Location"]))
    assert "You are logged out." in text(page.xpath("//main")[0])


# --- Finding 2: login cookies could never be revoked ------------------------------------------


def end_by(site: Flask, browser, event: str) -> None:
    if event == "logout":
        assert logout(browser).status_code == 303
    elif event == "log out everywhere":
        response = log_out_everywhere(browser)
        assert response.status_code == 303
        assert response.headers["Location"] == "/login?logged_out=everywhere"
    else:  # a new password from the shell
        result = site.test_cli_runner().invoke(
            args=["create-admin", "nell"], input=NEW_PASSWORD + "\n"
        )
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize("event", ["logout", "log out everywhere", "new password"])
@pytest.mark.parametrize("stolen", [("session",), ("remember_token",), COOKIES])
def test_stolen_cookies_stop_working(site, event, stolen):
    victim = site.test_client()
    assert login(victim, remember="y").status_code == 303
    copy = cookies_of(victim, stolen)
    assert set(copy) == set(stolen)
    assert logged_in(site, copy), "the copy works while the login lasts"
    end_by(site, victim, event)
    assert not logged_in(site, copy), f"{stolen} still logged in after {event}"


def test_log_out_everywhere_ends_every_browser(site):
    laptop, phone = site.test_client(), site.test_client()
    assert login(laptop, remember="y").status_code == 303
    assert login(phone).status_code == 303
    copies = [cookies_of(laptop), cookies_of(phone)]
    assert len(logins(site)) == 2
    log_out_everywhere(phone)
    assert logins(site) == []
    assert not any(logged_in(site, copy) for copy in copies)
    assert laptop.get("/admin/").status_code == 302
    assert phone.get("/admin/").status_code == 302


def test_a_new_password_ends_logins_and_the_old_password(site):
    browser = site.test_client()
    assert login(browser, remember="y").status_code == 303
    end_by(site, browser, "new password")
    assert browser.get("/admin/").status_code == 302
    assert logins(site) == []
    assert login(site.test_client()).status_code == 401
    assert login(site.test_client(), password=NEW_PASSWORD).status_code == 303


def test_the_cookies_carry_a_login_token_not_the_user_id(site):
    first, second = site.test_client(), site.test_client()
    login(first, remember="y")
    login(second, remember="y")
    a, b = first.get_cookie("remember_token").value, second.get_cookie("remember_token").value
    assert a != b  # one login, one token: the same account's two browsers differ
    payload = a.rsplit("|", 1)[0]
    assert len(payload) >= 40 and payload != "1"
    # Only a hash of it is stored.
    assert payload not in {row.token_hash for row in logins(site)}


# --- The remember-me cookie's end is checked by the server ----------------------------------


def test_a_remembered_login_ends_when_the_server_says(site):
    from blog.models import Login

    browser = site.test_client()
    response = login(browser, remember="y")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_"))
    assert "Expires=" in cookie
    (row,) = logins(site)
    assert row.remember and row.expires_at - row.created_at == timedelta(days=30)
    remembered = cookies_of(browser, ("remember_token",))
    assert logged_in(site, remembered)
    with site.app_context():  # thirty days later, as the server sees it
        db.session.execute(sa.update(Login).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert not logged_in(site, remembered)
    assert not logged_in(site, cookies_of(browser))


def test_a_login_without_remember_me_ends_when_idle(site):
    from blog.models import Login

    browser = site.test_client()
    login(browser)
    (row,) = logins(site)
    assert not row.remember
    assert row.expires_at - row.last_seen_at == timedelta(seconds=site.config["LOGIN_IDLE_TIMEOUT"])
    with site.app_context():
        db.session.execute(sa.update(Login).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert browser.get("/admin/").status_code == 302


# --- A new session at login -----------------------------------------------------------------


def test_login_starts_a_new_session_and_csrf_token(site):
    browser = site.test_client()
    before = csrf_token(browser)  # what someone who planted this session cookie would know
    planted = browser.get_cookie("session").value
    assert login(browser).status_code == 303
    after = csrf_token(browser, "/admin/")
    assert browser.get_cookie("session").value != planted
    # The token from before the login is refused now; the new one works.
    stale = browser.post("/admin/posts/preview", data={"csrf_token": before, "body": "x"})
    assert stale.status_code == 400
    fresh = browser.post("/admin/posts/preview", data={"csrf_token": after, "body": "x"})
    assert fresh.status_code == 200
    # The planted cookie itself was never logged in.
    assert not logged_in(site, {"session": planted})


# --- The Sessions page ------------------------------------------------------------------------


def test_the_sessions_page_lists_logins_and_ends_one(site):
    laptop, phone = site.test_client(), site.test_client()
    laptop.environ_base["HTTP_USER_AGENT"] = "Laptop browser 1.0"
    phone.environ_base.update(HTTP_USER_AGENT="Phone browser 2.0", REMOTE_ADDR="198.51.100.23")
    login(laptop, remember="y")
    login(phone)
    page = parse(laptop.get("/admin/sessions"))
    rows = page.xpath("//table[contains(@class, 'sessions-table')]/tbody/tr")
    assert len(rows) == 2
    cells = {text(row.xpath("td")[0]): row for row in rows}
    laptop_row = next(r for t, r in cells.items() if "Laptop browser 1.0" in t)
    phone_row = next(r for t, r in cells.items() if "Phone browser 2.0" in t)
    assert "this browser" in text(laptop_row) and "this browser" not in text(phone_row)
    assert "198.51.100.23" in text(phone_row)
    # End the phone's login from the laptop.
    action = phone_row.xpath(".//form/@action")[0]
    token = page.xpath("//input[@name='csrf_token']/@value")[0]
    assert laptop.post(action, data={"csrf_token": token}).status_code == 303
    assert phone.get("/admin/").status_code == 302
    assert laptop.get("/admin/").status_code == 200
    # Another account's login cannot be ended from here.
    writer(site, "ada", "Ada")
    other = site.test_client()
    login(other, username="ada")
    (ada,) = [r for r in logins(site) if r.user_id != logins(site)[0].user_id]
    response = laptop.post(f"/admin/sessions/{ada.id}/end", data={"csrf_token": token})
    assert response.status_code == 404
    assert other.get("/admin/").status_code == 200


def test_last_seen_costs_no_write_per_page_view(site, queries):
    from blog.models import Login
    from blog.sessions import SEEN_EVERY

    browser = site.test_client()
    login(browser)
    (before,) = logins(site)
    with site.app_context(), queries() as statements:
        for _ in range(5):
            assert browser.get("/admin/").status_code == 200
    writes = [s for s in statements if s.lstrip().upper().startswith(("UPDATE", "INSERT"))]
    assert writes == [], writes
    # Older than SEEN_EVERY: the next page view writes it, once.
    with site.app_context():
        db.session.execute(
            sa.update(Login).values(last_seen_at=utcnow() - SEEN_EVERY - timedelta(seconds=1))
        )
        db.session.commit()
    with site.app_context(), queries() as statements:
        browser.get("/admin/")
        browser.get("/admin/")
    writes = [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
    assert len(writes) == 1 and "login" in writes[0].lower()
    (after,) = logins(site)
    assert after.last_seen_at > before.last_seen_at - timedelta(seconds=1)
    assert utcnow() - after.last_seen_at < timedelta(minutes=1)


def test_ended_logins_are_pruned_at_the_next_login(site):
    from blog.models import Login

    browser = site.test_client()
    login(browser)
    with site.app_context():
        db.session.execute(sa.update(Login).values(expires_at=utcnow() - timedelta(days=1)))
        db.session.commit()
    login(site.test_client())
    assert len(logins(site)) == 1


def test_a_dead_remember_cookie_is_deleted_and_a_live_one_kept(site):
    old = site.test_client()
    login(old, remember="y")
    stolen = cookies_of(old)
    logout(old)
    thief = site.test_client()
    thief.set_cookie("remember_token", stolen["remember_token"])
    response = thief.get("/admin/")
    assert response.status_code == 302
    assert any(c.startswith("remember_token=;") for c in response.headers.getlist("Set-Cookie"))
    # A browser with a dead session cookie but a live remember-me cookie stays in, cookie kept.
    browser = site.test_client()
    login(browser, remember="y")
    browser.set_cookie("session", stolen["session"])
    response = browser.get("/admin/")
    assert response.status_code == 200
    assert not any(c.startswith("remember_token=;") for c in response.headers.getlist("Set-Cookie"))
