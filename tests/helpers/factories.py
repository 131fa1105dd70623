"""Factories: a writer, a post, a page, a comment, the discussion settings, made through the
blog's own write paths; and the URLs of a post, built as the pages build them.

Each opens its own app context, writes in a transaction that takes SQLite's write lock up front
(as a command or a form post does: a factory reads, then writes, and another process committing
in between, such as a running worker's heartbeat, would otherwise fail its write at once with
"database is locked"), commits, and returns the row loaded and detached: its columns
(id, slug, published_at...) read without a session, and a test uses them to build URLs. To
change a row later, open `with app.app_context():` and read it again by id.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask

from blog.comments import store
from blog.content import save_post
from blog.discussion import DiscussionSettings
from blog.extensions import db, write_transaction
from blog.models import Comment, CommentStatus, Post, PostKind, PostStatus, User, utcnow
from blog.permalinks import post_url

PASSWORD = "a long walk by the sea"
# Two posts of the demo blog (flask demo): one closed to comments, one open with two.
CLOSED_DEMO_POST = "surfacing-after-a-long-quiet-spell"
OPEN_DEMO_POST = "comments-are-the-best-part-of-a-blog"


def _detached(row):
    db.session.commit()
    db.session.refresh(row)
    db.session.expunge(row)
    return row


def writer(
    app: Flask, username: str = "nell", display_name: str = "Nell Carrow", password: str = PASSWORD
) -> User:
    """Return the account username (created with password if missing)."""
    with app.app_context():
        with write_transaction():
            user = db.session.scalar(sa.select(User).where(User.username == username))
            if user is None:
                user = User(username=username, display_name=display_name)
                user.set_password(password)
                db.session.add(user)
        return _detached(user)


def post(
    app: Flask,
    title: str = "Talking back",
    body: str = "A post readers answer.",
    *,
    author: str = "nell",
    status: str = PostStatus.PUBLISHED,
    published_at: datetime | None = None,
    tags: list[str] | None = None,
    comments_open: bool = True,
    slug: str = "",
    excerpt: str = "",
    kind: str = PostKind.POST,
    nav_order: int | None = None,
) -> Post:
    """Publish (or save as status says) a post, by default dated yesterday and open to comments."""
    user = writer(app, author)
    if published_at is None and status != PostStatus.DRAFT:
        published_at = utcnow() - timedelta(days=1)
    with app.app_context():
        with write_transaction():
            row = save_post(
                Post(),
                title=title,
                body=body,
                author_id=user.id,
                tags=tags or [],
                status=status,
                published_at=published_at,
                slug=slug,
                excerpt=excerpt,
                comments_open=comments_open,
                kind=kind,
                nav_order=nav_order,
            )
        return _detached(row)


def page(
    app: Flask,
    title: str = "About",
    body: str = "Who writes here, and why.",
    *,
    status: str = PostStatus.PUBLISHED,
    nav_order: int | None = None,
    comments_open: bool = False,
    **fields,
) -> Post:
    """Publish (or save as a draft) a page at /<slug>/, as the editor's New page does: dated
    now, comments off unless asked, in the navigation when nav_order is a number."""
    published_at = utcnow() if status != PostStatus.DRAFT else None
    return post(app, title, body, status=status, published_at=published_at, kind=PostKind.PAGE,
                nav_order=nav_order, comments_open=comments_open, **fields)  # fmt: skip


def comment(
    app: Flask,
    on: Post,
    body: str = "A reader's answer.",
    *,
    author_name: str = "Ada Reader",
    status: str = CommentStatus.APPROVED,
    parent: Comment | None = None,
    **fields,
) -> Comment:
    """Add a comment to the post on through blog.comments.store (counts and revision kept)."""
    with app.app_context():
        with write_transaction():
            row = store.add_comment(
                db.session.get(Post, on.id),
                author_name=author_name,
                body=body,
                status=status,
                parent=db.session.get(Comment, parent.id) if parent is not None else None,
                **fields,
            )
        return _detached(row)


def discussion(app: Flask, **changes) -> DiscussionSettings:
    """Change the discussion settings as the back office does (the others kept); return them."""
    with app.app_context(), write_transaction():
        settings = DiscussionSettings.load()
        for key, value in changes.items():
            assert hasattr(settings, key), key
            setattr(settings, key, value)
        settings.save()
    return settings


def newest_post(app: Flask) -> Post:
    """The newest public post (of the demo blog, in a test that loads it), detached."""
    with app.app_context():
        row = db.session.scalars(Post.published()).first()
        db.session.expunge(row)
        return row


def path_of(post: Post) -> str:
    """Return the permalink path of a published post (in UTC, the blog's default clock), or
    of a page."""
    if post.kind == PostKind.PAGE:
        return f"/{post.slug}/"
    return f"/{post.published_at:%Y/%m}/{post.slug}/"


def permalink(app: Flask, post: Post, **options) -> str:
    """Return the post's URL as the pages build it (blog.permalinks.post_url)."""
    with app.test_request_context():
        return post_url(post, **options)
