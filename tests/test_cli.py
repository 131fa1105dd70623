"""Operator commands: an online backup of SQLite while the blog writes."""

from __future__ import annotations

import sqlite3
import threading

import pytest
import sqlalchemy as sa

from blog.comments.store import add_comment
from blog.extensions import db
from blog.models import Comment, Post
from tests.helpers.database import count


def _count(uri_or_path: str) -> int:
    with sqlite3.connect(uri_or_path) as conn:
        return conn.execute("SELECT count(*) FROM comment").fetchone()[0]


@pytest.mark.sqlite_only
def test_backup_while_the_blog_writes_is_consistent(app, runner, database_uri, tmp_path):
    filled = runner.invoke(args=["bench-data", "--posts", "300", "--comments", "40000"])
    assert filled.exit_code == 0, filled.output
    with app.app_context():
        post_ids = db.session.scalars(sa.select(Post.id).where(Post.comment_count > 0)).all()
    source = database_uri.removeprefix("sqlite:///")
    stop = threading.Event()
    written: list[int] = []
    progress = threading.Condition()

    def write() -> None:  # a reader commenting through the app all along
        n = 0
        while not stop.is_set():
            with app.test_request_context("/", method="POST"):
                post = db.session.get(Post, post_ids[n % len(post_ids)])
                add_comment(post, author_name="During the backup", body=f"comment {n}")
                db.session.commit()
                db.session.remove()
            n += 1
            with progress:
                written.append(n)
                progress.notify_all()

    def until(count: int) -> None:
        """Wait until the reader has written count comments."""
        with progress:
            assert progress.wait_for(lambda: len(written) >= count, timeout=60), len(written)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        until(20)
        before = len(written)
        copy = tmp_path / "copy.sqlite"
        result = runner.invoke(args=["backup", str(copy)])
        during = len(written) - before
        until(len(written) + 20)  # keep writing a little after the copy
    finally:
        stop.set()
        writer.join(30)
    assert result.exit_code == 0, result.output
    assert f"Backed up {source} to {copy}" in result.output
    assert during > 0, "nothing was written while the backup ran"

    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # A consistent snapshot: every post's count matches its approved comments.
        mismatched = conn.execute(
            "SELECT count(*) FROM post WHERE comment_count != (SELECT count(*) FROM comment "
            "WHERE comment.post_id = post.id AND status = 'approved')"
        ).fetchone()[0]
        assert mismatched == 0
        copied = conn.execute("SELECT count(*) FROM comment").fetchone()[0]
    assert 40000 < copied < _count(source)  # some writes before the copy, some after

    again = runner.invoke(args=["backup", str(copy)])
    assert again.exit_code != 0
    assert "exists" in again.output
    assert count(app, Comment) == _count(source)


@pytest.mark.postgresql_only
def test_backup_on_postgresql_points_to_pg_dump(app, runner, tmp_path):
    result = runner.invoke(args=["backup", str(tmp_path / "copy.sqlite")])
    assert result.exit_code != 0
    assert "pg_dump" in result.output
    assert not (tmp_path / "copy.sqlite").exists()
