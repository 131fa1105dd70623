"""Small helpers the tests share: parse pages, find demo posts."""

from __future__ import annotations

import http.cookiejar
import urllib.parse
import urllib.request

import html5lib
import lxml.html
import sqlalchemy as sa

from blog.extensions import db
from blog.models import Post


def parse(response):
    """Parse a response's HTML into an ElementTree (no namespaces in tag names)."""
    return html5lib.parse(response.get_data(as_text=True), namespaceHTMLElements=False)


def text(element) -> str:
    """Return the visible text of an element with whitespace collapsed."""
    return " ".join("".join(element.itertext()).split())


def post_by_slug(slug: str) -> Post:
    return db.session.scalar(sa.select(Post).where(Post.slug == slug))


def publish_post(title: str = "Talking back", body: str = "A post readers answer.") -> Post:
    """Publish a post open to comments, dated yesterday, by a new writer; commit and return it."""
    from datetime import timedelta

    from blog.content import save_post
    from blog.models import PostStatus, User, utcnow

    number = db.session.scalar(sa.select(sa.func.count(User.id))) + 1
    writer = User(username=f"writer{number}", display_name="Nell Carrow", password_hash="")
    db.session.add(writer)
    db.session.flush()
    post = save_post(
        Post(),
        title=title,
        body=body,
        author_id=writer.id,
        tags=[],
        status=PostStatus.PUBLISHED,
        published_at=utcnow() - timedelta(days=1),
    )
    db.session.commit()
    return post


def path_of(post: Post) -> str:
    """Return the permalink path of a published post."""
    return f"/{post.published_at:%Y/%m}/{post.slug}/"


CLOSED_DEMO_POST = "surfacing-after-a-long-quiet-spell"
OPEN_DEMO_POST = "comments-are-the-best-part-of-a-blog"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is the answer to look at, not to follow


def browser_opener() -> urllib.request.OpenerDirector:
    """Return a urllib opener with its own cookie jar that does not follow redirects (a 3xx
    raises HTTPError): one reader's session against a real server."""
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)


def form_fields(page: bytes, base_url: str, xpath: str) -> tuple[str, list[tuple[str, str]]]:
    """Return a form's absolute action and the fields a browser would submit as they are:
    every input (hidden ones included, empty ones empty), checked boxes only, no buttons."""
    (form,) = lxml.html.fromstring(page).xpath(xpath)
    fields = []
    for element in form.xpath(".//input | .//textarea | .//select"):
        name = element.get("name")
        kind = (element.get("type") or "text").lower()
        if not name or kind in ("submit", "button", "image", "reset", "file"):
            continue
        if kind in ("checkbox", "radio"):
            if element.get("checked") is not None:
                fields.append((name, element.get("value") or "on"))
        elif element.tag == "textarea":
            fields.append((name, element.text or ""))
        elif element.tag == "select":
            options = element.xpath(".//option[@selected]") or element.xpath(".//option")
            fields.append((name, options[0].get("value", options[0].text or "") if options else ""))
        else:
            fields.append((name, element.get("value") or ""))
    return urllib.parse.urljoin(base_url, form.get("action")), fields
