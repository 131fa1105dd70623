"""flask rerender: stored HTML made again from its source, in batches, writing only changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from blog import rerender as rerender_module
from blog.comments.formatting import render_comment
from blog.extensions import db
from blog.markdown import render_markdown
from blog.models import Comment, CommentStatus, Post
from blog.sanitize import clean_comment
from tests.helpers import factories


@pytest.fixture
def blog(app) -> list[Post]:
    """Three posts with 10, 11 and 12 comments of every status."""
    posts = []
    for n in range(3):
        post = factories.post(
            app,
            f"Post {n}",
            f"# Post {n}\n\nSee <https://example.com/{n}> and *this*.",
            published_at=datetime(2024, 1, n + 1, tzinfo=UTC),
        )
        for i in range(10 + n):
            status = [CommentStatus.APPROVED, CommentStatus.PENDING, CommentStatus.SPAM][i % 3]
            factories.comment(
                app,
                post,
                f"Comment {i}\n\nwith https://example.com/{i} and <b>bold</b> <i>x",
                author_name=f"Reader {i}",
                status=status,
            )
        posts.append(post)
    return posts


def revisions(app) -> dict[int, int]:
    with app.app_context():
        return dict(db.session.execute(sa.select(Post.id, Post.revision)).all())


def ids(app, statement) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(statement))


def stale(app, model, ids: list[int], html: str = "<p>rendered by an old policy</p>") -> None:
    with app.app_context():
        db.session.execute(sa.update(model).where(model.id.in_(ids)).values(body_html=html))
        db.session.commit()


def test_nothing_changes_when_nothing_is_stale(app, blog, runner):
    before = revisions(app)
    result = runner.invoke(args=["rerender"])
    assert result.exit_code == 0, result.output
    assert "Re-rendered 0 of 3 posts and 0 of 33 comments" in result.output
    assert revisions(app) == before


def test_stale_rows_are_rendered_again_and_only_their_posts_touched(app, blog, runner):
    first, second, third = blog
    comment_ids = ids(
        app, sa.select(Comment.id).where(Comment.post_id == second.id).order_by(Comment.id)
    )[:4]
    stale(app, Comment, comment_ids)
    stale(app, Post, [third.id])
    before = revisions(app)

    result = runner.invoke(args=["rerender", "--batch-size", "5"])

    assert result.exit_code == 0, result.output
    assert "Re-rendered 1 of 3 posts and 4 of 33 comments" in result.output
    with app.app_context():
        for comment in db.session.scalars(sa.select(Comment)):
            assert comment.body_html == clean_comment(comment.body)
        for post in db.session.scalars(sa.select(Post)):
            assert post.body_html == render_markdown(post.body)
    after = revisions(app)
    assert after[first.id] == before[first.id]
    assert after[second.id] > before[second.id]
    assert after[third.id] > before[third.id]
    # A second run finds nothing left to do.
    assert "0 of 3 posts and 0 of 33 comments" in runner.invoke(args=["rerender"]).output


def test_rows_are_read_in_bounded_batches(app, blog, runner):
    stale(app, Comment, ids(app, sa.select(Comment.id)))
    seen: list[tuple[str, tuple]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "body" in statement:
            seen.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        result = runner.invoke(args=["rerender", "--batch-size", "7"])
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)

    assert result.exit_code == 0, result.output
    assert "33 of 33 comments" in result.output
    comment_reads = [(s, p) for s, p in seen if "FROM comment" in s and "body_html" in s]
    # 33 comments in batches of 7: five full reads and one empty one that ends the loop.
    assert len(comment_reads) == 6
    for statement, parameters in comment_reads:
        # SQLite's driver takes a tuple of values, psycopg a dict of named ones.
        values = parameters.values() if isinstance(parameters, dict) else parameters
        assert "LIMIT" in statement and 7 in values


def test_a_comment_edited_while_rendering_keeps_its_new_html(app, blog, runner, monkeypatch):
    with app.app_context():
        target = db.session.scalar(sa.select(Comment).order_by(Comment.id).limit(1))
        target_id, target_body = target.id, target.body
    stale(app, Comment, [target_id])

    def render_then_edit(text: str, format: str) -> str:
        html = render_comment(text, format)
        if text == target_body:
            # The writer edits the comment between our read and our write.
            with db.engine.begin() as conn:
                conn.execute(
                    sa.update(Comment)
                    .where(Comment.id == target_id)
                    .values(body="Edited", body_html="<p>Edited</p>")
                )
        return html

    monkeypatch.setattr(rerender_module, "render_comment", render_then_edit)
    result = runner.invoke(args=["rerender"])

    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.get(Comment, target_id).body_html == "<p>Edited</p>"


def test_batch_size_must_be_positive(blog, runner):
    result = runner.invoke(args=["rerender", "--batch-size", "0"])
    assert result.exit_code == 2
    assert "--batch-size" in result.output


def test_an_empty_blog_rerenders_nothing(app, runner):
    result = runner.invoke(args=["rerender"])
    assert result.exit_code == 0, result.output
    assert "Re-rendered 0 of 0 posts and 0 of 0 comments" in result.output
