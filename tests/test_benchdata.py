"""bench-data: bulk benchmark content that looks like the blog's own, with consistent counts."""

from __future__ import annotations

import sqlalchemy as sa

from blog import create_app
from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, PostStatus, User
from tests.helpers import factories
from tests.helpers.config import base_config
from tests.helpers.database import post_by_slug
from tests.helpers.factories import path_of
from tests.helpers.html import parse


def test_bench_data_writes_consistent_posts_and_comments(app, runner, client):
    result = runner.invoke(args=["bench-data", "--posts", "60", "--comments", "3000"])
    assert result.exit_code == 0, result.output
    assert "Wrote 60 posts and 3,000 comments" in result.output

    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Post.id))) == 60
        assert db.session.scalar(sa.select(sa.func.count(Comment.id))) == 3000
        approved = dict(
            db.session.execute(
                sa.select(Comment.post_id, sa.func.count(Comment.id))
                .where(Comment.status == CommentStatus.APPROVED)
                .group_by(Comment.post_id)
            ).all()
        )
        for post_id, count in db.session.execute(sa.select(Post.id, Post.comment_count)):
            assert count == approved.get(post_id, 0)
        specials = dict(
            db.session.execute(
                sa.select(Post.slug, Post.comment_count).where(Post.slug.like("bench-%-comments"))
            ).all()
        )
        assert specials == {
            "bench-10-comments": 10,
            "bench-200-comments": 200,
            "bench-2000-comments": 2000,
        }
        # Replies point at a comment of the same post; dates spread over years.
        orphans = db.session.scalar(
            sa.select(sa.func.count(Comment.id))
            .join(Comment.parent.of_type(sa.orm.aliased(Comment, name="p")))
            .where(sa.text("p.post_id != comment.post_id"))
        )
        assert orphans == 0
        first, last = db.session.execute(
            sa.select(sa.func.min(Post.published_at), sa.func.max(Post.published_at)).where(
                Post.status == PostStatus.PUBLISHED
            )
        ).one()
        assert (last - first).days > 365 * 5
        author = db.session.scalar(sa.select(User.username).limit(1))

    post = post_by_slug(app, "bench-200-comments")
    response = client.get(path_of(post))
    assert response.status_code == 200
    assert len(parse(response).findall(".//ol[@id='comment-list']//article")) == 200
    assert client.get(f"/{first.year + 1}/").status_code == 200  # archives have posts

    # The ids written in bulk leave room for the blog's own inserts (PostgreSQL sequences).
    new = factories.post(app, "After the bench", "New.", author=author, tags=["writing"])
    assert new.id == 61

    again = runner.invoke(args=["bench-data", "--posts", "5", "--comments", "5"])
    assert again.exit_code != 0
    assert "already has posts" in again.output


def test_the_constant_route_exists_only_for_the_bench(app, database_uri):
    assert app.test_client().get("/_bench/constant").status_code == 404
    bench = create_app(base_config(database_uri, BENCH_ROUTES=True))
    response = bench.test_client().get("/_bench/constant")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "Hello from Flask.\n"
