"""SQLite as a web server's database: concurrent writers wait their turn, migrations keep data."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from blog.comments.store import add_comment
from blog.extensions import db
from blog.models import Comment, CommentStatus, Post
from tests.helpers import factories
from tests.helpers.database import count

pytestmark = pytest.mark.sqlite_only


def _writers(app, method: str, writers: int = 4, rounds: int = 10) -> list[Exception]:
    """Run writers that each read a post then add a comment to it; return what they raised."""
    with app.app_context():
        post_id = db.session.scalar(sa.select(Post.id).where(Post.comment_count > 0))
    barrier = threading.Barrier(writers)
    errors: list[Exception] = []

    def write(n: int) -> None:
        for i in range(rounds):
            with app.test_request_context("/", method=method):
                try:
                    post = db.session.get(Post, post_id)  # the transaction starts as a read
                    if method == "GET":
                        # Deferred: make every writer read before any writes (with the
                        # lock up front that would deadlock, so the others just dawdle).
                        barrier.wait(timeout=10)
                    else:
                        time.sleep(0.002)
                    add_comment(post, author_name=f"writer {n}", body=f"round {i}")
                    db.session.commit()
                except sa.exc.OperationalError as error:
                    errors.append(error)
                    db.session.rollback()
                    barrier.abort()
                    return
                except threading.BrokenBarrierError:
                    db.session.rollback()
                    return
                finally:
                    db.session.remove()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def test_concurrent_writers_never_see_database_is_locked(demo):
    before = count(demo, Comment)
    errors = _writers(demo, "POST")
    assert errors == []
    assert count(demo, Comment) == before + 4 * 10
    with demo.app_context():
        counts = db.session.execute(sa.select(Post.id, Post.comment_count)).all()
    for post_id, comment_count in counts:
        # The stored count is of approved comments (every one the writers added).
        assert comment_count == count(
            demo, Comment, Comment.post_id == post_id, Comment.status == CommentStatus.APPROVED
        )


def test_read_then_write_without_the_lock_up_front_does_fail(demo):
    # The same writers in GET requests begin deferred: this is what BEGIN IMMEDIATE prevents.
    errors = _writers(demo, "GET", rounds=3)
    assert errors
    assert "database is locked" in str(errors[0])


def test_a_read_outside_a_request_does_not_hold_the_write_lock(app, database_uri):
    with app.app_context():
        db.session.scalar(sa.select(sa.func.count(Post.id)))  # a command or a script reading
        other = sa.create_engine(database_uri, connect_args={"timeout": 0.1})
        try:
            with other.connect() as conn:
                conn.exec_driver_sql("PRAGMA busy_timeout=100")
                conn.exec_driver_sql("CREATE TABLE scratch (x)")  # needs the write lock
                conn.commit()
        finally:
            other.dispose()


def test_busy_timeout_comes_from_config(app_config):
    from blog import create_app

    app = create_app({**app_config, "SQLITE_BUSY_TIMEOUT": 250})
    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 250
    with app.app_context():
        db.engine.dispose()


BATCH_MIGRATION = '''
"""Rebuild the post table, as a batch migration on SQLite does for most changes."""
from alembic import op

revision = "ffff00000001"
down_revision = "{head}"


def upgrade():
    with op.batch_alter_table("post", recreate="always"):
        pass


def downgrade():
    pass
'''


def test_a_batch_migration_of_posts_keeps_every_comment(demo, tmp_path):
    from alembic.script import ScriptDirectory

    from blog.extensions import migrations

    migrate = migrations(demo)
    directory = tmp_path / "migrations"
    with demo.app_context():  # Flask-Migrate reads its settings from the current app
        shutil.copytree(Path(migrate.directory), directory)
        config = migrate.get_config(str(directory))
    head = ScriptDirectory.from_config(config).get_current_head()
    (directory / "versions" / "ffff00000001_rebuild_post.py").write_text(
        BATCH_MIGRATION.format(head=head)
    )
    comments = count(demo, Comment)
    assert comments > 0
    with demo.app_context():
        upgrade(directory=str(directory))
    assert count(demo, Comment) == comments
    with demo.app_context(), db.engine.connect() as conn:
        # The pool's connections have foreign keys on again.
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_cached_page_runs_its_key_without_compiling_it_again(app):
    """SQLite compiles a statement again before a run when a bound value could change whether
    a partial index applies: a partial index on post (WHERE kind = 'page') did that to every
    statement comparing kind to a parameter, the post page's key among them (7 times slower).
    The authorizer is called whenever SQLite compiles a statement."""
    path = factories.path_of(factories.post(app, "A heron at dusk"))
    compiled: list[tuple] = []

    def authorize(*action) -> int:
        compiled.append(action)
        return sqlite3.SQLITE_OK

    with app.app_context():
        sa.event.listen(db.engine, "connect", lambda dbapi, _: dbapi.set_authorizer(authorize))
        db.engine.dispose()  # every connection from now on is watched
    client = app.test_client()
    assert client.get(path).status_code == 200  # rendered, and the page cached
    assert client.get(path).status_code == 200
    assert compiled, "the authorizer saw nothing: this test would pass for the wrong reason"
    compiled.clear()
    assert client.get(path).status_code == 200  # the key: the same statement, a new "now"
    assert compiled == []
