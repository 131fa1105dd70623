"""Reading pages whose cost does not grow with the blog: no COUNT(*), index-range queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from blog.content import tags_from_names
from blog.extensions import db
from blog.models import Post, PostStatus
from tests.helpers import factories
from tests.helpers.html import parse, text


def _doc(response):
    assert response.status_code == 200, response.status_code
    return parse(response)


def _titles(doc) -> list[str]:
    return [a.text for a in doc.findall(".//h2[@class='summary-title']/a")]


@pytest.fixture
def blog_posts(app):
    """25 published posts (two sharing a timestamp), a draft and a scheduled post."""
    base = datetime(2024, 3, 1, 12, tzinfo=UTC)
    for i in range(25):
        when = base + timedelta(days=i if i != 12 else 11)
        factories.post(app, f"Post {i:02d}", "x", author="w", published_at=when)
    factories.post(app, "Draft", "x", author="w", status=PostStatus.DRAFT)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    factories.post(
        app, "Tomorrow", "x", author="w", status=PostStatus.SCHEDULED, published_at=tomorrow
    )
    return app


def test_listing_pages_without_counting(blog_posts, client, queries):
    with queries() as statements:
        first = _doc(client.get("/"))
    assert not [s for s in statements if "count(" in s.lower()]
    assert _titles(first) == [f"Post {i:02d}" for i in range(24, 14, -1)]
    assert text(first.find(".//span[@class='pagination-status']")) == "Page 1"
    assert first.find(".//a[@rel='prev']") is None
    assert first.find(".//nav[@class='pagination']/a[@rel='next']").get("href") == "/?page=2"
    last = _doc(client.get("/?page=3"))
    assert _titles(last) == [f"Post {i:02d}" for i in range(4, -1, -1)]
    assert last.find(".//nav[@class='pagination']/a[@rel='next']") is None
    assert last.find(".//nav[@class='pagination']/a[@rel='prev']").get("href") == "/?page=2"
    assert client.get("/?page=4").status_code == 404
    assert client.get("/?page=0").status_code == 404


def test_archives_bound_by_month_and_by_now(blog_posts, client):
    march = _doc(client.get("/2024/03/"))
    assert _titles(march) == [f"Post {i:02d}" for i in range(24, 14, -1)]
    assert len(_titles(_doc(client.get("/2024/03/?page=3")))) == 5
    assert client.get("/2023/").status_code == 404
    year = datetime.now(UTC).year
    assert client.get(f"/{year + 1}/").status_code == 404  # the scheduled post is not out


def test_previous_and_next_walk_every_post_once_in_order(blog_posts, client):
    with blog_posts.app_context():
        ordered = db.session.scalars(Post.published()).all()
    url = f"/2024/03/{ordered[-1].slug}/"
    seen = []
    while url:
        doc = _doc(client.get(url))
        seen.append(doc.findtext(".//h1[@class='post-title p-name']"))
        link = doc.find(".//a[@rel='next']")
        url = link.get("href") if link is not None else None
    assert seen == [f"Post {i:02d}" for i in range(25)]  # the tie resolved by id, no repeats
    back = _doc(client.get(f"/2024/03/{ordered[0].slug}/")).find(".//a[@rel='prev']")
    assert "".join(back.itertext()).endswith("Post 23")


def _page_queries(app, runner, client, queries, posts: int, comments: int) -> dict[str, int]:
    """Fill the blog with bench data; return the SQL query count of each kind of page."""
    result = runner.invoke(args=["bench-data", "--posts", str(posts), "--comments", str(comments)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        found = db.session.execute(
            sa.select(Post.slug, Post.published_at).where(Post.slug.like("bench-%-comments"))
        ).all()
    assert len(found) == 3
    when = found[0].published_at
    urls = {"home": "/", "home, page 2": "/?page=2", "tag": "/tags/writing/"}
    urls |= {"search, 10 posts": "/search?q=lighthouse", "search, many": "/search?q=notebook"}
    urls |= {"year": f"/{when.year}/", "month": f"/{when.year}/{when.month:02d}/"}
    urls |= {p.slug: f"/{p.published_at.year}/{p.published_at.month:02d}/{p.slug}/" for p in found}
    # Another blog in the same process: forget the tags it kept (blog.posts.keys.tag).
    client.application.extensions.pop("blog.tags", None)
    counts = {}
    for name, url in urls.items():
        with queries() as statements:
            assert client.get(url).status_code == 200, url
        counts[name] = len(statements)
    return counts


def test_query_counts_do_not_grow_with_the_data(app, runner, client, queries):
    small = _page_queries(app, runner, client, queries, 60, 2300)
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
    large = _page_queries(app, runner, client, queries, 600, 9000)
    assert small == large
    assert max(small.values()) <= 8, small


def test_tag_pages_list_the_same_posts_by_either_plan(blog_posts, client, monkeypatch):
    import blog.posts.keys as keys

    with blog_posts.app_context():
        posts = db.session.scalars(Post.published()).all()
        tagged = posts[::2]  # every other post, newest first: two pages
        for post in tagged:
            post.tags = tags_from_names(["Every other"])
        expected = [p.title for p in tagged]
        db.session.commit()
    pages = []
    for big_tag in (1000, 3):  # a small tag (read through post_tags), a big one (walk posts)
        monkeypatch.setattr(keys, "BIG_TAG", big_tag)
        # The shared page's key reads the posts by the plan; a reader with a cookie of ours
        # gets the page rendered for them, which reads them by the plan too.
        for cookie in ("", "comment_author"):
            if cookie:
                client.set_cookie(cookie, "x")
            titles = []
            for n in (1, 2):
                titles += _titles(_doc(client.get(f"/tags/every-other/?page={n}")))
            client.delete_cookie("comment_author")
            pages.append(titles)
    assert pages == [expected] * 4
