"""The sitemap (issue 12, finding 4): an index of files within the protocol's limits, cached by
version, with ETag and 304.

/sitemap.xml used to list every post in one document built on every request: 50,001 URLs
(over the protocol's 50,000) and about 1 s of CPU per request at 100,000 posts.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import unquote

import pytest
import sqlalchemy as sa
from lxml import etree

from blog.content import delete_post, save_post
from blog.extensions import db
from blog.models import Post, PostStatus, utcnow
from blog.permalinks import post_url
from tests.helpers.factories import page, path_of, post

NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
HOST = "http://localhost"


def xml(response):
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/xml"
    return etree.fromstring(response.get_data())


def index(client) -> list[tuple[str, str | None]]:
    """Return the (file path, lastmod) pairs the sitemap index lists."""
    root = xml(client.get("/sitemap.xml"))
    assert etree.QName(root).localname == "sitemapindex"
    return [
        (
            entry.findtext("s:loc", namespaces=NS).removeprefix(HOST),
            entry.findtext("s:lastmod", namespaces=NS),
        )
        for entry in root.findall("s:sitemap", NS)
    ]


def listed(client, path: str) -> list[tuple[str, str | None]]:
    """Return the (URL path, lastmod) pairs of one sitemap file."""
    root = xml(client.get(path))
    assert etree.QName(root).localname == "urlset"
    return [
        (
            entry.findtext("s:loc", namespaces=NS).removeprefix(HOST),
            entry.findtext("s:lastmod", namespaces=NS),
        )
        for entry in root.findall("s:url", NS)
    ]


def every_url(client) -> list[str]:
    return [url for path, _ in index(client) for url, _ in listed(client, path)]


class TestSmallFiles:
    """Three URLs a file, so that a few posts show how the index splits, names and dates files."""

    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "SITEMAP_MAX_URLS": 3}

    @pytest.fixture
    def posts(self, app) -> list[Post]:
        now = utcnow()
        made = [post(app, f"Post {n}", published_at=now - timedelta(days=10 - n)) for n in range(7)]
        post(app, "A draft", status=PostStatus.DRAFT)
        post(app, "Tomorrow", status=PostStatus.SCHEDULED, published_at=now + timedelta(days=1))
        return made

    def test_the_index_lists_files_of_at_most_the_limit(self, app, posts):
        client = app.test_client()
        files = index(client)
        assert [path for path, _ in files] == [
            "/sitemap-site-1.xml",
            "/sitemap-posts-1.xml",
            "/sitemap-posts-2.xml",
            "/sitemap-posts-3.xml",
        ]
        assert [url for url, _ in listed(client, "/sitemap-site-1.xml")] == ["/"]
        chunks = [listed(client, path) for path, _ in files[1:]]
        assert [len(c) for c in chunks] == [3, 3, 1]
        # Oldest first: new posts join the last file. Drafts and scheduled posts never appear.
        assert [url for c in chunks for url, _ in c] == [path_of(p) for p in posts]
        # Each file's lastmod is the newest lastmod in it.
        for (_, lastmod), chunk in zip(files[1:], chunks, strict=True):
            assert lastmod == max(when for _, when in chunk)
        assert client.get("/sitemap-posts-4.xml").status_code == 404
        assert client.get("/sitemap-pages-1.xml").status_code == 404
        assert client.get("/sitemap-posts-0.xml").status_code == 404

    def test_304_and_a_new_etag_when_the_content_changes(self, app, posts):
        client = app.test_client()
        tags = {}
        for path in ("/sitemap.xml", "/sitemap-posts-3.xml", "/sitemap-site-1.xml"):
            response = client.get(path)
            tags[path] = response.headers["ETag"]
            assert "public" in response.headers["Cache-Control"]
            again = client.get(path, headers={"If-None-Match": tags[path]})
            assert again.status_code == 304 and not again.get_data()

        def changed() -> set[str]:
            return {
                path
                for path, tag in tags.items()
                if client.get(path, headers={"If-None-Match": tag}).status_code != 304
            }

        newest = post(app, "Just published")
        assert changed() == set(tags)
        assert path_of(newest) in every_url(client)
        tags = {path: client.get(path).headers["ETag"] for path in tags}
        with app.app_context():  # an edit, through the write path: updated_at moves
            edited = db.session.get(Post, posts[0].id)
            save_post(
                edited,
                title="Post 0, edited",
                body="New text.",
                author_id=edited.author_id,
                tags=[],
                status=edited.status,
                published_at=edited.published_at,
                slug=edited.slug,
            )
            db.session.commit()
        assert "/sitemap.xml" in changed()
        tags = {path: client.get(path).headers["ETag"] for path in tags}
        with app.app_context():  # a deletion
            db.session.delete(db.session.get(Post, posts[1].id))
            db.session.commit()
        assert "/sitemap.xml" in changed()
        assert path_of(posts[1]) not in every_url(client)
        tags = {path: client.get(path).headers["ETag"] for path in tags}
        with app.app_context():  # a scheduled post's time comes: no write to the post at all
            db.session.execute(
                sa.update(Post)
                .where(Post.status == PostStatus.SCHEDULED)
                .values(published_at=utcnow() - timedelta(seconds=1))
                .execution_options(synchronize_session=False)
            )
            db.session.commit()
        assert "/sitemap.xml" in changed()
        assert any(url.endswith("/tomorrow/") for url in every_url(client))

    def test_a_file_is_built_once_per_version(self, app, posts, queries):
        client = app.test_client()
        client.get("/sitemap-posts-1.xml")
        client.get("/sitemap.xml")  # the index's first build reads each section's rows once
        with app.app_context(), queries() as statements:
            for _ in range(5):
                assert client.get("/sitemap-posts-1.xml").status_code == 200
                assert client.get("/sitemap.xml").status_code == 200
        slugs_read = [s for s in statements if "post.slug" in s.lower()]
        assert slugs_read == [], "a cached file read its posts again"
        # Each request reads its version only: a few indexed statements.
        assert len(statements) <= 10 * 3, len(statements)


class TestBytes:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "SITEMAP_MAX_BYTES": 5000}

    def test_no_file_is_larger_than_the_byte_limit(self, app):
        now = utcnow()
        made = [
            post(app, "東京の雨 " * 10 + str(n), published_at=now - timedelta(hours=40 - n))
            for n in range(40)
        ]
        client = app.test_client()
        files = [path for path, _ in index(client) if "posts" in path]
        assert len(files) > 1
        for path in files:
            assert len(client.get(path).get_data()) <= 5000, path
        assert [unquote(url) for url in every_url(client)[1:]] == [path_of(p) for p in made]


class TestPages:
    """Pages (About, Colophon) have a section of their own: /sitemap-pages-<n>.xml."""

    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "SITEMAP_MAX_URLS": 3}

    def test_public_pages_are_listed_with_their_lastmod(self, app):
        first = post(app, "A post")
        about = page(app, "About", nav_order=1)
        unlisted = page(app, "Thanks")  # out of the navigation, still at its address
        page(app, "Contact", status=PostStatus.DRAFT)
        client = app.test_client()
        files = dict(index(client))
        assert list(files) == [
            "/sitemap-site-1.xml",
            "/sitemap-posts-1.xml",
            "/sitemap-pages-1.xml",
        ]
        pages = listed(client, "/sitemap-pages-1.xml")
        assert [url for url, _ in pages] == ["/about/", "/thanks/"]  # never the draft
        assert all(client.get(url).status_code == 200 for url, _ in pages)
        assert files["/sitemap-pages-1.xml"] == max(when for _, when in pages)
        # Pages are no posts, and posts no pages.
        assert [url for url, _ in listed(client, "/sitemap-posts-1.xml")] == [path_of(first)]
        assert path_of(about) == "/about/" and path_of(unlisted) == "/thanks/"

    def test_the_pages_file_follows_every_change_and_splits_at_the_limit(self, app):
        made = [page(app, f"Page {n}") for n in range(4)]
        client = app.test_client()
        assert [len(listed(client, f"/sitemap-pages-{n}.xml")) for n in (1, 2)] == [3, 1]
        assert client.get("/sitemap-pages-3.xml").status_code == 404
        tag = client.get("/sitemap.xml").headers["ETag"]

        def unchanged() -> bool:
            return client.get("/sitemap.xml", headers={"If-None-Match": tag}).status_code == 304

        assert unchanged()
        with app.app_context():  # an edit, through the write path
            edited = db.session.get(Post, made[0].id)
            save_post(edited, title="Page 0, edited", body="New.", author_id=edited.author_id,
                      tags=[], status=edited.status, published_at=edited.published_at,
                      slug=edited.slug, kind=edited.kind)  # fmt: skip
            db.session.commit()
        assert not unchanged()
        tag = client.get("/sitemap.xml").headers["ETag"]
        with app.app_context():  # a deletion: the page is gone from the file
            delete_post(db.session.get(Post, made[1].id))
            db.session.commit()
        assert not unchanged()
        urls = [
            url for path, _ in index(client) if "pages" in path for url, _ in listed(client, path)
        ]
        assert urls == ["/page-0/", "/page-2/", "/page-3/"]


def test_the_urls_are_the_pages_permalinks(app):
    """The sitemap builds URLs in bulk: they must be exactly what the pages link to."""
    odd = post(app, "Odd")
    with app.app_context():  # a slug no editor makes, but an old import might hold
        db.session.execute(
            sa.update(Post).where(Post.id == odd.id).values(slug="a b&c%d 東京'(x)!")
        )
        db.session.commit()
        row = db.session.get(Post, odd.id)
        with app.test_request_context():
            expected = post_url(row)
    client = app.test_client()
    (url,) = [u for u in every_url(client) if u != "/"]
    assert url == expected and "%25" in url and "%20" in url
    assert client.get(url).status_code == 200


def test_robots_txt_points_at_the_index(app):
    post(app)
    client = app.test_client()
    robots = client.get("/robots.txt").get_data(as_text=True)
    assert f"Sitemap: {HOST}/sitemap.xml" in robots


def test_the_index_at_50001_posts(app, queries):
    """Bench data: 50,001 public posts make two files, of 50,000 and 1 (plus the site's)."""
    result = app.test_cli_runner().invoke(
        args=["bench-data", "--posts", "50600", "--comments", "0"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        public = db.session.scalars(
            sa.select(Post.id).where(Post.public_filter()).order_by(Post.published_at.desc())
        ).all()
        assert len(public) > 50_001
        doomed = public[: len(public) - 50_001]  # the newest, down to exactly 50,001
        db.session.execute(sa.delete(Post).where(Post.id.in_(doomed)))
        db.session.commit()
        newest = db.session.scalar(Post.published().limit(1))
        newest_path = path_of(newest)
    client = app.test_client()
    files = index(client)
    assert [path for path, _ in files] == [
        "/sitemap-site-1.xml",
        "/sitemap-posts-1.xml",
        "/sitemap-posts-2.xml",
    ]
    first = client.get("/sitemap-posts-1.xml")
    assert len(first.get_data()) < 50 * 1024 * 1024
    urls = listed(client, "/sitemap-posts-1.xml")
    assert len(urls) == 50_000 and len(set(urls)) == 50_000
    assert listed(client, "/sitemap-posts-2.xml") == [(newest_path, files[2][1])]
    etag = first.headers["ETag"]
    assert client.get("/sitemap-posts-1.xml", headers={"If-None-Match": etag}).status_code == 304
    # A 304 reads the version only, never the 50,000 rows.
    tag = client.get("/sitemap.xml").headers["ETag"]
    with app.app_context(), queries() as statements:
        response = client.get("/sitemap.xml", headers={"If-None-Match": tag})
    assert response.status_code == 304
    assert not [s for s in statements if "row_number" in s.lower() or "post.slug" in s.lower()]
