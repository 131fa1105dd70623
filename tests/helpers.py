"""Small helpers the tests share: parse pages, find demo posts."""

from __future__ import annotations

import html5lib
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
