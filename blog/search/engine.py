"""Search the blog: one interface, two engines (blog.search.sqlite, blog.search.postgresql).

search() runs one SQL statement. The engine selects the candidates: the newest
SEARCH_CANDIDATES rows that match, each with a score (lower is better). The rest is the same
for both: keep what readers may see (published posts and pages), order by score then newest,
count them, cut the page, load the columns a result shows.

Why candidates are capped: ranking needs a score for every match, and a common word matches a
share of all posts. Measured at 100,000 posts (SQLite and PostgreSQL, a prototype of these
queries), ranking every match cost 45 ms for a word in a ninth of the posts and 210 ms
(SQLite) to 320 ms (PostgreSQL) for a word in all of them, and counting them 15 to 60 ms. The
newest SEARCH_CANDIDATES (500) matches are ranked instead, whatever the blog's size: a search
past the cap ranks the best of them and says so (Results.capped), and the reader adds a word.
A rare word, the usual search, matches under the cap and is ranked whole.

What still grows with the blog (BENCHMARKS.md, bench/bench_search.py): SQLite's bm25 reads
every match of each word once per query for its inverse document frequency, and PostgreSQL
checks the positions of a phrase in every post that holds all its words. Both stay within
2x of the same search at 1,000 posts but for a phrase of the commonest words on PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app

from blog.bounds import PageLinks
from blog.extensions import db
from blog.models import Post
from blog.search import postgresql, sqlite
from blog.search.query import Query

# What a result shows: the title, the kind and date, the text its snippet is cut from.
_SHOWN = (
    Post.id,
    Post.title,
    Post.slug,
    Post.kind,
    Post.status,
    Post.published_at,
    Post.body_text,
    Post.author_id,
)


@dataclass
class Results(PageLinks):
    """One page of ranked results; reads like the listings' Window for the pagination macro."""

    items: list[Post]
    page: int
    per_page: int
    total: int
    # More posts matched than were ranked: the reader should add a word.
    capped: bool
    candidates: int

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _candidates(query: Query, cap: int) -> sa.TextualSelect:
    if db.session.get_bind().dialect.name == "postgresql":
        return postgresql.candidates(query, cap)
    return sqlite.candidates(query, cap)


def search(query: Query, page: int, per_page: int) -> Results:
    """Return page (1-based) of the public posts and pages matching query, best first."""
    cap = max(1, int(current_app.config["SEARCH_CANDIDATES"]))
    found = _candidates(query, cap).cte("candidates")
    # Ranked and cut on (score, date, id) alone; only the page's rows are then read whole.
    # Sorting the candidates with the columns a result shows (its text) cost 2.5 ms at 100,000
    # posts for a word in a ninth of them, against 1.3 ms this way (BENCHMARKS.md, issue 13).
    ranked = (
        sa.select(
            Post.id,
            found.c.score,
            Post.published_at,
            sa.func.count().over().label("total"),
        )
        .join(found, found.c.id == Post.id)
        .where(Post.visible_filter())
        .order_by(found.c.score, Post.published_at.desc(), Post.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
        .cte("ranked")
    )
    select = (
        sa.select(
            Post,
            ranked.c.total,
            sa.select(sa.func.count()).select_from(found).scalar_subquery().label("found"),
        )
        .join(ranked, ranked.c.id == Post.id)
        .options(so.load_only(*_SHOWN), so.lazyload(Post.tags))
        .order_by(ranked.c.score, ranked.c.published_at.desc(), ranked.c.id.desc())
    )
    rows = db.session.execute(select).all()
    total = rows[0].total if rows else 0
    matched = rows[0].found if rows else 0
    return Results([row.Post for row in rows], page, per_page, total, matched >= cap, matched)


def tidy_index() -> None:
    """After a bulk load (bench-data): merge SQLite's index into one segment (row-by-row trigger
    inserts leave many), or give PostgreSQL's planner fresh statistics. The caller commits."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("ANALYZE post"))
    else:
        db.session.execute(sa.text("INSERT INTO post_fts(post_fts) VALUES ('optimize')"))
