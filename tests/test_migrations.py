"""Migrations create the schema on an empty database and match the models."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from blog import create_app
from blog.extensions import db
from blog.search.schema import include_name
from tests.conftest import base_config, postgresql_url


def _check_upgrade(uri: str) -> None:
    app = create_app(base_config(uri))
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


@pytest.mark.postgresql_only
def test_upgrade_empty_postgresql():
    url = postgresql_url()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    _check_upgrade(url)
