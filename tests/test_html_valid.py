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
        "/search?q=comments -winter",
        "/search?q=zebra",
        "/about/",
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
