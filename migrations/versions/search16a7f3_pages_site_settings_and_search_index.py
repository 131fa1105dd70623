"""pages, the posts' plain text, and the full-text search index

Post gains kind ("post" or "page"), nav_order (a page's place in the navigation) and body_text
(body_html without markup, filled here for existing posts). Then the search index over title
and body_text, built for the posts already there:

- SQLite: an FTS5 external-content table, post_fts, kept in step by triggers on post, so every
  write (the editor, imports, rerender, bulk inserts, deletes and their cascades) updates it in
  its own transaction. A later batch migration that rebuilds the post table drops these
  triggers with it and must create them again (tests/test_search_index.py fails otherwise).
- PostgreSQL: a generated tsvector column, search_vector (title weighted A, text B), with a GIN
  index, in a text search configuration that removes accents (the unaccent extension, trusted
  since PostgreSQL 13: a database owner may create it).

Revision ID: search16a7f3
Revises: images15a1b2c3
Create Date: 2026-11-26 09:00:00

"""

import re
from html import unescape

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "search16a7f3"
down_revision = "images15a1b2c3"
branch_labels = None
depends_on = None

BATCH = 1000

# A frozen copy of blog.markdown.plain_text: a migration must do the same thing forever.
_BLOCK_TAG = re.compile(
    r"</?(?:address|article|aside|blockquote|br|caption|dd|div|dl|dt|figcaption|figure|footer|"
    r"h[1-6]|header|hr|img|li|ol|p|pre|section|table|tbody|td|tfoot|th|thead|tr|ul)\b[^>]*>",
    re.IGNORECASE,
)
_TAG = re.compile(r"<[^>]*>")


def _plain_text(html):
    return " ".join(unescape(_TAG.sub("", _BLOCK_TAG.sub(" ", html or ""))).split())


SQLITE_UP = [
    """CREATE VIRTUAL TABLE post_fts USING fts5(
        title, body_text, content='post', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2'
    )""",
    """CREATE TRIGGER post_fts_insert AFTER INSERT ON post BEGIN
        INSERT INTO post_fts(rowid, title, body_text) VALUES (new.id, new.title, new.body_text);
    END""",
    # An external-content index forgets a row given the values it indexed: the old ones.
    """CREATE TRIGGER post_fts_delete AFTER DELETE ON post BEGIN
        INSERT INTO post_fts(post_fts, rowid, title, body_text)
        VALUES ('delete', old.id, old.title, old.body_text);
    END""",
    # Only a change of the indexed text re-indexes a post: a new comment bumps the post's
    # comment_count and revision, and must not re-tokenize its body.
    """CREATE TRIGGER post_fts_update AFTER UPDATE OF title, body_text ON post
    WHEN old.title IS NOT new.title OR old.body_text IS NOT new.body_text BEGIN
        INSERT INTO post_fts(post_fts, rowid, title, body_text)
        VALUES ('delete', old.id, old.title, old.body_text);
        INSERT INTO post_fts(rowid, title, body_text) VALUES (new.id, new.title, new.body_text);
    END""",
    "INSERT INTO post_fts(post_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS post_fts_update",
    "DROP TRIGGER IF EXISTS post_fts_delete",
    "DROP TRIGGER IF EXISTS post_fts_insert",
    "DROP TABLE IF EXISTS post_fts",
]
POSTGRESQL_UP = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE TEXT SEARCH CONFIGURATION blog_search (COPY = pg_catalog.simple)",
    """ALTER TEXT SEARCH CONFIGURATION blog_search
        ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
        WITH unaccent, simple""",
    # PostgreSQL's parser reads "<b>" as a tag, "a.b/c" as a host or a path, "x@y.z" as an
    # address, and skips or keeps them whole; as plain text (a post about "<script>") they are
    # words. Turned into spaces, the text splits into words as FTS5's unicode61 splits it;
    # blog/search/postgresql.py does the same to the reader's words.
    """ALTER TABLE post ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('blog_search'::regconfig, translate(title, '<>&/.@:', '       ')), 'A')
        || setweight(
            to_tsvector('blog_search'::regconfig, translate(body_text, '<>&/.@:', '       ')), 'B'
        )
    ) STORED""",
    "CREATE INDEX ix_post_search_vector ON post USING gin (search_vector)",
]
# The unaccent extension stays: other schemas may use it, and keeping it is harmless.
POSTGRESQL_DOWN = [
    "DROP INDEX IF EXISTS ix_post_search_vector",
    "ALTER TABLE post DROP COLUMN IF EXISTS search_vector",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS blog_search",
]


def _fill_body_text():
    """Give every existing post its plain text, in batches by id."""
    post = sa.table("post", sa.column("id", sa.Integer), sa.column("body_html", sa.Text),
                    sa.column("body_text", sa.Text))  # fmt: skip
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(post.c.id, post.c.body_html)
            .where(post.c.id > last)
            .order_by(post.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        connection.execute(
            post.update().where(post.c.id == sa.bindparam("pid")).values(body_text=sa.bindparam("text")),
            [{"pid": row.id, "text": _plain_text(row.body_html)} for row in rows],
        )
        last = rows[-1].id


def upgrade():
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("body_text", sa.Text(), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("kind", sa.String(length=8), server_default="post", nullable=False)
        )
        batch_op.add_column(sa.Column("nav_order", sa.Integer(), nullable=True))
        # Partial: a query for posts (kind = 'post') must never pick it (see blog/models.py).
        batch_op.create_index(
            "ix_post_page_nav_order",
            ["nav_order"],
            unique=False,
            sqlite_where=sa.text("kind = 'page'"),
            postgresql_where=sa.text("kind = 'page'"),
        )
    _fill_body_text()
    statements = SQLITE_UP if op.get_bind().dialect.name == "sqlite" else POSTGRESQL_UP
    for statement in statements:
        op.execute(statement)


def downgrade():
    statements = SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else POSTGRESQL_DOWN
    for statement in statements:
        op.execute(statement)
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.drop_index("ix_post_page_nav_order")
        batch_op.drop_column("nav_order")
        batch_op.drop_column("kind")
        batch_op.drop_column("body_text")
