"""Tools of the hostile-input suite: the payload corpus, the page checker, URL walkers, fuzzing.

The comment endpoint's tests use them too: test_comment_xss.py calls `executable_content()`
on every page that shows a comment, test_fuzz.py gives `fuzz_requests()` the comment form's
fields (htmx answers checked by `assert_fragment_answers_well`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, quote_from_bytes, urlsplit

import html5lib
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.routing import IntegerConverter, Rule

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
TEMPLATES = ROOT / "templates"


def load_payloads() -> list[str]:
    """Return the XSS corpus: one payload a line, '# ' comments and blank lines skipped."""
    lines = (HERE / "xss_payloads.txt").read_text(encoding="utf-8").splitlines()
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


def parse(html):
    """Parse HTML with html5lib (the HTML5 algorithm browsers use); a parsed tree passes through."""
    if not isinstance(html, str | bytes):
        return html
    return html5lib.parse(html, treebuilder="etree", namespaceHTMLElements=False)


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


def executable_content(html: str | bytes, static_prefix: str = "/static/") -> list[str]:
    """Return what in a page could run code or load foreign content; [] for a clean page."""
    problems: list[str] = []
    allowed_hx = template_hx_attributes()
    root = parse(html)
    disabled: set[int] = set()
    for parent in root.iter():
        if "hx-disable" in parent.attrib or "data-hx-disable" in parent.attrib:
            disabled.update(id(child) for child in parent.iter() if child is not parent)
    for element in root.iter():
        tag = _local(element.tag)
        attrs = {k.split("}")[-1].lower(): v for k, v in element.attrib.items()}
        raw_names = {k.split("}")[-1].lower() for k in element.attrib}
        where = f"<{tag} {' '.join(sorted(raw_names))}>"
        if not tag:
            continue
        if tag in FORBIDDEN_ELEMENTS or "}" in str(element.tag):
            problems.append(f"forbidden element {where}")
        if tag == "script":
            src = attrs.get("src", "")
            if not src.startswith(static_prefix) or (element.text or "").strip():
                problems.append(f"script not from our static files: {where} src={src!r}")
        if tag == "meta" and attrs.get("http-equiv", "").lower() in ("refresh", "set-cookie"):
            problems.append(f"meta http-equiv: {where}")
        if tag == "link" and attrs.get("rel", "").lower() not in (
            "stylesheet",
            "alternate",
            "canonical",
            "icon",
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
                elif id(element) in disabled:
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


def skeleton(html: str | bytes) -> list[tuple[str, tuple[str, ...]]]:
    """Return the page's elements and attribute names in order, without any text or value."""
    return [
        (_local(el.tag), tuple(sorted(el.attrib)))
        for el in parse(html).iter()
        if isinstance(el.tag, str)
    ]


def feed_html(xml: bytes) -> list[str]:
    """Return the HTML a feed reader renders from an Atom or RSS feed (escaped or xhtml)."""
    from lxml import etree

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


def main_text(html: str | bytes) -> str:
    """Return the text a reader sees in <main>."""
    main = parse(html).find(".//main")
    return " ".join("".join(main.itertext()).split()) if main is not None else ""


# --- Content made of payloads ----------------------------------------------------------------


def publish_payload_posts() -> list:
    """Publish one post per payload: the payload as title, tag, excerpt and Markdown body."""
    from blog.content import save_post
    from blog.extensions import db
    from blog.models import Post, PostStatus, User

    author = User(username="writer", display_name="<b onclick=alert(1)>Writer</b>")
    author.set_password("a long test password")
    db.session.add(author)
    db.session.flush()
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
    return posts


# --- Walking app.url_map ---------------------------------------------------------------------

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def rule_urls(
    app: Flask, rules: list[Rule], values: dict[str, object] | None = None
) -> Iterator[tuple[Rule, str]]:
    """Yield (rule, URL) for rules, filling arguments from values, else 1 for ints, 'x' else."""
    values = values or {}
    adapter = app.url_map.bind("localhost")
    for rule in rules:
        args = {}
        for name in rule.arguments - set(rule.defaults or ()):
            if name in values:
                args[name] = values[name]
            elif isinstance(rule._converters.get(name), IntegerConverter):
                args[name] = 1
            else:
                args[name] = "x"
        url = adapter.build(rule.endpoint, args, method=next(iter(rule.methods - {"OPTIONS"})))
        yield rule, url


def state_changing_rules(app: Flask) -> list[Rule]:
    """Return every rule that accepts POST, PUT, PATCH or DELETE."""
    return [rule for rule in app.url_map.iter_rules() if rule.methods & STATE_CHANGING]


def admin_rules(app: Flask) -> list[Rule]:
    """Return every rule under /admin."""
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.rule == "/admin" or rule.rule.startswith("/admin/")
    ]


def csrf_token(client) -> str:
    """Return a valid CSRF token for client's session, read from the login form.

    (Reading pages are shared by every anonymous reader and carry no token.)
    """
    page = client.get("/login")
    if page.status_code in (301, 302, 303):  # logged in: the back office's forms have it
        page = client.get("/admin/")
    return parse(page.data).find(".//input[@name='csrf_token']").get("value")


def post_values(post) -> dict[str, object]:
    """Return URL argument values pointing at post: its date, slug, first tag, ids, a comment."""
    import sqlalchemy as sa

    from blog.extensions import db
    from blog.models import Comment

    comment = db.session.scalar(sa.select(Comment.id).where(Comment.post_id == post.id).limit(1))
    return {
        "year": post.published_at.year,
        "month": post.published_at.month,
        "slug": post.slug,
        "tag": post.tags[0].slug,
        "id": post.id,
        "post_id": post.id,
        "comment_id": comment or 1,
    }


def sample_values(app: Flask) -> dict[str, object]:
    """Return URL argument values pointing at real demo content (a post with tags)."""
    from blog.extensions import db
    from blog.models import Post

    return post_values(db.session.scalars(Post.published().where(Post.tags.any())).first())


def page_type_urls(app: Flask, values: dict[str, object] | None = None) -> list[str]:
    """Return a URL of every public page type (GET routes but static and /admin), plus states.

    values fill the URL arguments (year, month, slug, tag...): by default a demo post's.
    """
    admin = {id(rule) for rule in admin_rules(app)}
    rules = [
        rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and rule.endpoint != "static" and id(rule) not in admin
    ]
    urls = [url for _rule, url in rule_urls(app, rules, values or sample_values(app))]
    urls += [
        "/search?q=notebook",  # results
        "/search?q=zzzzqqq",  # no results
        "/search?q=" + "x" * 300,  # too long: 422
        "/no-such-page/",  # 404
    ]
    return sorted(set(urls))


def same_origin(location: str, host: str = "localhost") -> bool:
    """True when a redirect target stays on this site (relative, or absolute to host)."""
    if "\\" in location or any(ord(c) < 33 for c in location):
        return False
    parts = urlsplit(location)
    if parts.scheme not in ("", "http", "https"):
        return False
    if parts.netloc not in ("", host):
        return False
    return not location.startswith("//") and bool(parts.netloc or location.startswith("/"))


# --- Fuzzing ---------------------------------------------------------------------------------


def _no_crash(response) -> str:
    body = response.get_data(as_text=True)
    assert response.status_code < 500, f"{response.status_code}: {main_text(body)[:300]}"
    assert "Traceback" not in body
    return body


def assert_answers_well(response) -> None:
    """Never a 5xx, never a stack trace; every 4xx tells the reader in words what went wrong."""
    body = _no_crash(response)
    if response.status_code >= 400 and response.mimetype == "text/html":
        text = main_text(body)
        assert len(text) >= 20, f"{response.status_code} without a message: {text!r}"


def assert_fragment_answers_well(response) -> None:
    """An htmx answer: never a 5xx or a trace; a 4xx fragment says in words what went wrong."""
    body = _no_crash(response)
    if response.status_code >= 400 and response.mimetype == "text/html":
        root = parse(body)
        said = [
            " ".join("".join(el.itertext()).split())
            for el in root.iter()
            if isinstance(el.tag, str)
            and (
                el.get("role") == "alert"
                or {"form-error", "comments-closed"} & set((el.get("class") or "").split())
            )
        ]
        assert any(len(text) >= 15 for text in said), f"{response.status_code} without a message"


def field_values(max_size: int = 400) -> st.SearchStrategy[str]:
    """Percent-encoded values a hostile client might send: any text, any bytes, huge, raw."""
    return st.one_of(
        st.text(max_size=max_size).map(lambda s: quote(s, safe="")),
        st.binary(max_size=max_size).map(lambda b: quote_from_bytes(b, safe="")),
        st.integers(0, 5000).map(lambda n: "a" * n),
        st.sampled_from(PAYLOADS).map(lambda s: quote(s, safe="")),
        # Not encoded at all: stray %, bad escapes, separators.
        st.text(alphabet="%&=+;?/\\x0aFfzZ.'\"<>", max_size=30),
        st.integers(-(10**30), 10**30).map(str),
    )


def fuzz_requests(
    client,
    path: str,
    fields: dict[str, st.SearchStrategy[str]],
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    max_examples: int = 150,
    check=assert_answers_well,
) -> None:
    """Send path many generated field values (query string for GET, form body else); check each.

    fields maps a field name to a strategy of already percent-encoded values
    (`field_values()` is the hostile default), e.g. the comment form:
    `fuzz_requests(client, url, {"author_name": field_values(), ...}, method="POST",
    headers={"X-CSRFToken": csrf_token(client)})`. check judges each response.
    """

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.fixed_dictionaries(fields))
    def run(values: dict[str, str]) -> None:
        encoded = "&".join(f"{quote(name)}={value}" for name, value in values.items())
        if method == "GET":
            response = client.get(f"{path}?{encoded}", headers=headers)
        else:
            response = client.open(
                path,
                method=method,
                data=encoded.encode(),
                content_type="application/x-www-form-urlencoded",
                headers=headers,
            )
        check(response)

    run()
