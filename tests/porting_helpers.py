"""Shared helpers of the import/export tests: an author, running the commands, counting rows."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from blog.extensions import db
from blog.models import Comment, LegacyPath, Post, Tag, User

DATA = Path(__file__).parent / "data"
MT_FILE = DATA / "typepad-export.txt"
WXR_FILE = DATA / "wordpress-export.xml"


def make_author(username: str = "nell", display_name: str = "Nell Carrow") -> int:
    """Create an account and return its id."""
    user = User(username=username, display_name=display_name)
    user.set_password("correct horse battery staple")
    db.session.add(user)
    db.session.commit()
    return user.id


def run(runner, *args: str):
    """Run a flask command and start the test's session afresh to see what it wrote."""
    result = runner.invoke(args=list(args))
    db.session.remove()
    return result


def counts() -> dict[str, int]:
    """How many rows each table the importer writes holds."""
    return {
        model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Post, Comment, Tag, LegacyPath)
    }


def post_by_slug(slug: str) -> Post:
    return db.session.scalar(sa.select(Post).where(Post.slug == slug))


def permalink(post: Post) -> str:
    """The post's URL, built the way the pages build it."""
    from flask import current_app

    from blog.permalinks import post_url

    with current_app.test_request_context():
        return post_url(post)
