"""The reading pages: home, post, archives, tags, search, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from blog import create_app
from blog.models import CommentStatus, PostStatus
from tests.helpers import factories
from tests.helpers.database import post_by_slug
from tests.helpers.factories import CLOSED_DEMO_POST, OPEN_DEMO_POST, path_of
from tests.helpers.html import parse, text


@pytest.fixture
def author(app) -> str:
    return factories.writer(app, "ada", "Ada Writer").username


@pytest.fixture
def make_post(app, author):
    """make_post(title, days_ago, status=...): a post dated days_ago before 15 March 2026."""

    def make(title, days_ago, status=PostStatus.PUBLISHED, **kwargs):
        when = datetime(2026, 3, 15, 12, tzinfo=UTC) - timedelta(days=days_ago)
        if status == PostStatus.SCHEDULED:
            when = datetime.now(UTC) + timedelta(days=days_ago)
        return factories.post(
            app,
            title,
            kwargs.pop("body", f"Body of *{title}*."),
            author=author,
            status=status,
            published_at=None if status == PostStatus.DRAFT else when,
            **kwargs,
        )

    return make


url = path_of


def test_home_lists_latest_first_with_details(app, client, make_post):
    old = make_post("Older", 10, excerpt="The older one.")
    new = make_post("Newer", 1, tags=["notes"])
    make_post("A draft", 0, status=PostStatus.DRAFT)
    factories.comment(app, new, "Hi", author_name="Reader")
    doc = parse(client.get("/"))
    summaries = doc.findall(".//article[@class='summary h-entry']")
    titles = [text(a.find(".//h2")) for a in summaries]
    assert titles == ["Newer", "Older"]
    first = summaries[0]
    assert first.find(".//time").get("datetime") == new.published_at.isoformat().replace(
        "+00:00", "Z"
    )
    assert "Ada Writer" in text(first)
    assert "1 comment" in text(first)
    assert "The older one." in text(summaries[1])
    assert "0 comments" in text(summaries[1])
    assert summaries[1].find(".//h2/a").get("href") == url(old)


def test_home_paginates(app, make_post):
    app.config["POSTS_PER_PAGE"] = 2
    client = app.test_client()
    for n in range(5):
        make_post(f"Post {n}", n)
    doc = parse(client.get("/?page=3"))
    assert [text(h) for h in doc.findall(".//article//h2")] == ["Post 4"]
    assert doc.find(".//a[@rel='prev']").get("href") == "/?page=2"
    assert doc.find(".//a[@rel='next']") is None
    assert client.get("/?page=9").status_code == 404


def test_post_page_has_the_reference_anatomy(client, demo):
    post = post_by_slug(demo, CLOSED_DEMO_POST)
    response = client.get(url(post))
    assert response.status_code == 200
    doc = parse(response)
    nav = doc.find(".//nav[@class='post-nav']")
    assert "A reading list for the winter" in text(nav.find(".//a[@rel='prev']"))
    assert "Comments are the best part of a blog" in text(nav.find(".//a[@rel='next']"))
    article = doc.find(".//article[@class='post h-entry']")
    assert text(article.find(".//h1")) == post.title
    assert article.find(".//time").get("datetime").startswith(f"{post.published_at:%Y-%m-%d}")
    assert "Nell Carrow" in text(article.find(".//p[@class='post-meta']"))
    assert article.find(".//h2[.='The trap of helping']") is not None
    tags = [text(a) for a in article.findall(".//a[@rel='tag']")]
    assert tags == ["blogging", "community", "writing"]

    section = doc.find(".//section[@id='comments']")
    assert text(section.find(".//h2")) == "6 comments"
    comments = section.findall(".//article[@class]")
    comments = [c for c in comments if c.get("id", "").startswith("comment-")]
    assert len(comments) == 6
    first = comments[0]
    link = first.find(".//span[@class='comment-author p-author h-card']/a")
    assert text(link) == "Tomas Reyes"
    assert link.get("href") == "https://example.org/tomas"
    assert set(link.get("rel").split()) >= {"nofollow", "ugc"}
    assert first.find(".//time").get("datetime").endswith("Z")
    assert first.find(".//a[@class='comment-permalink u-url']").get("href") == f"#{first.get('id')}"
    # A commenter without a website is not linked.
    assert comments[2].find(".//span[@class='comment-author p-author h-card']/a") is None
    feed = section.find(".//p[@class='comments-feed']/a")
    assert feed.get("href").endswith(url(post) + "comments.atom")
    assert "Comments are closed." in text(section)
    assert section.find(".//form") is None


def test_open_post_does_not_say_closed(client, demo):
    post = post_by_slug(demo, OPEN_DEMO_POST)
    page = client.get(url(post)).get_data(as_text=True)
    assert "Comments are closed." not in page
    assert "2 comments" in page


def test_only_approved_comments_are_shown(app, client, make_post):
    post = make_post("Talk", 1)
    factories.comment(app, post, "visible words", author_name="Good")
    factories.comment(app, post, "held words", author_name="Held", status=CommentStatus.PENDING)
    factories.comment(app, post, "spam words", author_name="Bad", status=CommentStatus.SPAM)
    page = client.get(url(post)).get_data(as_text=True)
    assert "visible words" in page
    assert "held words" not in page and "spam words" not in page
    assert "1 comment<" in page


def test_replies_nest_one_level(app, client, make_post):
    post = make_post("Thread", 1)
    top = factories.comment(app, post, "top", author_name="A")
    reply = factories.comment(app, post, "reply", author_name="B", parent=top)
    deeper = factories.comment(app, post, "reply to reply", author_name="C", parent=reply)
    assert deeper.parent_id == top.id
    doc = parse(client.get(url(post)))
    replies = doc.find(f".//ol[@id='replies-{top.id}']")
    assert [c.get("id") for c in replies.findall(".//article")] == [
        f"comment-{reply.id}",
        f"comment-{deeper.id}",
    ]


def test_prev_next_at_the_ends_and_across_drafts(client, make_post):
    first = make_post("First", 30)
    make_post("Unfinished", 20, status=PostStatus.DRAFT)
    make_post("Future", 5, status=PostStatus.SCHEDULED)
    middle = make_post("Middle", 10)
    last = make_post("Last", 1)

    def nav(post):
        doc = parse(client.get(url(post)))
        prev = doc.find(".//a[@rel='prev']")
        nxt = doc.find(".//a[@rel='next']")
        return tuple(None if a is None else a.get("href") for a in (prev, nxt))

    assert nav(first) == (None, url(middle))
    assert nav(middle) == (url(first), url(last))
    assert nav(last) == (url(middle), None)


def test_same_timestamp_posts_still_link_each_other(client, make_post):
    a = make_post("Twin A", 3)
    b = make_post("Twin B", 3)
    doc = parse(client.get(url(a)))
    assert doc.find(".//a[@rel='next']").get("href") == url(b)
    doc = parse(client.get(url(b)))
    assert doc.find(".//a[@rel='prev']").get("href") == url(a)


def test_drafts_and_scheduled_posts_are_404(client, make_post):
    draft = make_post("Secret draft", 0, status=PostStatus.DRAFT)
    future = make_post("Not yet", 3, status=PostStatus.SCHEDULED)
    assert client.get(f"/2026/03/{draft.slug}/").status_code == 404
    assert client.get(url(future)).status_code == 404
    year = f"/{future.published_at:%Y}/"
    for path in ("/", "/search?q=Secret", "/search?q=yet", "/sitemap.xml", year):
        body = client.get(path).get_data(as_text=True)
        assert "Secret draft" not in body and "Not yet" not in body and future.slug not in body


def test_wrong_month_in_permalink_is_404(client, make_post):
    post = make_post("Dated", 1)
    wrong = post.published_at.month % 12 + 1
    assert client.get(f"/{post.published_at:%Y}/{wrong}/{post.slug}/").status_code == 404


def test_permalink_without_trailing_slash_redirects(client, make_post):
    post = make_post("Slash", 1)
    response = client.get(url(post).rstrip("/"))
    assert response.status_code in (301, 308)
    assert response.headers["Location"].endswith(url(post))


def test_archives(client, make_post):
    march = make_post("In March", 0)  # 15 March 2026
    feb = make_post("In February", 30)  # 13 February 2026
    make_post("Last year", 400)
    doc = parse(client.get("/2026/03/"))
    assert [text(h) for h in doc.findall(".//article//h2")] == ["In March"]
    assert "March 2026" in text(doc.find(".//h1"))
    doc = parse(client.get("/2026/"))
    assert [text(h) for h in doc.findall(".//article//h2")] == ["In March", "In February"]
    assert client.get("/2026/3/").status_code == 404  # months have two digits
    assert client.get("/2026/13/").status_code == 404
    assert client.get("/1999/").status_code == 404
    assert march and feb


def test_tag_page(client, make_post):
    make_post("Tagged", 2, tags=["Slow Reading"])
    make_post("Untagged", 1)
    doc = parse(client.get("/tags/slow-reading/"))
    assert [text(h) for h in doc.findall(".//article//h2")] == ["Tagged"]
    assert "Slow Reading" in text(doc.find(".//h1"))
    assert client.get("/tags/nope/").status_code == 404


def test_search(client, make_post):
    make_post("Mosses in winter", 2, body="Green things on old walls.")
    make_post("Kitchen timers", 1, body="Tomato shaped.")
    doc = parse(client.get("/search?q=walls"))
    assert [text(h) for h in doc.findall(".//article//h2")] == ["Mosses in winter"]
    assert "No post matches" in text(parse(client.get("/search?q=zebra")).find(".//main"))
    assert client.get("/search?q=100%25_").status_code == 200


def test_friendly_404_and_500(app_config):
    app = create_app({**app_config, "PROPAGATE_EXCEPTIONS": False})

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    client = app.test_client()
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "This page isn’t here" in response.get_data(as_text=True)
    response = client.get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong" in body
    assert "secret internals" not in body and "Traceback" not in body


def test_post_page_query_count_does_not_grow_with_comments(app, client, make_post, queries):
    post = make_post("Busy", 1, tags=["a", "b"])
    make_post("Before", 5)
    make_post("After", 0)

    path = url(post)
    statements = []

    def count():
        with queries() as found:
            assert client.get(path).status_code == 200
        statements[:] = found
        return len(found)

    factories.comment(app, post, "first", author_name="One")
    few = count()
    for n in range(60):
        factories.comment(
            app, post, f"comment {n}", author_name=f"R{n}", author_url="https://example.org"
        )
    many = count()
    assert many == few, f"{few} queries with 1 comment, {many} with 61"
    # 8 to render the page once (a cached page is one statement: tests/test_page_cache.py): its
    # key, the post, its tags, the settings (the site's title and clock and the discussion
    # rules, one read), the comments, the post's likes, reposts and mentions (webmentions, one
    # indexed query, cached with the list), the previous and the next post.
    assert few <= 8, "\n".join(" ".join(q.split())[:200] for q in statements)


def test_sitemap_and_robots(client, make_post):
    post = make_post("Mapped", 1)
    sitemap = client.get("/sitemap.xml")
    assert sitemap.mimetype == "application/xml"
    # A sitemap index: the post is in the posts file it lists.
    assert "/sitemap-posts-1.xml" in sitemap.get_data(as_text=True)
    assert url(post) in client.get("/sitemap-posts-1.xml").get_data(as_text=True)
    robots = client.get("/robots.txt").get_data(as_text=True)
    assert "Disallow: /admin/" in robots and "sitemap.xml" in robots
