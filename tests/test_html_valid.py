"""Every page type is valid HTML, checked by the Nu Html Checker (npm package vnu-jar)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.conftest import require
from tests.helpers import CLOSED_DEMO_POST, OPEN_DEMO_POST, path_of, post_by_slug

ROOT = Path(__file__).resolve().parent.parent
VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


def validate(pages: dict[str, str], tmp_path: Path) -> list[str]:
    """Run vnu.jar over the pages; return its error messages as 'page: line: message'."""
    has_java = shutil.which("java") is not None
    require(has_java, "Java (for the Nu Html Checker)", "default-jre-headless")
    require(VNU.exists(), "vnu.jar (run `npm ci`; needs npm)", "npm")
    files = {}
    for name, html in pages.items():
        path = tmp_path / (name.strip("/").replace("/", "_").replace("?", "_") or "home")
        path = path.with_suffix(".html")
        path.write_text(html, encoding="utf-8")
        files[str(path)] = name
    result = subprocess.run(
        ["java", "-jar", str(VNU), "--format", "json", "--errors-only", *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    return [
        f"{files.get(m.get('url', '').removeprefix('file:'), m.get('url'))}: "
        f"{m.get('lastLine')}: {m['message']}"
        for m in messages
    ]


def test_every_page_type_is_valid_html(client, demo, tmp_path):
    post = post_by_slug(CLOSED_DEMO_POST)
    urls = [
        "/",
        path_of(post),
        path_of(post_by_slug(OPEN_DEMO_POST)),
        f"/{post.published_at:%Y}/",
        f"/{post.published_at:%Y/%m}/",
        "/tags/writing/",
        "/search?q=notebook",
        "/search?q=zebra",
        "/search",
        "/no-such-page",
    ]
    pages = {}
    for url in urls:
        response = client.get(url, follow_redirects=True)
        assert response.status_code in (200, 404), url
        pages[url] = response.get_data(as_text=True)
    errors = validate(pages, tmp_path)
    assert errors == []


def test_pages_made_for_one_reader_are_valid_html(app, client, demo, tmp_path):
    """The writer's page (their bar, the token), the form opened under a comment, and the page
    that asks a reader without JavaScript to confirm a comment (its preview)."""
    import time

    from blog.comments import spam
    from tests.helpers import factories

    post = post_by_slug(OPEN_DEMO_POST)
    url = path_of(post)
    comment_id = post.approved_comments()[0].id
    pages = {"replyto": client.get(f"{url}?replyto={comment_id}").get_data(as_text=True)}
    with app.test_request_context():
        old_stamp = spam.page_stamp(time.time() - 600)
    checking = create_app_with_time_check(app).test_client()
    form = {"author_name": "Ada", "body": "Checked <em>first</em>.", "issued": old_stamp}
    confirm = checking.post(url + "comments", data=form)
    assert confirm.status_code == 200 and "comment-preview" in confirm.get_data(as_text=True)
    pages["confirm"] = confirm.get_data(as_text=True)
    user = factories.writer(app)
    writer = app.test_client()
    with writer.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
    with app.app_context():  # its own request: nothing of the earlier readers' is reused
        pages["writer"] = writer.get(url).get_data(as_text=True)
    assert "writer-bar" in pages["writer"]
    assert validate(pages, tmp_path) == []


def create_app_with_time_check(app):
    """The same blog with the real time check on (the suite's config turns it off)."""
    from blog import create_app

    return create_app({**app.config, "COMMENT_MIN_SECONDS": None})
