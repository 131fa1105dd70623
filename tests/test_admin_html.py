"""Every back-office page is valid HTML and holds under a strict CSP (no inline behaviour)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from blog.models import CommentStatus
from tests.helpers import factories
from tests.helpers.config import require
from tests.helpers.html import csrf_token, parse

VNU = Path(__file__).parent.parent / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"

# The pages are the same HTML on either database.
pytestmark = pytest.mark.engine_independent


@pytest.fixture
def pages(demo, client, auth) -> dict[str, bytes]:
    """Fetch every back-office page a writer sees, logged out and in, with a full queue."""
    post = factories.newest_post(demo)
    factories.comment(
        demo,
        post,
        "Hello <b>there</b> https://example.org",
        author_name="Nadia",
        author_email="nadia@example.org",
        author_url="https://nadia.example.org/",
        status=CommentStatus.PENDING,
        ip="198.51.100.7",
        reason="First comment from this email",
    )
    found = {"login": client.get("/login").data}
    factories.writer(demo)
    auth.login()
    for url in [
        "/admin/",
        "/admin/posts/",
        "/admin/posts/new",
        f"/admin/posts/{post.id}/edit",
        f"/admin/posts/{post.id}/delete",
        "/admin/comments",
        "/admin/comments?status=approved",
        "/admin/settings",
        "/admin/sessions",
        "/admin/site",
        "/admin/pages/",
        "/admin/pages/new",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        found[url] = response.data
    invalid = client.post(
        "/admin/posts/new",
        data={"csrf_token": csrf_token(client, "/admin/posts/new"), "title": "", "publish": "1"},
    )
    assert invalid.status_code == 422
    found["editor with errors"] = invalid.data
    return found


def test_no_inline_script_style_or_handlers(pages):
    for name, html in pages.items():
        tree = parse(html)
        for script in tree.iterfind(".//script"):
            assert script.get("src"), f"inline script on {name}"
        assert tree.find(".//style") is None, name
        for element in tree.iter():
            for attribute in element.attrib:
                assert attribute != "style", f"style= on {name}"
                assert not re.match(r"(on\w+|hx-on.*|data-hx-on.*)$", attribute), (name, attribute)
        # htmx trigger filters ([...]) run through Function(): refused by a strict CSP.
        for element in tree.iterfind(".//*[@data-hx-trigger]"):
            assert "[" not in element.get("data-hx-trigger"), name


def test_pages_are_valid_html(pages, tmp_path):
    java = shutil.which("java")
    require(java is not None, "Java", "default-jre-headless")
    require(VNU.exists(), "The Nu Html Checker (npm ci: vnu-jar)", "npm")
    files = []
    for n, html in enumerate(pages.values()):
        path = tmp_path / f"page{n}.html"
        path.write_bytes(html)
        files.append(str(path))
    names = dict(zip(files, pages, strict=True))
    result = subprocess.run(
        [java, "-jar", str(VNU), "--errors-only", "--format", "json", *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    problems = [
        f"{names.get(m.get('url', '').removeprefix('file:'), m.get('url'))}: {m['message']}"
        for m in messages
    ]
    assert problems == []
