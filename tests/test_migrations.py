"""Migrations create the schema on an empty database and match the models."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from blog import create_app
from blog.extensions import db, migrations
from blog.models import Post
from blog.search.schema import include_name
from tests.helpers.config import base_config, postgresql_url

# The head before the search index's migration (search16a7f3).
BEFORE_SEARCH = "images15a1b2c3"


def _check_upgrade(uri: str) -> None:
    app = create_app(base_config(uri))
    migrations(app)
    with app.app_context():
        upgrade()
        names = set(sa.inspect(db.engine).get_table_names())
        assert {"user", "post", "comment", "tag", "post_tags", "setting"} <= names
        with db.engine.connect() as conn:
            # The search index is no model: an FTS5 virtual table and its shadow tables
            # (SQLite), a generated tsvector column and its GIN index (PostgreSQL). The
            # comparison skips exactly those names (blog/search/schema.py).
            context = MigrationContext.configure(conn, opts={"include_name": include_name})
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        downgrade(revision="base")
        assert "post" not in set(sa.inspect(db.engine).get_table_names())
        upgrade()
        db.engine.dispose()


@pytest.mark.sqlite_only
def test_upgrade_empty_sqlite(tmp_path):
    _check_upgrade(f"sqlite:///{tmp_path / 'fresh.sqlite'}")


def _empty_postgresql() -> str:
    """Return the test cluster's URL with its public schema emptied (no table, no extension)."""
    url = postgresql_url()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    return url


@pytest.mark.postgresql_only
def test_upgrade_empty_postgresql():
    _check_upgrade(_empty_postgresql())


def _existing_blog_then_upgrade(uri: str) -> None:
    """A blog at the revision before the search index, with a post; upgrade; search finds it."""
    app = create_app(base_config(uri))
    migrations(app)
    with app.app_context():
        upgrade(revision=BEFORE_SEARCH)
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    'INSERT INTO "user" (id, username, display_name, password_hash, created_at)'
                    " VALUES (1, 'nell', 'Nell', '', CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO post (id, title, slug, body, body_html, excerpt, status,"
                    " published_at, created_at, updated_at, author_id, comments_open,"
                    " comment_count, revision) VALUES (1, 'Old heron', 'old-heron', 'x',"
                    " '<p>A <em>grey</em> heron &amp; a <b>café</b>.</p>', '', 'published',"
                    " '2020-01-01 00:00:00', '2020-01-01 00:00:00', '2020-01-01 00:00:00', 1,"
                    " true, 0, 1)"
                )
            )
        upgrade()
        post = db.session.get(Post, 1)
        assert (post.kind, post.body_text) == ("post", "A grey heron & a café.")
    client = app.test_client()
    for word in ("heron", "cafe", "grey"):
        assert b"1 post found" in client.get(f"/search?q={word}").data, word
    with app.app_context():
        db.engine.dispose()


@pytest.mark.sqlite_only
def test_upgrade_builds_the_search_index_of_an_existing_blog_sqlite(tmp_path):
    _existing_blog_then_upgrade(f"sqlite:///{tmp_path / 'old.sqlite'}")


@pytest.mark.postgresql_only
def test_upgrade_builds_the_search_index_of_an_existing_blog_postgresql():
    _existing_blog_then_upgrade(_empty_postgresql())
