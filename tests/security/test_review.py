"""The security review of issue 12, one finding at a time (1, 2 and 4, 5 have their own modules).

3. anyone could lock the writer out (login limits per username);
6. the Host header ended up in absolute URLs (SERVER_NAME, TRUSTED_HOSTS);
7. 500s in the back office on huge integers;
8. ids in post HTML clashed with the page's own;
9. no `Cache-Control: no-store` on back-office and authenticated responses.

Each test was run against the code before the fix and failed there.
"""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest
import sqlalchemy as sa
from flask import Flask

from blog import create_app
from blog.extensions import db, limiter
from blog.models import Comment, LegacyPath, Post
from tests.helpers.auth import login
from tests.helpers.config import base_config
from tests.helpers.factories import PASSWORD, comment, path_of, post, writer
from tests.helpers.html import csrf_token, parse
from tests.helpers.routes import admin_rules, page_type_urls, post_values, rule_urls

WRONG = "not the password at all"


def browser(site: Flask, address: str = "127.0.0.1"):
    client = site.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


# --- 3. Failed logins slow an account down; they never lock the writer out ------------------


class Clock:
    """time.time() that a test moves forward (the throttle and memory:// limits read it)."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.real = time.time

    def __call__(self) -> float:
        return self.real() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class TestLoginThrottle:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "RATELIMIT_ENABLED": True}

    @pytest.fixture
    def site(self, app):
        limiter.reset()
        writer(app)
        yield app
        limiter.reset()

    @pytest.fixture
    def clock(self, monkeypatch) -> Clock:
        clock = Clock()
        monkeypatch.setattr(time, "time", clock)
        return clock

    @staticmethod
    def attempt(site, address: str, password: str = WRONG):
        return login(browser(site, address), password=password)

    def test_someone_elses_failures_cost_the_writer_a_short_wait_at_most(self, site, clock):
        # An attacker who knows the username tries passwords until the address limit stops it.
        statuses = [self.attempt(site, "203.0.113.66").status_code for _ in range(6)]
        assert statuses == [401] * 5 + [429]
        # The writer, at another address, with the right password: in, after at most 30 s.
        writer_browser = browser(site, "198.51.100.1")
        response = login(writer_browser)
        if response.status_code == 429:
            wait = int(response.headers["Retry-After"])
            assert 0 < wait <= 30, response.text
            assert f"wait {wait} s" in response.get_data(as_text=True)
            clock.advance(wait)
            response = login(writer_browser)
        assert response.status_code == 303
        assert writer_browser.get("/admin/").status_code == 200

    def test_a_stream_of_failures_cannot_restart_the_writers_wait(self, site, clock):
        attackers = [f"203.0.113.{n}" for n in range(1, 41)]
        for address in attackers[:30]:  # 30 failures, each address waiting its turn
            response = self.attempt(site, address)
            if response.status_code == 429:
                clock.advance(int(response.headers["Retry-After"]))
                response = self.attempt(site, address)
            assert response.status_code == 401
        # The account is under attack: a new address waits the longest a stranger waits...
        writer_browser = browser(site, "198.51.100.1")
        first = login(writer_browser)
        assert first.status_code == 429 and int(first.headers["Retry-After"]) == 30
        for address in attackers[30:]:  # (ten more attackers take a ticket too)
            assert self.attempt(site, address).status_code == 429
        clock.advance(30)
        # ...while the attackers fail again and again right up to the writer's turn...
        for address in attackers[30:]:
            assert self.attempt(site, address).status_code == 401
        # ...and the writer's wait, counted from the writer's own first try, is over.
        assert login(writer_browser).status_code == 303

    def test_an_attackers_own_address_waits_longer_and_longer(self, site, clock):
        from blog.admin import throttle

        with site.test_request_context():
            for _ in range(12):
                throttle.failed("nell", "203.0.113.66")
            assert throttle.wait_seconds("nell", "203.0.113.66") == throttle.own_wait(12) > 60
            assert throttle.wait_seconds("nell", "198.51.100.1") <= throttle.USER_MAX_WAIT
            assert throttle.wait_seconds("someone-else", "203.0.113.66") == 0

    def test_only_failures_count(self, site, clock):
        # Logging in again and again from one address is not an attack.
        for _ in range(7):
            assert self.attempt(site, "198.51.100.7", PASSWORD).status_code == 303

    def test_the_address_limit_still_holds_for_any_username(self, site, clock):
        guesses = [
            login(browser(site, "203.0.113.9"), username=f"guess{n}", password=WRONG)
            for n in range(5)
        ]
        assert [r.status_code for r in guesses] == [401] * 5
        response = self.attempt(site, "203.0.113.9", PASSWORD)
        assert response.status_code == 429 and "Too many login attempts" in response.text


# --- 6. The site's own address in absolute URLs, whatever Host a request claims ----------------

SITE = {"SERVER_NAME": "blog.example", "PREFERRED_URL_SCHEME": "https"}
EVIL = "evil.example"


def host_leaks(response) -> list[str]:
    """Return the places where the foreign host shows in a response (body or any header)."""
    found = [f"header {name}" for name, value in response.headers.items() if EVIL in value]
    if EVIL.encode() in response.get_data():
        found.append("body")
    return found


class TestForeignHostRefused:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, **SITE, "TRUSTED_HOSTS": ["blog.example"]}

    def test_a_foreign_host_gets_400(self, app):
        published = post(app, tags=["walks"])
        client = app.test_client()
        for method, url in [
            ("GET", "/"),
            ("GET", path_of(published)),
            ("GET", "/feeds/posts.atom"),
            ("GET", "/sitemap.xml"),
            ("GET", "/robots.txt"),
            ("GET", "/admin/"),
            ("POST", "/login"),
            ("POST", path_of(published) + "comments"),
        ]:
            response = client.open(url, method=method, headers={"Host": EVIL})
            assert response.status_code == 400, (method, url, response.status_code)
            assert "does not answer to that host name" in response.text
            assert not host_leaks(response), (url, host_leaks(response))
        assert client.get("/", headers={"Host": "blog.example"}).status_code == 200
        assert client.get("/").status_code == 200  # the test client's default: SERVER_NAME

    def test_a_forwarded_host_is_checked_too(self, database_uri):
        app = create_app(
            base_config(database_uri, **SITE, TRUSTED_HOSTS=["blog.example"], PROXY_FIX_X_HOST=1)
        )
        client = app.test_client()
        response = client.get("/", headers={"X-Forwarded-Host": EVIL})
        assert response.status_code == 400
        assert client.get("/", headers={"X-Forwarded-Host": "blog.example"}).status_code == 200


class TestAbsoluteUrlsNameTheSite:
    """SERVER_NAME alone (no TRUSTED_HOSTS): a foreign Host gets through, and changes nothing."""

    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, **SITE}

    def test_no_page_feed_sitemap_or_redirect_carries_another_host(self, app):
        published = post(app, tags=["walks"])
        comment(app, published)
        with app.app_context():
            db.session.add(LegacyPath(path="/archives/old-post.html", post_id=published.id))
            db.session.commit()
        values = post_values(app, published)
        urls = page_type_urls(app, values)
        urls += [
            "/sitemap-site-1.xml",
            "/sitemap-posts-1.xml",
            path_of(published).rstrip("/"),  # the trailing-slash redirect
            "/archives/old-post.html",  # an imported post's old address: 301
            "/admin/",  # to the login page
        ]
        client = app.test_client()
        answers = {url: client.get(url, headers={"Host": EVIL}) for url in urls}
        failures = {url: host_leaks(r) for url, r in answers.items() if host_leaks(r)}
        assert not failures, failures
        assert answers["/archives/old-post.html"].status_code == 301
        assert answers["/admin/"].status_code == 302
        assert answers["/sitemap-posts-1.xml"].status_code == 200
        # The absolute URLs are the site's: the feed's self link and ids, the canonical link.
        feed = client.get("/feeds/posts.atom", headers={"Host": EVIL}).text
        assert 'href="https://blog.example/feeds/posts.atom"' in feed
        assert "tag:blog.example," in feed
        page = client.get(path_of(published), headers={"Host": EVIL})
        canonical = parse(page).xpath("//link[@rel='canonical']/@href")
        assert canonical == [f"https://blog.example{path_of(published)}"]
        redirect = client.get(path_of(published).rstrip("/"), headers={"Host": EVIL})
        assert redirect.headers["Location"] == f"https://blog.example{path_of(published)}"

    def test_links_made_outside_a_request_use_the_preferred_scheme(self, app):
        result = app.test_cli_runner().invoke(args=["setup-link"])
        assert "https://blog.example/setup?token=" in result.output


# --- 7. Huge integers in the back office: 404 or a message, never a 500 -----------------------

# Beyond PostgreSQL's int4 ids, beyond 64 bits (SQLite's), and absurd.
HUGE = [str(2**31), str(2**63), str(10**20), "9" * 40]


def test_the_back_office_never_answers_500_to_huge_integers(app):
    published = post(app)
    held = comment(app, published, status="pending")
    site = app
    browser = site.test_client()
    assert login(browser).status_code == 303
    token = csrf_token(browser, "/admin/")
    with app.app_context():
        rules = [r for r in admin_rules(app) if r.endpoint != "admin.end_every_login"]
    failures = []

    def check(method: str, url: str, **kwargs) -> None:
        try:
            response = browser.open(url, method=method, **kwargs)
        except Exception as error:  # TESTING propagates what would be a 500
            failures.append(f"{method} {url}: {type(error).__name__}: {error}")
            return
        if response.status_code >= 500:
            failures.append(f"{method} {url}: {response.status_code}")

    for rule in rules:
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        ints = [name for name in rule.arguments if name.endswith("_id")]
        for huge in HUGE:
            if ints:
                (_, url), *_ = rule_urls(app, [rule], {name: huge for name in ints})
                for method in methods:
                    check(method, url, data={"csrf_token": token, "body": "A reply."})
            elif "GET" in methods:
                (_, url), *_ = rule_urls(app, [rule])
                check("GET", url, query_string={"page": huge})
        if rule.endpoint == "admin.bulk":
            for huge in HUGE:
                data = {"csrf_token": token, "ids": [str(held.id), huge], "action": "spam"}
                check("POST", "/admin/comments/bulk", data=data)
    assert not failures, failures
    # The held comment was not touched by any of it.
    with app.app_context():
        assert db.session.get(Comment, held.id).status == "pending"
    # The largest id a row can have is a plain 404, as is the next one.
    assert browser.get(f"/admin/posts/{2**31 - 1}/edit").status_code == 404
    assert browser.get(f"/admin/posts/{2**31}/edit").status_code == 404


# --- 8. Ids in a post never clash with the page's own -----------------------------------------

CLASHING_BODY = """\
Something to say<sup id="fnref-1"><a href="#fn-1">1</a></sup>, and [the comments](#comments).

<a id="comment-list"></a>
<h2 id="comment-form">My own heading</h2>
<h3 id="main">Main</h3>

<ol><li id="fn-1">The note. <a href="#fnref-1">Back</a></li></ol>
"""


def page_ids(tree) -> Counter:
    return Counter(tree.xpath("//@id"))


def test_ids_in_a_post_never_clash_with_the_page(app):
    published = post(app, body=CLASHING_BODY)
    client = app.test_client()
    tree = parse(client.get(path_of(published)))
    duplicates = [i for i, n in page_ids(tree).items() if n > 1]
    assert not duplicates, duplicates
    # The page's own targets are the template's elements, not the post's.
    (comment_list,) = tree.xpath("//*[@id='comment-list']")
    assert comment_list.tag == "ol" and "comment-list" in comment_list.get("class")
    assert tree.xpath("//*[@id='main']")[0].tag == "main"
    assert tree.xpath("//*[@id='comment-form']")[0].tag == "form"
    body = tree.xpath("//div[contains(@class, 'post-body')]")[0]
    assert all(i.startswith("post-") for i in body.xpath(".//@id"))
    # In-post links still land: the footnote and its way back, both inside the post...
    for href in ("#post-fn-1", "#post-fnref-1"):
        assert body.xpath(f".//a[@href='{href}']"), href
        assert body.xpath(f".//*[@id='{href[1:]}']"), href
    # ...and a link to the page's comments still goes to the page's comments.
    (to_comments,) = body.xpath(".//a[text()='the comments']")
    assert to_comments.get("href") == "#comments"
    assert tree.xpath("//*[@id='comments']") and not body.xpath(".//*[@id='comments']")


def test_the_editor_preview_keeps_the_back_office_ids_unique(app):
    published = post(app, body=CLASHING_BODY)
    site = app
    browser = site.test_client()
    login(browser)
    tree = parse(browser.get(f"/admin/posts/{published.id}/edit"))
    duplicates = [i for i, n in page_ids(tree).items() if n > 1]
    assert not duplicates, duplicates


def test_rerender_prefixes_the_ids_of_stored_posts(app):
    published = post(app, body=CLASHING_BODY)
    with app.app_context():  # HTML stored by the code before the fix
        db.session.execute(
            sa.update(Post)
            .where(Post.id == published.id)
            .values(body_html='<a id="comment-list"></a><h2 id="comments">x</h2>')
        )
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["rerender"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        html = db.session.get(Post, published.id).body_html
    assert 'id="post-comment-list"' in html and 'id="comment-list"' not in html
    assert not re.search(r'id="(?!post-)', html)


# --- 9. Cache-Control: no-store on the back office and on the writer's pages -------------------


def no_store_failures(app: Flask) -> list[str]:
    """Walk every back-office rule, anonymous and logged in; return responses without no-store."""
    published = post(app, tags=["walks"])
    held = comment(app, published, status="pending")
    with app.app_context():
        values = {**post_values(app, db.session.get(Post, published.id)), "comment_id": held.id}
        rules = [
            r for r in app.url_map.iter_rules() if r.endpoint.startswith(("admin.", "porting."))
        ]
        targets = list(rule_urls(app, rules, values))
    failures = []

    def check(who: str, method: str, url: str, response) -> None:
        if "no-store" not in response.headers.get("Cache-Control", ""):
            failures.append(f"{who} {method} {url}: {response.status_code}")

    anonymous = app.test_client()
    for rule, url in targets:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            check("anonymous", method, url, anonymous.open(url, method=method))
    writer_browser = app.test_client()
    assert login(writer_browser).status_code == 303
    for rule, url in targets:
        # GETs as they are; POSTs without a token (refused, so nothing ends the session).
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            check("writer", method, url, writer_browser.open(url, method=method))
    # A reading page made for the logged-in writer (the comment form knows them).
    check("writer", "GET", path_of(published), writer_browser.get(path_of(published)))
    return failures


def test_every_back_office_response_is_no_store(app):
    writer(app)
    site = app
    assert no_store_failures(site) == []
    # Readers' pages stay cacheable; the writer's export never is.
    reader = site.test_client()
    assert "no-store" not in reader.get("/").headers.get("Cache-Control", "")
    assert "public" in reader.get("/feeds/posts.atom").headers["Cache-Control"]
    browser = site.test_client()
    login(browser)
    export = browser.get("/admin/export.txt")
    assert export.status_code == 200 and export.headers["Cache-Control"] == "no-store"
    assert "no-store" in browser.get("/feeds/posts.atom").headers["Cache-Control"]


def test_the_no_store_walker_can_fail(app):
    from blog.sessions import _no_store

    writer(app)
    app.after_request_funcs[None].remove(_no_store)
    failures = no_store_failures(app)
    assert "writer GET /admin/export.txt: 200" in failures
    assert "anonymous GET /admin/: 302" in failures
