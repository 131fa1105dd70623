"""The search index's database objects, which are not models.

SQLite keeps the index in an FTS5 virtual table (and the shadow tables FTS5 makes for it) kept
in step by triggers on the post table; PostgreSQL in a generated tsvector column of post with a
GIN index. The migration that made them is the only code that creates them; Alembic's model
comparison (tests/test_migrations.py, `flask db migrate`) must leave them alone, since no
SQLAlchemy model can describe a virtual table or a column whose value the database computes
with a function only PostgreSQL has.
"""

from __future__ import annotations

from typing import Any

SQLITE_TABLE = "post_fts"
POSTGRESQL_COLUMN = "search_vector"
POSTGRESQL_INDEX = "ix_post_search_vector"
# A text search configuration: PostgreSQL's "simple" (no stemming, no stop words, as FTS5's
# unicode61) with accents removed first (the unaccent extension), as remove_diacritics does.
POSTGRESQL_CONFIG = "blog_search"


def include_name(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
    """Tell Alembic's comparison to skip the search index's objects (include_name hook)."""
    if type_ == "table":
        return not (name or "").startswith(SQLITE_TABLE)
    if type_ == "column":
        return not (parent_names.get("table_name") == "post" and name == POSTGRESQL_COLUMN)
    if type_ == "index":
        return name != POSTGRESQL_INDEX
    return True
