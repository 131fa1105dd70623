"""The SQLite engine: an FTS5 index over posts' titles and text (table post_fts).

The index is an external-content FTS5 table kept in step by triggers on the post table (see the
migration search16a7f3): any write to a post's title or text, from any code path, updates it
in the same transaction. It tokenizes with unicode61 and remove_diacritics 2, so "cafe" finds
"Café". bm25 ranks; lower is better, and a title match counts TITLE_WEIGHT times a text match.
"""

from __future__ import annotations

import sqlalchemy as sa

from blog.search.query import Query, Term

TITLE_WEIGHT = 10.0


def _string(term: Term) -> str:
    """An FTS5 string: every character literal, split into words by the table's tokenizer."""
    return '"' + term.text.replace('"', '""') + '"'


def expression(query: Query) -> str:
    """Return the FTS5 MATCH expression of a (non-empty) query: only strings and operators."""
    groups = " AND ".join(
        "(" + " OR ".join(_string(term) for term in group) + ")" for group in query.groups
    )
    text = f"({groups})"
    for term in query.excluded:
        text += f" NOT {_string(term)}"
    return text


def candidates(query: Query, cap: int) -> sa.TextualSelect:
    """Select the newest cap matching rows: (id, score), score lower is better.

    ORDER BY rowid lets FTS5 stop after cap rows, and bm25 is computed for those only.
    """
    return (
        sa.text(
            f"SELECT rowid AS id, bm25(post_fts, {TITLE_WEIGHT}, 1.0) AS score FROM post_fts "
            "WHERE post_fts MATCH :expression ORDER BY rowid DESC LIMIT :cap"
        )
        .bindparams(expression=expression(query), cap=cap)
        .columns(sa.column("id", sa.Integer), sa.column("score", sa.Float))
    )
