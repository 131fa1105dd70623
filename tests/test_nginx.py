"""deploy/nginx.conf in front of gunicorn: the cache serves anonymous readers, and only them.

The suite starts Debian's nginx (nginx-light) with the deploy file itself, rendered for loopback
(tests/helpers/nginx.py), in front of gunicorn with two workers. What it proves:

- a new comment shows through the cache within the comment poll interval (set to 3 s here:
  shared caches keep a page 1 s and serve it stale 2 s more), and at once straight from any
  worker;
- the reader who posted sees their comment at once (their pages bypass the cache meanwhile);
- a logged-in writer never gets a cached page, and their page never gets into the cache;
- an anonymous reader never gets a personal page (a remembered reader's, a held comment's);
- static files and uploaded images (/media/) come from disk, not from the app, with the
  headers the app gives them; nothing else below /media/ is served.
"""

from __future__ import annotations

import io
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage

from blog import create_app
from blog.readers import reader_cookies
from tests.helpers import factories
from tests.helpers import images as files
from tests.helpers.config import base_config, require
from tests.helpers.html import form_fields, parse, text
from tests.helpers.media import multipart
from tests.helpers.nginx import DEPLOY_CONF, Nginx, available
from tests.helpers.servers import browser_opener

POLL = 6  # COMMENTS_POLL_SECONDS of this server: pages live 2 s, and 4 s more while stale
# nginx answered from its cache without waiting for the app (UPDATING, STALE: an expired copy
# while one request refreshes it).
FROM_CACHE = ("HIT", "UPDATING", "STALE")


@dataclass
class Stack:
    nginx: Nginx
    app_url: str  # gunicorn, straight


@pytest.fixture
def stack(app, gunicorn, tmp_path):
    require(available(), "nginx", "nginx-light")
    # The app here, gunicorn and nginx share one media folder, as on a server.
    media = app.config["MEDIA_FOLDER"]
    server = gunicorn(
        workers=2,
        BLOG_COMMENTS_POLL_SECONDS=str(POLL),
        BLOG_COMMENT_MIN_SECONDS="0",
        BLOG_MEDIA_FOLDER=media,
        GUNICORN_ACCESSLOG="",
    )
    upstream = server.url.removeprefix("http://")
    nginx = Nginx(upstream, tmp_path / "nginx", media=Path(media))
    try:
        yield Stack(nginx, server.url)
    finally:
        nginx.stop()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str


def fetch(opener, url: str, data: list[tuple[str, str]] | None = None, **headers) -> Answer:
    """GET (or POST data) through opener; a redirect is an answer, not followed."""
    encoded = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, encoded, headers=headers)
    try:
        with opener.open(request, timeout=30) as response:
            return Answer(
                response.status, dict(response.headers), response.read().decode(errors="replace")
            )
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers), error.read().decode(errors="replace"))


def anonymous(url: str) -> Answer:
    return fetch(urllib.request.build_opener(), url)


def comment_form(opener, page_url: str, **filled: str) -> tuple[str, list[tuple[str, str]]]:
    """Read the comment form from the page as a browser would; fill it in."""
    page = fetch(opener, page_url)
    action, fields = form_fields(page.body.encode(), page_url, "//form[@id='comment-form']")
    values = [(name, filled.pop(name, value)) for name, value in fields]
    return action, values + list(filled.items())


def names_in_form(body: str) -> list[str]:
    return parse(body.encode()).xpath(
        "//form[@id='comment-form']//input[@name='author_name']/@value"
    )


def test_the_config_bypasses_the_cache_on_exactly_the_blogs_cookies(database_uri):
    app = create_app(base_config(database_uri))
    (pattern,) = re.findall(r'"~\(\^\|;\)\\s\*\(([^)]*)\)=" 1;', DEPLOY_CONF.read_text())
    assert set(pattern.split("|")) == set(reader_cookies(app))


def test_a_new_comment_shows_through_the_cache_within_the_poll_interval(app, stack):
    post = factories.post(app)
    url = stack.nginx.url + factories.path_of(post)
    first, second = anonymous(url), anonymous(url)
    assert first.headers["X-Cache-Status"] in ("MISS", "EXPIRED")
    assert second.headers["X-Cache-Status"] in FROM_CACHE  # the app was not asked
    assert second.headers["ETag"] == first.headers["ETag"]
    # Each answer has its own request id, the kept one too (the app logs the same id).
    assert second.headers["X-Request-ID"] != first.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", second.headers["X-Request-ID"])
    assert "Set-Cookie" not in second.headers and "Cookie" not in second.headers.get("Vary", "")

    # Another reader comments, straight to the app (as through another proxy or server).
    reader = browser_opener()
    app_page = stack.app_url + factories.path_of(post)
    action, data = comment_form(reader, app_page, author_name="Bo", body="Fresh words here.")
    posted = fetch(reader, action, data)
    assert posted.status == 303
    started = time.monotonic()
    # Straight from gunicorn: at once, from whichever worker answers.
    for _ in range(6):
        assert "Fresh words here." in anonymous(app_page).body
    # Through nginx: within the poll interval.
    seen = []
    while True:
        page = anonymous(url)
        seen.append(page.headers["X-Cache-Status"])
        if "Fresh words here." in page.body:
            break
        assert time.monotonic() - started < POLL + 1, seen  # +1: the test's own requests
        time.sleep(0.1)
    assert page.status == 200
    assert anonymous(url).headers["X-Cache-Status"] in (*FROM_CACHE, "REVALIDATED")


def test_the_reader_who_posted_sees_their_comment_at_once(app, stack):
    post = factories.post(app)
    url = stack.nginx.url + factories.path_of(post)
    anonymous(url), anonymous(url)  # the cache holds the page without the comment
    reader = browser_opener()
    action, data = comment_form(reader, url, author_name="Ada", body="My own, right now.")
    assert fetch(reader, action, data).status == 303
    mine = fetch(reader, url)  # the 303's target, with the cookie the answer set
    assert mine.headers["X-Cache-Status"] == "BYPASS"
    assert "My own, right now." in mine.body
    assert "private" in mine.headers["Cache-Control"]


def log_in(app, url: str):
    """Log the writer in through nginx; return their browser."""
    factories.writer(app)
    writer = browser_opener()
    action, data = comment_form_login(writer, url + "/login")
    answer = fetch(writer, action, data)
    assert answer.status == 303, answer.body[:300]
    return writer


def comment_form_login(opener, login_url: str) -> tuple[str, list[tuple[str, str]]]:
    page = fetch(opener, login_url)
    action, fields = form_fields(page.body.encode(), login_url, "//form[@method='post']")
    filled = {"username": "nell", "password": factories.PASSWORD}
    return action, [(name, filled.get(name, value)) for name, value in fields]


def test_a_logged_in_writer_never_gets_a_cached_page(app, stack):
    post = factories.post(app)
    url = stack.nginx.url + factories.path_of(post)
    anonymous(url)
    assert anonymous(url).headers["X-Cache-Status"] in FROM_CACHE
    writer = log_in(app, stack.nginx.url)
    for _ in range(2):
        page = fetch(writer, url)
        assert page.headers["X-Cache-Status"] == "BYPASS"
        assert page.headers["Cache-Control"] == "no-store"  # the writer's: no cache keeps it
        bar = parse(page.body.encode()).xpath("//nav[@class='writer-bar']")
        assert bar and "Edit this post" in text(bar[0])
    # The writer's page never went into the cache: readers still get theirs.
    shared = anonymous(url)
    assert shared.headers["X-Cache-Status"] in (*FROM_CACHE, "REVALIDATED", "EXPIRED")
    assert "writer-bar" not in shared.body and "csrf_token" not in shared.body
    # The same on a page the writer opens first, before any reader.
    other = factories.post(app, "Written first")
    first_url = stack.nginx.url + factories.path_of(other)
    assert "writer-bar" in fetch(writer, first_url).body
    after = anonymous(first_url)
    assert after.headers["X-Cache-Status"] == "MISS"
    assert "writer-bar" not in after.body and "csrf_token" not in after.body


def test_an_anonymous_reader_never_gets_a_personal_page(app, stack):
    post = factories.post(app)
    url = stack.nginx.url + factories.path_of(post)
    # A remembered reader is the first to open the page.
    reader = browser_opener()
    action, data = comment_form(
        reader, url, author_name="Remembered Reader", body="Keep my name.", remember="y"
    )
    assert fetch(reader, action, data).status == 303
    theirs = fetch(reader, url)
    assert names_in_form(theirs.body) == ["Remembered Reader"]
    started = time.monotonic()
    while True:  # until the shared page has their comment: never their name in the form
        shared = anonymous(url)
        assert names_in_form(shared.body) == [""]
        if "Keep my name." in shared.body:
            break
        assert time.monotonic() - started < POLL + 1
        time.sleep(0.1)
    assert anonymous(url).headers["X-Cache-Status"] in FROM_CACHE
    # Years later (only the remember-me cookie left), still their own page, never the cache.
    (jar,) = [h.cookiejar for h in reader.handlers if hasattr(h, "cookiejar")]
    (remember,) = [c for c in jar if c.name == "comment_author"]
    later = fetch(
        urllib.request.build_opener(), url, Cookie=f"comment_author={remember.value}; _ga=x"
    )
    assert later.headers["X-Cache-Status"] == "BYPASS"
    assert names_in_form(later.body) == ["Remembered Reader"]
    # A cookie that is not the blog's does not make a page personal.
    assert fetch(urllib.request.build_opener(), url, Cookie="_ga=x").headers["X-Cache-Status"] in (
        "HIT",
        "UPDATING",
        "STALE",
        "REVALIDATED",
        "EXPIRED",
    )


def post_file(opener, url: str, data: bytes, name: str, token: str) -> Answer:
    """POST one file to url as the editor's uploader does (multipart, JSON answer)."""
    body, content_type = multipart({"file": FileStorage(io.BytesIO(data), filename=name)})
    headers = {"Content-Type": content_type, "Accept": "application/json", "X-CSRFToken": token}
    request = urllib.request.Request(url, body, headers=headers)
    try:
        with opener.open(request, timeout=60) as response:
            return Answer(response.status, dict(response.headers), response.read().decode())
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers), error.read().decode(errors="replace"))


def test_static_files_and_uploaded_images_come_from_disk(app, stack):
    css = anonymous(stack.nginx.url + "/static/css/blog.css")
    assert css.status == 200 and "X-Request-ID" not in css.headers  # the app never saw it
    assert css.headers["X-Content-Type-Options"] == "nosniff"
    # The writer uploads an image through nginx, as from the editor: stored by content hash.
    writer = log_in(app, stack.nginx.url)
    library = fetch(writer, stack.nginx.url + "/admin/media")
    token = parse(library.body.encode()).xpath("//input[@name='csrf_token']/@value")[0]
    upload_url = stack.nginx.url + "/admin/media"
    uploaded = post_file(writer, upload_url, files.jpeg(800, 600), "harbour.jpg", token)
    assert uploaded.status == 201, uploaded.body[:300]
    path = json.loads(uploaded.body)["url"]
    assert re.fullmatch(r"/media/[0-9a-f]{2}/[0-9a-f]{32}\.jpg", path)
    # Larger than the 10 MB nginx allows elsewhere: the upload's location lets it through to
    # the app, which judges it itself (not an image: 415 and its message, not nginx's 413).
    junk = post_file(writer, upload_url, b"\0" * (11 * 1024 * 1024), "big.jpg", token)
    assert junk.status == 415 and "error" in json.loads(junk.body)
    # Readers get the file from disk, with the headers the app gives it.
    direct = fetch(urllib.request.build_opener(), stack.app_url + path)
    assert direct.status == 200
    image = fetch(urllib.request.build_opener(), stack.nginx.url + path)
    assert image.status == 200 and image.body == direct.body
    assert "X-Request-ID" not in image.headers  # nginx read it from disk
    assert image.headers["Content-Type"] == direct.headers["Content-Type"] == "image/jpeg"
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert image.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # Only the names the blog writes: not a file the folder happens to hold, nor a guess.
    folder = Path(app.config["MEDIA_FOLDER"])
    (folder / "notes.txt").write_text("not an image")
    subfolder = path.split("/")[2]
    (folder / subfolder / ".half-written.jpg.tmp").write_bytes(b"\xff\xd8")
    for other in (
        "/media/notes.txt",
        f"/media/{subfolder}/.half-written.jpg.tmp",
        path.removesuffix(".jpg") + ".png",
        "/media/ab/cd.jpg",
    ):
        assert anonymous(stack.nginx.url + other).status == 404, other
