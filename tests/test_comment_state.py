"""The one write path for comment state keeps every cache honest.

Whatever sequence of changes a post's comments go through — added (approved, held, spam,
replies), approved, held, marked as spam, deleted, edited, changed in bulk, imported again
from a newer export, re-rendered after a policy change — the comment list the post page
serves from its per-process cache (and the whole page from the page cache, as anonymous readers
get it), the feeds served from theirs, and the stored count equal what an app with every cache
switched off renders from the database at that moment.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from blog import create_app
from blog import rerender as rerender_module
from blog.comments import store
from blog.comments.formatting import render_comment
from blog.extensions import db
from blog.models import Comment, CommentStatus, Post
from blog.porting.importer import run_import
from blog.rerender import rerender
from tests.helpers import factories
from tests.helpers.config import base_config
from tests.helpers.html import parse, text

STATUSES = [CommentStatus.APPROVED, CommentStatus.PENDING, CommentStatus.SPAM]
WORDS = st.text("abcdefgh *_<>&\n", min_size=1, max_size=30).filter(str.strip)

operations = st.one_of(
    st.tuples(st.just("add"), st.sampled_from(STATUSES), st.none() | st.integers(0, 20), WORDS),
    st.tuples(st.just("status"), st.integers(0, 20), st.sampled_from(STATUSES)),
    st.tuples(st.just("delete"), st.integers(0, 20)),
    st.tuples(st.just("edit"), st.integers(0, 20), WORDS),
    st.tuples(
        st.just("bulk"),
        st.sampled_from(["approve", "spam", "delete"]),
        st.lists(st.integers(0, 20), max_size=4),
    ),
    st.tuples(st.just("import"), st.integers(1, 3)),
    st.tuples(st.just("rerender"), st.booleans()),
)

EXPORT_ENTRY = """AUTHOR: nell
TITLE: {title}
BASENAME: {basename}
STATUS: Publish
ALLOW COMMENTS: 1
CONVERT BREAKS: __default__
DATE: 01/15/2026 09:00:00 AM
-----
BODY:
A post whose comments keep changing.
-----
{comments}--------
"""
EXPORT_COMMENT = """COMMENT:
AUTHOR: Importer {n}
DATE: 01/16/2026 10:{n:02d}:00 AM
Imported comment number {n}.
-----
"""


@pytest.fixture
def apps(database_uri):
    """Two apps on one database: the blog as it runs, and one with every cache off."""
    cached = create_app(base_config(database_uri))
    fresh = create_app(
        base_config(database_uri, COMMENTS_CACHE_SIZE=0, FEED_CACHE_SIZE=0, PAGE_CACHE_SIZE=0)
    )
    factories.writer(cached)
    return cached, fresh


def comment_list(response) -> str:
    (listing,) = parse(response).xpath("//ol[@id='comment-list']")
    return etree.tostring(listing, encoding="unicode")


def served(app, post_path: str) -> dict[str, object]:
    """What readers get: the comment list and count of the page, and both comment feeds."""
    client = app.test_client()
    page = client.get(post_path)
    assert page.status_code == 200
    return {
        "list": comment_list(page),
        "count": text(parse(page).xpath("//*[@id='comment-count']")[0]),
        "post feed": client.get(post_path + "comments.atom").data,
        "site feed": client.get("/feeds/comments.rss").data,
    }


class Example:
    """One post and the comments an example made on it (by position, deleted ones too)."""

    def __init__(self, app, tmp_path: Path, number: int) -> None:
        self.app = app
        self.export = tmp_path / f"export-{number}.txt"
        self.title = f"Changing comments {number}"
        self.basename = f"changing-comments-{number}"
        self.imported = 0
        self.import_more(0)
        with app.app_context():
            post = db.session.scalar(sa.select(Post).where(Post.title == self.title))
            self.post_id = post.id
            self.path = f"/{post.published_at:%Y/%m}/{post.slug}/"
        self.ids: list[int] = []

    def import_more(self, count: int) -> None:
        """Import the post's export again with count more comments (a newer export)."""
        self.imported += count
        comments = "".join(EXPORT_COMMENT.format(n=n) for n in range(1, self.imported + 1))
        self.export.write_text(
            EXPORT_ENTRY.format(title=self.title, basename=self.basename, comments=comments)
        )
        with self.app.app_context():
            run_import(self.export, author="nell")

    def comment(self, index: int) -> Comment | None:
        if not self.ids:
            return None
        return db.session.get(Comment, self.ids[index % len(self.ids)])

    def apply(self, operation: tuple) -> None:
        kind, *args = operation
        if kind == "import":
            self.import_more(args[0])
            return
        if kind == "rerender":
            # A policy change: every stored comment's HTML must be made again and shown.
            def changed(body: str, format: str) -> str:
                return render_comment(body, format) + "<p>v2</p>"

            rerender_module.render_comment = changed if args[0] else render_comment
            try:
                with self.app.app_context():
                    rerender(batch_size=7)
            finally:
                rerender_module.render_comment = render_comment
            return
        with self.app.app_context():
            post = db.session.get(Post, self.post_id)
            if kind == "add":
                status, parent_index, body = args
                parent = None if parent_index is None else self.comment(parent_index)
                if parent is not None and parent.status != CommentStatus.APPROVED:
                    parent = None
                comment = store.add_comment(
                    post, author_name="Ada", body=body, status=status, parent=parent
                )
                db.session.commit()
                self.ids.append(comment.id)
            elif kind != "bulk" and (comment := self.comment(args[0])) is None:
                return
            elif kind == "status":
                store.set_status([comment], args[1])
            elif kind == "delete":
                store.delete([comment])
                self.ids.remove(comment.id)
            elif kind == "edit":
                store.edit(comment, args[1])
            elif kind == "bulk":
                action, indexes = args
                chosen = {c.id: c for i in indexes if (c := self.comment(i)) is not None}
                if action == "delete":
                    store.delete(chosen.values())
                    self.ids = [i for i in self.ids if i not in chosen]
                else:
                    status = CommentStatus.APPROVED if action == "approve" else CommentStatus.SPAM
                    store.set_status(chosen.values(), status)
            db.session.commit()


def stored_count(app, post_id: int) -> tuple[int, int]:
    """Return (Post.comment_count, the approved comments actually stored)."""
    with app.app_context():
        post = db.session.get(Post, post_id)
        approved = db.session.scalar(
            sa.select(sa.func.count(Comment.id)).where(
                Comment.post_id == post_id, Comment.status == CommentStatus.APPROVED
            )
        )
        return post.comment_count, approved


@settings(
    max_examples=25,
    deadline=None,
    # One database for every example: each example works on a post of its own, and the
    # site-wide feed is compared between the two apps on the same data, whatever it holds.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(operations, min_size=1, max_size=12))
def test_caches_feeds_and_count_always_match_a_fresh_render(apps, tmp_path, steps):
    cached, fresh = apps
    example = Example(cached, tmp_path, len(list(tmp_path.glob("export-*"))))
    served(cached, example.path)  # the caches start warm
    for step in steps:
        example.apply(step)
        now = served(cached, example.path)
        assert now == served(fresh, example.path), step
        count, approved = stored_count(cached, example.post_id)
        assert count == approved
        assert re.fullmatch(rf"{approved} comments?", now["count"]), now["count"]


def test_the_comparison_sees_a_write_that_bypasses_the_store(apps, tmp_path):
    """The property can fail: a status changed by hand (no revision bump) serves stale lists."""
    cached, fresh = apps
    example = Example(cached, tmp_path, 0)
    example.apply(("add", CommentStatus.APPROVED, None, "first words"))
    assert served(cached, example.path) == served(fresh, example.path)
    with cached.app_context():
        db.session.get(Comment, example.ids[0]).status = CommentStatus.SPAM
        db.session.commit()
    assert served(cached, example.path)["list"] != served(fresh, example.path)["list"]
