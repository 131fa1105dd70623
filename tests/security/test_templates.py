"""No inline script, inline style or on* handler: in the templates, and in every page type."""

from __future__ import annotations

import re

import pytest

from tests.helpers.html import parse
from tests.helpers.routes import page_type_urls
from tests.helpers.xss import TEMPLATES, json_ld_block

INLINE = [
    # A JSON-LD data block (templates/_share.html) is data: never run, outside the CSP.
    (
        re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/ld\+json\")[^>]*>", re.I),
        "<script> without src",
    ),
    (re.compile(r"<style\b", re.I), "<style>"),
    (re.compile(r"\sstyle\s*=", re.I), "style= attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "on* handler attribute"),
    (re.compile(r"\s(?:data-)?hx-on", re.I), "hx-on attribute"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
    (re.compile(r"\b(?:data-)?hx-vals\s*=\s*['\"]\s*js:", re.I), "js: hx-vals"),
]


def inline_in_source(text: str) -> list[str]:
    return [what for pattern, what in INLINE if pattern.search(text)]


def inline_in_page(html: bytes) -> list[str]:
    problems = []
    root = parse(html)
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "script" and not json_ld_block(element, root):
            if not element.get("src") or (element.text or "").strip():
                problems.append("inline <script>")
        if tag == "style":
            problems.append("<style>")
        for name in element.attrib:
            local = name.rsplit("}", 1)[-1].lower()
            if local == "style":
                problems.append(f"style= on <{tag}>")
            if local.startswith("on") or re.match(r"(data-)?hx-on", local):
                problems.append(f"{local}= on <{tag}>")
    return problems


def test_scanner_sees_inline_code():
    assert inline_in_source('<script>x()</script><p style="a" onclick="b">') == [
        "<script> without src",
        "style= attribute",
        "on* handler attribute",
    ]
    assert inline_in_source('<script src="/static/x.js" defer></script>') == []
    assert inline_in_source('<script type="application/ld+json">{}</script>') == []
    # A data block anywhere but the head, or holding something else than JSON, is code.
    assert inline_in_page(b'<body><script type="application/ld+json">{}</script>') != []
    head = b'<head><script type="application/ld+json">alert(1)</script></head>'
    assert inline_in_page(head) == ["inline <script>"]
    page = b'<p style="x" onclick="y" data-hx-on:click="z"></p><script>1</script><style></style>'
    assert len(inline_in_page(page)) == 5


TEMPLATE_FILES = sorted(p for p in TEMPLATES.rglob("*") if p.suffix in (".html", ".xml"))


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_template_has_no_inline_code(path):
    assert inline_in_source(path.read_text()) == []


@pytest.mark.engine_independent  # the same pages on either database
def test_every_page_type_has_no_inline_code(app, client, demo):
    urls = page_type_urls(app)
    assert {"/", "/sitemap.xml", "/robots.txt"} <= set(urls)
    assert any(u.startswith("/tags/") for u in urls) and any(u.count("/") == 4 for u in urls)
    checked = 0
    for url in urls:
        response = client.get(url)
        assert response.status_code < 500, url
        if response.mimetype == "text/html":
            assert inline_in_page(response.data) == [], url
            checked += 1
    assert checked >= 8
