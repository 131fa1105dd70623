"""The XSS corpus and a check of whole pages for anything that could run, for the security suite.

`executable_content()` parses a page the way a browser does and reports every element,
attribute, URL or htmx attribute through which code could run or foreign content load;
`skeleton()` gives a page's structure without its text, to compare an echo of a payload with
an echo of a harmless value; `feed_html()` is the HTML a feed reader renders from a feed.
test_comment_xss.py runs it on every page that shows a comment.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from lxml import etree

from blog.content import save_post
from blog.extensions import db
from blog.models import Post, PostStatus
from tests.helpers import factories
from tests.helpers.html import parse

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
CORPUS = ROOT / "tests" / "data" / "xss_payloads.txt"


def load_payloads() -> list[str]:
    """Return the XSS corpus: one payload a line, '# ' comments and blank lines skipped."""
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("# ")]


PAYLOADS = load_payloads()

# --- Parsing a page the way a browser does -----------------------------------------------


URL_ATTRIBUTES = {
    "href",
    "src",
    "action",
    "formaction",
    "xlink:href",
    "poster",
    "background",
    "data",
    "srcset",
    "cite",
    "lowsrc",
    "dynsrc",
    "codebase",
    "ping",
    "manifest",
    "icon",
    "longdesc",
    "usemap",
}
# Elements that run code, load a document or change how the page is read; none is ever ours
# except <script src="/static/..."> and the <link>s and <meta>s of base.html.
FORBIDDEN_ELEMENTS = {
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "base",
    "style",
    "svg",
    "math",
    "isindex",
    "template",
    "portal",
    "noembed",
    "xmp",
    "plaintext",
    "listing",
}
BAD_SCHEMES = ("javascript:", "vbscript:", "livescript:", "data:", "feed:")
_SCHEME_NOISE = re.compile(r"[\x00-\x20\x7f-\x9f]+")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


@functools.cache
def template_hx_attributes() -> frozenset[str]:
    """Return every htmx attribute name our templates write (data-hx-* and hx-*)."""
    names: set[str] = set()
    for path in TEMPLATES.rglob("*.html"):
        # With a value (data-hx-get="...") or without (data-hx-disable).
        names.update(re.findall(r"\b((?:data-)?hx-[\w:-]+)(?=[=\s>])", path.read_text()))
    return frozenset(names)


def _own_formaction(tag: str, attrs: dict[str, str]) -> bool:
    """The comment form's Preview button (templates/comments/_form.html) sends the form to a
    path of this site without JavaScript: a <button> with an id (no sanitizer lets one through)
    and a formaction that is a path here ("/...", never "//host" or a scheme)."""
    value = attrs.get("formaction", "")
    return (
        tag == "button"
        and bool(attrs.get("id"))
        and value.startswith("/")
        and not value.startswith("//")
        and "\\" not in value
    )


def _our_hooks(attrs: dict[str, str]) -> bool:
    classes = [
        c for c in attrs.get("class", "").split() if not c.startswith(("language-", "align-"))
    ]
    return bool(attrs.get("id") or classes)


def json_ld_block(element, root) -> bool:
    """True for the sharing metadata's data block: <script type="application/ld+json"> right
    in the head of root, no src, holding one JSON object. Browsers never run it (and the CSP
    does not apply); text that broke out of it would fail to parse or leave another element."""
    attrs = {k.split("}")[-1].lower(): v for k, v in element.attrib.items()}
    if set(attrs) != {"type"} or attrs["type"] != "application/ld+json":
        return False
    head = next((e for e in root.iter() if _local(e.tag) == "head"), None)
    if head is None or not any(child is element for child in head):
        return False
    try:
        return isinstance(json.loads(element.text or ""), dict)
    except ValueError:
        return False


def executable_content(html, static_prefix: str = "/static/") -> list[str]:
    """Return what in a page could run code or load foreign content; [] for a clean page."""
    problems: list[str] = []
    allowed_hx = template_hx_attributes()
    root = parse(html)
    # The elements themselves, not their id(): lxml keeps a node's Python object only while
    # something refers to it, so an id() could be reused by another element.
    disabled = set(root.xpath("//*[@hx-disable or @data-hx-disable]//*"))
    for element in root.iter():
        tag = _local(element.tag)
        attrs = {k.split("}")[-1].lower(): v for k, v in element.attrib.items()}
        raw_names = {k.split("}")[-1].lower() for k in element.attrib}
        where = f"<{tag} {' '.join(sorted(raw_names))}>"
        if not tag:
            continue
        if tag in FORBIDDEN_ELEMENTS or "}" in str(element.tag):
            problems.append(f"forbidden element {where}")
        if tag == "script" and not json_ld_block(element, root):
            src = attrs.get("src", "")
            if not src.startswith(static_prefix) or (element.text or "").strip():
                problems.append(f"script not from our static files: {where} src={src!r}")
        if tag == "meta" and attrs.get("http-equiv", "").lower() in ("refresh", "set-cookie"):
            problems.append(f"meta http-equiv: {where}")
        # rel="webmention": our own endpoint, announced on post pages (blog.webmention).
        own_webmention = (
            attrs.get("rel", "").lower() == "webmention"
            and urlsplit(attrs.get("href", "")).path == "/webmention"
        )
        if (
            tag == "link"
            and not own_webmention
            and attrs.get("rel", "").lower() not in ("stylesheet", "alternate", "canonical", "icon")
        ):
            problems.append(f"unexpected link: {where}")
        for name in raw_names:
            local = name.split(":")[-1]
            if local.startswith("on"):
                problems.append(f"event handler attribute {name} on {where}")
            if local == "style":
                problems.append(f"style attribute on {where}")
            if local == "srcdoc":
                problems.append(f"{name} on {where}")
            if local == "formaction" and not _own_formaction(tag, attrs):
                problems.append(f"{name} on {where}")
            if re.match(r"(data-)?hx-", name):
                if re.match(r"(data-)?hx-on", name):
                    problems.append(f"htmx handler {name} on {where}")
                elif element in disabled:
                    pass
                elif name not in allowed_hx:
                    problems.append(f"htmx attribute {name} outside hx-disable on {where}")
                elif tag != "body" and not _our_hooks(attrs):
                    # Every htmx element of our templates carries an id or a class of ours; the
                    # sanitizers let no id through and only language-*/align-* classes.
                    problems.append(f"htmx attribute {name} on an element of no template: {where}")
        for name, value in element.attrib.items():
            if _local(name) not in URL_ATTRIBUTES and name.lower() not in URL_ATTRIBUTES:
                continue
            target = _SCHEME_NOISE.sub("", value).lower()
            if target.startswith(BAD_SCHEMES) and not (
                tag == "img" and target.startswith("data:image/")
            ):
                problems.append(f"{name}={value!r} on {where}")
    return problems


def skeleton(html) -> list[tuple[str, tuple[str, ...]]]:
    """Return the page's elements and attribute names in order, without any text or value."""
    return [
        (_local(el.tag), tuple(sorted(el.attrib)))
        for el in parse(html).iter()
        if isinstance(el.tag, str)
    ]


def feed_html(xml: bytes) -> list[str]:
    """Return the HTML a feed reader renders from an Atom or RSS feed (escaped or xhtml)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    fragments = []
    for element in etree.fromstring(xml, parser).iter():
        if not isinstance(element.tag, str):
            continue
        local = etree.QName(element).localname
        kind = element.get("type", "")
        if local in ("content", "summary", "title", "subtitle") and kind == "html":
            fragments.append(element.text or "")
        elif local in ("content", "summary") and kind == "xhtml":
            fragments.append(etree.tostring(element, encoding="unicode"))
        elif local in ("description", "encoded"):
            fragments.append(element.text or "")
    return fragments


# --- Content made of payloads ----------------------------------------------------------------


def publish_payload_posts(app: Flask) -> list[Post]:
    """Publish one post per payload: the payload as title, tag, excerpt and Markdown body.

    Returns the posts detached, their tags loaded.
    """
    author = factories.writer(app, "writer", "<b onclick=alert(1)>Writer</b>")
    with app.app_context():  # one transaction for some 250 posts
        now = datetime.now(UTC)
        posts = []
        for i, payload in enumerate(PAYLOADS):
            posts.append(
                save_post(
                    Post(),
                    title=payload,
                    body=f"{payload}\n\n> {payload}\n\n[link]({payload})\n\n`{payload}`",
                    excerpt=payload,
                    author_id=author.id,
                    tags=[payload, f"tag {i}"],
                    status=PostStatus.PUBLISHED,
                    published_at=now - timedelta(minutes=i + 1),
                )
            )
        db.session.commit()
        for post in posts:
            db.session.refresh(post)
            db.session.expunge(post)
        return posts
