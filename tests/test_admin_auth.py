"""Accounts and sessions: first-run setup, create-admin, login, logout, rate limits, access."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from blog.admin import auth
from blog.extensions import db
from blog.models import Post, Setting, User
from tests.helpers import factories
from tests.helpers.auth import login
from tests.helpers.config import base_config
from tests.helpers.database import count
from tests.helpers.factories import PASSWORD
from tests.helpers.html import csrf_token, parse, text

# --- First run ---------------------------------------------------------------------------------


def _setup_token(app) -> str:
    with app.app_context():
        return auth.new_setup_token()


def _setup_form(client, token: str, **fields) -> dict:
    data = {
        "token": token,
        "username": "nell",
        "display_name": "Nell Carrow",
        "password": "lanterns over the harbour",
        "confirm": "lanterns over the harbour",
        "csrf_token": csrf_token(client, f"/setup?token={token}"),
    }
    data.update(fields)
    return data


def test_setup_link_printed_while_no_account(demo, runner):
    result = runner.invoke(args=["setup-link", "--base-url", "http://127.0.0.1:5000"])
    assert result.exit_code == 0
    token = re.search(r"http://127\.0\.0\.1:5000/setup\?token=([\w-]+)", result.output).group(1)
    with demo.app_context():
        assert auth.setup_token_valid(token)
        stored = Setting.get(auth.SETUP_TOKEN_KEY)
    assert token not in stored  # only its hash is kept


def test_make_run_prints_the_setup_link_before_serving():
    import subprocess
    from pathlib import Path

    # What make would run, in order (a dry run: nothing is executed).
    commands = subprocess.run(
        ["make", "--dry-run", "--always-make", "run"],
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    setup = next(i for i, line in enumerate(commands) if "setup-link" in line)
    serve = next(i for i, line in enumerate(commands) if "gunicorn wsgi:app" in line)
    assert setup < serve


def test_setup_creates_first_account_taking_over_the_demo_author(demo, client):
    token = _setup_token(demo)
    page = client.get(f"/setup?token={token}")
    assert page.status_code == 200
    response = client.post("/setup", data=_setup_form(client, token))
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/"
    with demo.app_context():
        users = db.session.scalars(sa.select(User)).all()
        assert [(u.username, u.display_name) for u in users] == [("nell", "Nell Carrow")]
        assert users[0].check_password("lanterns over the harbour")
        # The demo posts are now the writer's.
        authors = set(db.session.scalars(sa.select(Post.author_id)))
        assert authors == {users[0].id}
    # Logged in straight away.
    assert client.get("/admin/").status_code == 200
    # The page and its token are gone for good.
    assert client.get(f"/setup?token={token}").status_code == 404
    assert client.post("/setup", data={"token": token}).status_code in (400, 404)
    with demo.app_context():
        assert Setting.get(auth.SETUP_TOKEN_KEY) is None


def test_setup_on_an_empty_blog_creates_a_user(client, app):
    token = _setup_token(app)
    response = client.post("/setup", data=_setup_form(client, token, username="ada"))
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(User.username)) == "ada"


@pytest.mark.parametrize("token", ["", "wrong", "x" * 43])
def test_setup_refuses_a_wrong_token(demo, client, token):
    _setup_token(demo)
    response = client.get(f"/setup?token={token}")
    assert response.status_code == 403
    assert "setup-link" in response.get_data(as_text=True)
    good = _setup_token(demo)
    data = _setup_form(client, good)
    data["token"] = token
    assert client.post("/setup", data=data).status_code == 403
    with demo.app_context():
        assert db.session.scalar(sa.select(User.password_hash)) == ""


def test_a_new_setup_link_replaces_the_old_one(demo, client):
    old = _setup_token(demo)
    _setup_token(demo)
    assert client.get(f"/setup?token={old}").status_code == 403


def test_setup_is_404_once_an_account_exists(app, client):
    token = _setup_token(app)
    factories.writer(app)
    assert client.get(f"/setup?token={token}").status_code == 404


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"password": "short", "confirm": "short"}, "password", "at least 12"),
        ({"password": "password1234", "confirm": "password1234"}, "password", "attackers"),
        ({"password": "aaaaaaaaaaaaaa", "confirm": "aaaaaaaaaaaaaa"}, "password", "attackers"),
        (
            {"username": "nellcarrow", "password": "nellcarrow-blog", "confirm": "nellcarrow-blog"},
            "password",
            "username",
        ),
        ({"confirm": "something else entirely"}, "confirm", "differ"),
        ({"username": "nell carrow"}, "username", "no spaces"),
        ({"display_name": ""}, "display_name", "required"),
    ],
)
def test_setup_rejects_weak_input_keeping_what_was_typed(demo, client, fields, field, message):
    token = _setup_token(demo)
    response = client.post("/setup", data=_setup_form(client, token, **fields))
    assert response.status_code == 422
    tree = parse(response)
    error = tree.find(f".//p[@id='{field}-error']")
    assert error is not None and message in text(error)
    display = tree.find(".//input[@name='display_name']")
    assert display.get("value", "") == fields.get("display_name", "Nell Carrow")
    with demo.app_context():
        assert not auth.has_account()


# --- create-admin ------------------------------------------------------------------------------


def test_create_admin_reads_the_password_from_stdin(demo, runner):
    result = runner.invoke(args=["create-admin", "ada"], input="correct staple battery hinge\n")
    assert result.exit_code == 0, result.output
    with demo.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "ada"))
        # The first account takes over the passwordless demo author.
        assert user.check_password("correct staple battery hinge")
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1
    # Run again: it resets the password of the same account.
    result = runner.invoke(args=["create-admin", "ada"], input="another fine long password\n")
    assert result.exit_code == 0 and "reset" in result.output
    with demo.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "ada"))
        assert user.check_password("another fine long password")


def test_create_admin_prompts_twice_without_echo_on_a_terminal(app, runner, monkeypatch):
    monkeypatch.setattr("blog.cli._stdin_is_tty", lambda: True)
    typed = "quiet rooms hold loud books"
    result = runner.invoke(
        args=["create-admin", "ada", "--display-name", "Ada L."],
        input=f"{typed}\n{typed}\n",
    )
    assert result.exit_code == 0, result.output
    assert typed not in result.output  # hidden input
    assert "Repeat for confirmation" in result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "ada"))
        assert user.display_name == "Ada L." and user.check_password(typed)


def test_create_admin_refuses_a_weak_password(app, runner):
    result = runner.invoke(args=["create-admin", "ada"], input="hunter2\n")
    assert result.exit_code == 1
    assert "at least 12" in result.output
    assert count(app, User) == 0


# --- Login and logout --------------------------------------------------------------------------


@pytest.fixture
def writer(app):
    return factories.writer(app)


def test_login_and_logout(writer, client, auth):
    response = auth.login()
    assert response.status_code == 303 and response.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    # Logout is a POST with a CSRF token.
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    response = auth.logout()
    assert response.status_code == 303
    assert client.get("/admin/").status_code == 302


def test_a_fresh_client_after_another_logs_in_is_anonymous(app, writer, client, auth):
    """Each request has its own context: one client's login never serves another client."""
    assert auth.login().status_code == 303
    assert client.get("/admin/").status_code == 200
    stranger = app.test_client()  # no cookies
    response = stranger.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert stranger.get("/admin/comments", headers={"HX-Request": "true"}).status_code == 401
    # Its login page is the anonymous one, with a CSRF token of its own session.
    assert csrf_token(stranger) != csrf_token(client, "/admin/")
    # And the writer is still logged in.
    assert client.get("/admin/").status_code == 200


def test_wrong_password_is_refused(writer, client):
    response = login(client, password="not the password at all")
    assert response.status_code == 401
    assert "Wrong username or password" in response.get_data(as_text=True)
    assert login(client, username="nobody").status_code == 401
    assert client.get("/admin/").status_code == 302


def test_the_passwordless_demo_author_cannot_log_in(demo, client):
    assert login(client, username="writer", password="").status_code == 422
    assert login(client, username="writer", password="anything at all").status_code == 401
    page = client.get("/login").get_data(as_text=True)
    assert "No account exists yet" in page


def test_login_without_csrf_is_refused(writer, client):
    response = client.post("/login", data={"username": "nell", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/admin/").status_code == 302


def test_remember_me_sets_a_lasting_httponly_cookie(writer, client):
    login(client, remember="y")
    cookie = client.get_cookie("remember_token")
    assert cookie is not None and cookie.http_only and cookie.expires is not None
    assert cookie.same_site == "Lax"
    session = client.get_cookie("session")
    assert session.http_only and session.same_site == "Lax"


def test_without_remember_me_no_remember_cookie(writer, client):
    login(client)
    assert client.get_cookie("remember_token") is None


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "/\\evil.example/",
        "https://evil.example/admin/",
        "javascript:alert(1)",
        "http:/evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        " //evil.example",
    ],
)
def test_next_never_leaves_the_site(writer, client, target):
    response = login(client, next=target)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location == "/admin/", location


def test_next_goes_back_to_a_local_path(writer, client):
    response = client.get("/admin/comments?status=spam")
    assert response.status_code == 302
    login_url = response.headers["Location"]
    assert login_url.startswith("/login?next=")
    tree = parse(client.get(login_url))
    next_field = tree.find(".//input[@name='next']")
    assert next_field.get("value") == "/admin/comments?status=spam"
    response = login(client, next=next_field.get("value"))
    assert response.headers["Location"] == "/admin/comments?status=spam"


def test_safe_next_rules():
    assert auth.safe_next("/admin/posts/") == "/admin/posts/"
    for bad in ["//x", "/\\x", "https://x", "javascript:x", "x/y", "", None, "/a\nb"]:
        assert auth.safe_next(bad) is None, bad


# --- Every back-office URL needs a session -----------------------------------------------------


def _admin_rules(app):
    public = {"admin.login", "admin.logout", "admin.setup"}
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.")]
    assert {r.endpoint for r in rules} >= public
    return [r for r in rules if r.endpoint not in public]


def test_every_admin_url_redirects_anonymous_readers_to_login(demo, client):
    rules = _admin_rules(demo)
    assert len(rules) >= 12
    token = csrf_token(client)
    for rule in rules:
        url = rule.build({arg: 1 for arg in rule.arguments})[1]
        assert rule.rule.startswith("/admin/"), rule.rule
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            data = {"csrf_token": token} if method == "POST" else None
            response = client.open(url, method=method, data=data)
            assert response.status_code == 302, (method, url, response.status_code)
            assert response.headers["Location"].startswith("/login?next="), (method, url)
            # htmx gets told to go to the login page instead of a swapped-in login form.
            response = client.open(url, method=method, data=data, headers={"HX-Request": "true"})
            assert response.status_code == 401 and response.headers["HX-Redirect"] == "/login"
    # A POST whose session ended comes back to the page it was sent from, not to the POST URL.
    response = client.post(
        "/admin/comments/1/approve",
        data={"csrf_token": token},
        headers={"Referer": "http://localhost/admin/comments?status=spam"},
    )
    assert response.headers["Location"] == "/login?next=/admin/comments"
    response = client.post("/admin/posts/new", data={"csrf_token": token})
    assert response.headers["Location"] == "/login?next=/admin/"
    # Nothing changed underneath (the demo's five posts, its draft and its About page).
    assert count(demo, Post) == 7


def test_every_admin_url_answers_a_logged_in_writer(demo, client, writer, auth):
    auth.login()
    for rule in _admin_rules(demo):
        if "GET" in rule.methods and not rule.arguments:
            assert client.get(rule.rule).status_code == 200, rule.rule


class TestSecureCookies:
    @pytest.fixture
    def app_config(self, database_uri):
        return base_config(database_uri, SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)

    def test_cookies_are_secure_when_configured(self, writer, client):
        response = login(client, remember="y")
        cookies = response.headers.getlist("Set-Cookie")
        for name in ("session", "remember_token"):
            (header,) = [c for c in cookies if c.startswith(name + "=")]
            assert "; Secure" in header and "; HttpOnly" in header and "SameSite=Lax" in header


# --- Rate limits --------------------------------------------------------------------------------


class TestRateLimit:
    @pytest.fixture
    def app_config(self, database_uri):
        return base_config(database_uri, RATELIMIT_ENABLED=True)

    @pytest.fixture(autouse=True)
    def fresh_limits(self, app):
        from blog.extensions import limiter

        limiter.reset()
        yield
        limiter.reset()

    def test_five_attempts_a_minute_per_username(self, writer, client, app):
        for _ in range(5):
            assert login(client, password="wrong password here").status_code == 401
        response = login(client)  # even the right password waits
        assert response.status_code == 429
        text = response.get_data(as_text=True)
        assert "Too many login attempts" in text and "in a minute" in text
        assert "Retry-After" in response.headers
        # Another address, same username: still limited (per-username limit).
        other = app.test_client()
        token = csrf_token(other)
        response = other.post(
            "/login",
            data={"username": "nell", "password": PASSWORD, "csrf_token": token},
            environ_base={"REMOTE_ADDR": "203.0.113.9"},
        )
        assert response.status_code == 429
        # The login page itself still shows.
        assert client.get("/login").status_code == 200

    def test_five_attempts_a_minute_per_address(self, writer, client):
        for n in range(5):
            assert login(client, username=f"guess{n}").status_code == 401
        assert login(client).status_code == 429
