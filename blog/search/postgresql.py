"""The PostgreSQL engine: a generated tsvector column (post.search_vector) with a GIN index.

The column is computed by the database from the title (weight A) and the text (weight B) in
the blog_search configuration ("simple" words, accents removed: see the migration
search16a7f3), so it follows every write by itself. Each group of the query goes through
websearch_to_tsquery (which never raises on any input) as quoted strings, and the groups are
combined with && so that OR binds as the reader meant. ts_rank_cd ranks; the score is its
negation, so lower is better on both engines.
"""

from __future__ import annotations

import sqlalchemy as sa

from blog.search.query import Query, Term
from blog.search.schema import POSTGRESQL_CONFIG

# ts_rank_cd's weights for D, C, B (the text) and A (the title): a title counts ten times.
WEIGHTS = "{0.1, 0.1, 0.1, 1.0}"
# Divide by 1 + log(the document's length): a long post that mentions a word often does not
# outrank the short post about it.
NORMALIZATION = 1


# Characters the indexed text has as spaces (see the migration): PostgreSQL's parser would
# read tags, hosts, paths and addresses around them instead of words.
SEPARATORS = str.maketrans({c: " " for c in '<>&/.@:"'})


def _quoted(term: Term) -> str:
    # Inside double quotes websearch_to_tsquery reads every character as part of words.
    return '"' + term.text.translate(SEPARATORS) + '"'


def tsquery(query: Query) -> tuple[str, dict[str, str]]:
    """Return the SQL of the query's tsquery and its parameters."""
    parts, params = [], {}
    for i, group in enumerate(query.groups):
        params[f"group_{i}"] = " OR ".join(_quoted(term) for term in group)
        parts.append(f"websearch_to_tsquery('{POSTGRESQL_CONFIG}', :group_{i})")
    for i, term in enumerate(query.excluded):
        params[f"excluded_{i}"] = "-" + _quoted(term)
        parts.append(f"websearch_to_tsquery('{POSTGRESQL_CONFIG}', :excluded_{i})")
    return " && ".join(parts), params


def candidates(query: Query, cap: int) -> sa.TextualSelect:
    """Select the newest cap matching rows: (id, score), score lower is better.

    The planner reads the GIN index, or walks the primary key backwards when the words are
    common enough that cap matches come sooner that way; ts_rank_cd runs on the cap rows only.
    """
    sql, params = tsquery(query)
    return (
        sa.text(
            f"SELECT post.id AS id, "
            f"-ts_rank_cd('{WEIGHTS}', post.search_vector, found.q, {NORMALIZATION}) AS score "
            f"FROM post, (SELECT {sql} AS q) AS found "
            "WHERE post.search_vector @@ found.q ORDER BY post.id DESC LIMIT :cap"
        )
        .bindparams(cap=cap, **params)
        .columns(sa.column("id", sa.Integer), sa.column("score", sa.Float))
    )
