"""Bad input: broken encodings, control characters, huge values, CRLF, traversal, SQL quotes."""

from __future__ import annotations

import http.client
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

import pytest
import sqlalchemy as sa

from blog import create_app
from blog.extensions import db
from blog.models import Post, Tag
from blog.security import strip_control_characters
from tests.helpers import factories
from tests.helpers.config import base_config
from tests.helpers.database import count
from tests.helpers.fuzz import assert_answers_well
from tests.helpers.html import main_text, parse
from tests.helpers.routes import same_origin

HOSTILE_PARTS = [
    "%ff%fe%fd",  # invalid UTF-8
    "%c0%af",  # overlong UTF-8 for "/"
    "%ed%a0%80",  # a UTF-16 surrogate, encoded
    "a%00b",  # NUL
    "%01%02%1b%7f",  # control characters
    "%e2%80%ae%e2%80%ad",  # right-to-left and left-to-right overrides
    "%0d%0aX-Injected:%201",  # CRLF
    "%25",  # a percent sign
    "x" * 5000,  # absurdly long
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
]


@pytest.mark.parametrize("part", HOSTILE_PARTS)
@pytest.mark.parametrize(
    "template",
    [
        "/search?q={}",
        "/search?q=notebook&page={}",
        "/?page={}",
        "/tags/{}/",
        "/tags/writing/?page={}",
        "/2026/11/{}/",
        "/{}/",
        "/{}",
        "/about/comments?after={}",  # a page's comment poll
        "/{}/comments.atom",  # a page's comment feed
        "/sitemap.xml?{}={}",
    ],
)
def test_hostile_url_parts_never_break_a_page(client, demo, template, part):
    response = client.get(template.format(part, part))
    assert_answers_well(response)
    assert "X-Injected" not in response.headers


@pytest.mark.parametrize("page", ["99999999999999999999", "9223372036854775807", "100001", "0"])
def test_page_numbers_beyond_any_listing_are_404(client, demo, page):
    assert client.get(f"/?page={page}").status_code == 404
    assert client.get(f"/search?q=the&page={page}").status_code == 404


def test_control_characters_stripped_from_query_and_form(app):
    assert strip_control_characters("a\x00b\x1bc\x7fd\x85e\tf\ng\rh") == "abcde\tf\ng\rh"
    body = b"name=a%00b%01c&text=line%0d%0anext%ff&%00key=v"
    with app.test_request_context(
        "/?q=x%00y%1bz", method="POST", data=body, content_type="application/x-www-form-urlencoded"
    ):
        from flask import request

        assert request.args["q"] == "xyz"
        assert request.form["name"] == "abc"
        # werkzeug keeps an escape that is not UTF-8 as it was typed: text, not an error.
        assert request.form["text"] == "line\r\nnext%FF"
        assert request.form["key"] == "v"


def test_nul_in_search_is_ignored_not_an_error(client, demo):
    with_nul = client.get("/search?q=note%00book")
    assert with_nul.status_code == 200
    assert "1 post found" in main_text(with_nul.data)


@pytest.mark.parametrize("length, status", [(200, 200), (201, 422), (5000, 422)])
def test_search_query_length_limit(client, demo, length, status):
    query = "word " * (length // 5) + "w" * (length % 5)
    response = client.get("/search?" + "q=" + quote(query))
    assert response.status_code == status
    if status == 422:
        message = parse(response.data).find(".//p[@class='search-error']")
        assert message is not None
        assert "the limit is 200" in message.text
        # What the reader typed is still in the search box.
        box = parse(response.data).find(".//input[@name='q']")
        assert box.get("value") == query.strip()


def test_search_limit_is_configurable(database_uri):
    app = create_app(base_config(database_uri, SEARCH_QUERY_MAX_LENGTH=10))
    client = app.test_client()
    assert client.get("/search?q=" + "a" * 10).status_code == 200
    assert client.get("/search?q=" + "a" * 11).status_code == 422
    box = parse(client.get("/").data).find(".//input[@name='q']")
    assert box.get("maxlength") == "10"


# --- Header injection ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/search?q=%0d%0aX-Injected:%201",
        "/search?q=a%0aX-Injected:1&page=%0d%0aX-Injected:1",
        "/tags/%0d%0aX-Injected:%201/",
        "/2026/11/x%0d%0aX-Injected:%201/",
        "/%0d%0aX-Injected:%201",
        "/static/%0d%0aX-Injected:%201",
        "/login?next=%0d%0aX-Injected:%201",
        "/login?next=/%0d%0aX-Injected:%201",
    ],
)
def test_crlf_never_reaches_a_response_header(client, demo, url):
    response = client.get(url)
    response.close()
    assert response.status_code < 500
    assert "X-Injected" not in response.headers
    for name, value in response.headers.items():
        assert "\r" not in value and "\n" not in value, name


# --- Path traversal on static files --------------------------------------------------------

TRAVERSALS = [
    "/static/../blog/config.py",
    "/static/..%2fblog/config.py",
    "/static/%2e%2e/blog/config.py",
    "/static/%2e%2e%2fblog%2fconfig.py",
    "/static/%252e%252e%252fblog%252fconfig.py",
    "/static/..%5cblog%5cconfig.py",
    "/static/..\\blog\\config.py",
    "/static/....//blog/config.py",
    "/static/css/../../blog/config.py",
    "/static/css/..%2f..%2fblog%2fconfig.py",
    "/static/%c0%ae%c0%ae/blog/config.py",
    "/static/.%00./blog/config.py",
    "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
    "/static/../instance/secret_key",
    "/static/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
]


@pytest.mark.parametrize("url", TRAVERSALS)
def test_static_traversal_is_404(client, url):
    response = client.get(url)
    if response.status_code in (301, 308):  # werkzeug merges "//": follow that one, locally
        location = response.headers["Location"]
        assert same_origin(location), location
        response = client.get(location)
    body = response.get_data(as_text=True)
    response.close()
    assert response.status_code == 404
    assert "class Defaults" not in body and "root:" not in body


@pytest.mark.parametrize("url", TRAVERSALS)
def test_static_traversal_over_real_http(live_server, url):
    # A raw request line, as an attacker's client sends it: no browser-side normalizing.
    parts = urlsplit(live_server)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.putrequest("GET", url, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        body = response.read().decode("utf-8", "replace")
    finally:
        conn.close()
    if response.status in (301, 308):
        assert same_origin(response.getheader("Location"), parts.netloc)
    else:
        assert response.status in (400, 404)
    assert "class Defaults" not in body and "root:" not in body


def test_static_files_still_served(client):
    response = client.get("/static/css/blog.css")
    response.close()
    assert response.status_code == 200


# --- SQL metacharacters --------------------------------------------------------------------

SQL_TITLE = "Robert'); DROP TABLE post;--"


def _publish(app, title: str, body: str = "Body text.", tags: list[str] | None = None) -> Post:
    when = datetime.now(UTC) - timedelta(hours=1)
    return factories.post(app, title, body, tags=tags, published_at=when)


def test_sql_metacharacters_stored_found_and_shown_verbatim(app, client):
    post = _publish(
        app,
        SQL_TITLE,
        body="1' OR '1'='1 -- and \"; DELETE FROM users; /* 100% _done_ */",
        tags=["x' OR 1=1 --", 'quote"tag'],
    )
    _publish(app, "An ordinary post")
    with app.app_context():
        assert db.session.scalar(sa.select(Post.title).where(Post.id == post.id)) == SQL_TITLE

    for query in ("Robert'); DROP", "DROP TABLE post;--", "' OR '1'='1", '"; DELETE'):
        response = client.get("/search?q=" + quote(query))
        assert response.status_code == 200, query
        # The title's link, its matched words marked: <mark>Robert</mark>'); <mark>DROP</mark>…
        links = parse(response.data).iter("a")
        titles = [a for a in links if "".join(a.itertext()) == SQL_TITLE]
        assert titles, f"{query!r} did not find the post"
        assert "1 post found" in main_text(response.data)
    # Escaped as text, around the marked word.
    assert "<mark>Robert</mark>&#39;); DROP TABLE post;--" in client.get("/search?q=Robert").text

    detail = parse(client.get(f"/{post.published_at:%Y/%m}/{post.slug}/").data)
    assert detail.find(".//h1").text == SQL_TITLE
    tag_names = [a.text for a in detail.iter("a") if a.get("rel") == "tag"]
    assert sorted(tag_names) == ['quote"tag', "x' OR 1=1 --"]
    assert count(app, Post) == 2  # the table is still here
    assert count(app, Tag) == 2


def test_wildcards_are_never_wildcards(app, client):
    """Search is full-text: words match words. LIKE's % and _ and FTS5's * are punctuation, never
    "anything"; a query of punctuation alone asks for a word instead of matching everything."""
    _publish(app, "Interest at 100% today")
    _publish(app, "Snake_case names")
    _publish(app, "Nothing special")
    cases = {"100%": 1, "snake_case": 1, "snake": 1, "e_c": 0, "Inter*": 0, "s%": 0, "_": None}
    cases |= {"%": None, "\\": None, "%_%": None, "*": None}
    for query, expected in cases.items():
        text = main_text(client.get("/search?q=" + quote(query)).data)
        if expected is None:
            found = "Type a word or two"
        else:
            found = f"{expected} post found" if expected else "No post matches"
        assert found in text, (query, text)


@pytest.mark.parametrize(
    "url", ["/tags/x'%20OR%20'1'='1/", "/2026/11/x'%20OR%201=1--/", "/tags/%27%3B--/"]
)
def test_sql_in_url_parts_is_just_a_missing_page(client, demo, url):
    assert client.get(url).status_code == 404


@pytest.mark.postgresql_only
def test_nul_and_controls_on_postgresql(database_uri):
    """PostgreSQL refuses NUL in text ("cannot contain NUL"): without the input hygiene of
    blog/security.py these URLs answered 500 there (measured), while SQLite shrugs."""
    from blog.demo import load_demo

    app = create_app(base_config(database_uri, PROPAGATE_EXCEPTIONS=False))
    with app.app_context():
        load_demo()
    client = app.test_client()
    for path in ("/search?q=a%00b%01", "/tags/a%00b/", "/2026/11/x%00/", "/?page=%00"):
        assert_answers_well(client.get(path))
    assert "1 post found" in main_text(client.get("/search?q=note%00book").data)
