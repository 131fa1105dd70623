"""Benchmark data: many posts and comments, written fast with bulk inserts.

HTML is rendered and sanitized once per template, not once per row: sanitizing a million
comments with bleach would take longer than inserting them. The rows are otherwise what
the blog writes itself (published, draft and scheduled posts over years, tags, replies,
held and spam comments), with Post.comment_count equal to the approved comments.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import Blueprint

from blog.extensions import db
from blog.markdown import plain_excerpt, plain_text, render_markdown
from blog.models import Comment, CommentStatus, Post, PostStatus, User, post_tags
from blog.sanitize import clean_comment
from blog.search.engine import tidy_index

# Only registered when BENCH_ROUTES is on (bench/run.py): never part of a production site.
bench_bp = Blueprint("bench", __name__, url_prefix="/_bench")


@bench_bp.route("/constant")
def constant():
    """Answer a constant string: the framework's own ceiling, for comparison."""
    return "Hello from Flask.\n", 200, {"Content-Type": "text/plain; charset=utf-8"}


# Posts with exactly this many approved comments, at fixed slugs the benchmark requests.
SPECIAL_COMMENTS = (10, 200, 2000)
# A word in exactly SEARCH_WORD_POSTS published posts at any size: "the same search" for the
# benchmark at 1,000 and at 100,000 posts. (Words of the titles, like "notebook", are in a
# share of all posts and grow with the blog.)
SEARCH_WORD = "lighthouse"
SEARCH_WORD_POSTS = 10
SEARCH_WORD_TEXT = "\n\nFrom the cliff, the old lighthouse keeps its light for nobody."
BATCH = 5000
YEARS = 10

TAGS = [
    "writing",
    "reading",
    "habits",
    "tools",
    "community",
    "blogging",
    "travel",
    "photography",
    "cooking",
    "gardening",
    "music",
    "the web",
]
ADJECTIVES = ["quiet", "small", "long", "slow", "early", "last", "odd", "plain", "open", "late"]
NOUNS = ["notebook", "walk", "letter", "garden", "kitchen", "station", "library", "winter", "feed"]
ANGLES = ["notes on", "in praise of", "against", "a year of", "what I learned from", "on"]
NAMES = [
    "Ada Byrne",
    "Tomas Reyes",
    "Priya Natarajan",
    "June Okafor",
    "Sam Whitley",
    "Ilse Brandt",
    "Marco Bellini",
    "Ravi Menon",
    "Hana Sato",
    "Oskar Lind",
]
POST_BODIES = [
    "A short note about {topic}.\n\nIt started with a question from a reader, and it "
    "ended, as these things do, with a longer list of questions.\n\n- one\n- two\n- three",
    "## Why {topic}\n\nI keep coming back to it. *Slowly*, and with a pencil.\n\n"
    "> Write the thing you wanted to read.\n\nMore on this next week.",
    "Three things about {topic}:\n\n1. It takes longer than you think.\n2. It is worth it.\n"
    "3. Nobody minds if you start small.\n\nSee [the archive](/2020/) for older notes.",
    "{topic}, again. This time with numbers: | week | pages |\n|---|---|\n| 1 | 12 |\n"
    "| 2 | 30 |\n\nThe table says more than I could.",
]
COMMENT_BODIES = [
    "Thanks for writing this. I had the same thought last week.",
    "I disagree a little: the second point does not hold for me.\n\nStill, a good read.",
    "Here is a link I liked on the subject: https://example.org/notes/on-writing",
    "<em>Yes.</em> This is exactly it.",
    "How long did it take you to get there? I am three months in and still slow.",
    "A small typo in the third paragraph, otherwise lovely.",
    "Bookmarked, and subscribed to the comment feed.",
    "I read this twice. The quote at the end stays with me.",
]


def generate(
    posts: int, comments: int, seed: int = 1, progress: Callable[[int], None] = lambda n: None
) -> dict[str, int]:
    """Add posts and comments to an empty blog in bulk; return what was written."""
    if db.session.scalar(sa.select(sa.func.count(Post.id))):
        raise ValueError("the blog already has posts: run bench-data on an empty database")
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    author_id = _author()
    tag_ids = _tags()
    bodies = [(b, render_markdown(b.format(topic="it"))) for b in POST_BODIES]
    bodies += [(b + SEARCH_WORD_TEXT, render_markdown(b.format(topic="it") + SEARCH_WORD_TEXT))
               for b in POST_BODIES]  # fmt: skip
    comment_html = [(b, clean_comment(b)) for b in COMMENT_BODIES]

    published_at = [
        now - timedelta(days=YEARS * 365 * (posts - i) / max(posts, 1)) for i in range(posts)
    ]
    status = [_post_status(rng, i, posts) for i in range(posts)]
    specials = _special_posts(posts, comments)
    searched = _search_word_posts(status, specials)
    per_post = _spread_comments(rng, comments, status, specials)
    approved = [0] * posts

    first_post = (db.session.scalar(sa.select(sa.func.max(Post.id))) or 0) + 1
    for batch in _batches(
        _post_rows(
            rng, posts, first_post, author_id, bodies, published_at, status, specials, searched, now
        )
    ):
        db.session.execute(sa.insert(Post.__table__), batch)
        db.session.execute(
            sa.insert(post_tags),
            [
                {"post_id": row["id"], "tag_id": tag}
                for row in batch
                for tag in rng.sample(tag_ids, rng.randint(1, 3))
            ],
        )
        db.session.commit()
        progress(len(batch))

    first_comment = (db.session.scalar(sa.select(sa.func.max(Comment.id))) or 0) + 1
    rows = _comment_rows(
        rng,
        per_post,
        first_post,
        first_comment,
        published_at,
        now,
        comment_html,
        specials,
        approved,
    )
    written = 0
    for batch in _batches(rows):
        db.session.execute(sa.insert(Comment.__table__), batch)
        db.session.commit()
        written += len(batch)
        progress(len(batch))

    counts = [{"pid": first_post + i, "n": n} for i, n in enumerate(approved) if n]
    for batch in _batches(iter(counts)):
        db.session.execute(
            sa.update(Post.__table__)
            .where(Post.__table__.c.id == sa.bindparam("pid"))
            .values(comment_count=sa.bindparam("n")),
            batch,
        )
    db.session.commit()
    _advance_sequences()
    tidy_index()
    db.session.commit()
    return {"posts": posts, "comments": written, "special_posts": len(specials)}


def _author() -> int:
    author = db.session.scalar(sa.select(User).where(User.username == "bench"))
    if author is None:
        # No password: nobody can log in as the benchmark author.
        author = User(username="bench", display_name="Bench Writer", password_hash="")
        db.session.add(author)
        db.session.flush()
    return author.id


def _tags() -> list[int]:
    from blog.content import tags_from_names

    tags = tags_from_names(TAGS)
    db.session.flush()
    return [tag.id for tag in tags]


def _post_status(rng: random.Random, i: int, posts: int) -> str:
    if i == posts - 1 and posts > 10:
        return PostStatus.SCHEDULED  # the newest is due tomorrow: readers must not see it
    roll = rng.random()
    return PostStatus.DRAFT if roll < 0.01 else PostStatus.PUBLISHED


def _special_posts(posts: int, comments: int) -> dict[int, int]:
    """Return {post index: comment count} for the fixed-size conversations, when they fit."""
    if posts < 2 * len(SPECIAL_COMMENTS) or comments < sum(SPECIAL_COMMENTS):
        return {}
    middle = posts // 2
    return {middle + k: n for k, n in enumerate(SPECIAL_COMMENTS)}


def _search_word_posts(status: list[str], specials: dict[int, int]) -> set[int]:
    """Return the indexes of the published posts whose text has SEARCH_WORD, spread evenly."""
    published = [i for i, s in enumerate(status) if s == PostStatus.PUBLISHED and i not in specials]
    if len(published) < SEARCH_WORD_POSTS:
        return set()
    step = len(published) / SEARCH_WORD_POSTS
    return {published[int(k * step)] for k in range(SEARCH_WORD_POSTS)}


def _spread_comments(
    rng: random.Random, comments: int, status: list[str], specials: dict[int, int]
) -> list[int]:
    """Return how many comments each post gets: the specials exactly, the rest at random."""
    per_post = [0] * len(status)
    for index, n in specials.items():
        per_post[index] = n
    others = [i for i, s in enumerate(status) if s == PostStatus.PUBLISHED and i not in specials]
    if others:
        for index in rng.choices(others, k=comments - sum(specials.values())):
            per_post[index] += 1
    return per_post


def _post_rows(
    rng, posts, first_id, author_id, bodies, published_at, status, specials, searched, now
):
    for i in range(posts):
        post_id = first_id + i
        if i in specials:
            title = f"A conversation with {specials[i]} comments"
            slug = f"bench-{specials[i]}-comments"
        else:
            title = f"{rng.choice(ANGLES)} the {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
            title = title[0].upper() + title[1:]
            slug = f"{title.lower().replace(' ', '-')}-{post_id}"
        body, html = bodies[i % len(POST_BODIES) + (len(POST_BODIES) if i in searched else 0)]
        when = published_at[i] if status[i] != PostStatus.SCHEDULED else now + timedelta(days=1)
        yield {
            "id": post_id,
            "title": title,
            "slug": slug,
            "body": body.format(topic="it"),
            "body_html": html,
            "body_text": plain_text(html),
            "excerpt": plain_excerpt(html),
            "status": status[i],
            "published_at": None if status[i] == PostStatus.DRAFT else when,
            "created_at": published_at[i],
            "updated_at": published_at[i],
            "author_id": author_id,
            "comments_open": i % 10 != 0,
            "comment_count": 0,
            "revision": 1,
        }


def _comment_rows(
    rng, per_post, first_post, first_id, published_at, now, comment_html, specials, approved
):
    """Yield comment rows post by post, oldest first, tallying approved ones per post."""
    comment_id = first_id
    for i, n in enumerate(per_post):
        if not n:
            continue
        span = max((now - published_at[i]).total_seconds(), 60.0)
        offsets = sorted(rng.uniform(0, span) for _ in range(n))
        top_level: list[int] = []
        for k, offset in enumerate(offsets):
            body, html = comment_html[(comment_id + k) % len(comment_html)]
            name = NAMES[comment_id % len(NAMES)]
            if i in specials:
                state = CommentStatus.APPROVED  # exactly n shown
            else:
                roll = rng.random()
                state = (
                    CommentStatus.SPAM
                    if roll < 0.01
                    else CommentStatus.PENDING
                    if roll < 0.03
                    else CommentStatus.APPROVED
                )
            parent = rng.choice(top_level) if top_level and rng.random() < 0.2 else None
            if parent is None and state == CommentStatus.APPROVED:
                top_level.append(comment_id)
            if state == CommentStatus.APPROVED:
                approved[i] += 1
            yield {
                "id": comment_id,
                "post_id": first_post + i,
                "parent_id": parent,
                "user_id": None,
                "author_name": name,
                "author_email": f"reader{comment_id % 997}@example.org",
                "author_url": "https://example.org/" if comment_id % 3 == 0 else "",
                "body": body,
                "body_html": html,
                "status": state,
                "created_at": published_at[i] + timedelta(seconds=offset),
                "ip": f"192.0.2.{comment_id % 250}",
                "user_agent": "bench-data",
                "reason": "",
            }
            comment_id += 1


def _batches(rows: Iterator[dict]) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _advance_sequences() -> None:
    """Move PostgreSQL's id sequences past the ids written explicitly."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in ("post", "comment", "tag", "user"):
        sql = (
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
            f'(SELECT coalesce(max(id), 1) FROM "{table}"))'
        )
        db.session.execute(sa.text(sql))
    db.session.commit()
