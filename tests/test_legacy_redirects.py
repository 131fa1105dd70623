"""Old addresses of imported posts answer 301 with the new permalink; nothing else changes."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import sqlalchemy as sa

from blog.extensions import db
from blog.models import LegacyPath, Post
from tests.helpers import factories
from tests.helpers.database import post_by_slug
from tests.helpers.porting import MT_FILE, WXR_FILE, run


@pytest.fixture
def imported(app, runner):
    factories.writer(app)
    assert run(runner, "import", str(MT_FILE), "--timezone", "America/New_York").exit_code == 0
    assert run(runner, "import", str(WXR_FILE)).exit_code == 0
    return app


def test_every_old_address_of_a_public_post_redirects(imported, client):
    app = imported
    with app.app_context():
        rows = db.session.execute(sa.select(LegacyPath, Post).join(Post)).all()
        db.session.expunge_all()
    assert len(rows) > 20
    checked = 0
    for legacy, post in rows:
        for old in (legacy.path, "/blog" + legacy.path):
            if old.startswith("/blog/?"):
                continue
            url = quote(old, safe="/?=&")
            response = client.get(url)
            if not post.is_public:
                assert response.status_code != 301, old  # drafts and scheduled: never
                continue
            assert response.status_code == 301, old
            expected = factories.permalink(app, post)
            if legacy.target == "comments-feed":
                expected += "comments.atom"
            assert response.headers["Location"] == expected, old
            if legacy.target == "post":
                assert client.get(expected).status_code == 200
            checked += 1
    # MT: 4 published posts x 2 paths, 2 more for a basename with underscores; WordPress: 2 x 4,
    # and the About page's 6 (?p=2, /2019/06/01/about/, /about/index.html and three feeds; its
    # own address, /about/, is the page's: served, never stored); each also under the blog's
    # folder (/blog/...) but WordPress's three /?p= addresses.
    assert checked == (10 + 8 + 6) * 2 - 6


@pytest.mark.parametrize(
    ("old", "slug", "feed"),
    [
        ("/2006/03/moving-house-one-box.html", "moving-house-one-box", False),
        ("/blog/2006/03/moving-house-one-box.html", "moving-house-one-box", False),
        ("/2006/03/moving-house-one-box/comments/atom.xml", "moving-house-one-box", True),
        (
            "/blog/2006/04/cafe-notes-creme-brulee/comments/atom.xml",
            "cafe-notes-creme-brulee",
            True,
        ),
        ("/2007/01/notes_on_markdown.html", "notes-on-markdown", False),
        ("/2007/01/notes-on-markdown.html", "notes-on-markdown", False),
        ("/?p=11", "hello-from-the-road", False),
        ("/?feed=rss2&p=11", "hello-from-the-road", True),
        ("/2019/06/01/hello-from-the-road/", "hello-from-the-road", False),
        ("/2019/06/01/hello-from-the-road", "hello-from-the-road", False),
        ("/2019/06/01/hello-from-the-road/feed/", "hello-from-the-road", True),
        ("/2019/06/15/%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82/", "привет", False),
        ("/?p=12", "привет", False),
    ],
)
def test_old_addresses(app, imported, client, old, slug, feed):
    response = client.get(old)
    assert response.status_code == 301
    expected = factories.permalink(app, post_by_slug(app, slug)) + ("comments.atom" if feed else "")
    assert response.headers["Location"] == expected
    assert client.head(old).status_code == 301


@pytest.mark.parametrize(
    "old",
    [
        "/2006/05/half-a-thought.html",  # a draft
        "/2030/06/a-post-for-later.html",  # scheduled
        "/?p=13",  # a WordPress draft
        "/2019/06/25/only-for-me/",  # private became a draft
        "/2006/03/never-existed.html",
        "/2019/06/01/never-existed/",
    ],
)
def test_no_redirect_for_what_readers_may_not_see(imported, client, old):
    assert client.get(old).status_code != 301
    # Whatever the routing does with it (a slash added, the home page for ?p=), no post shows.
    final = client.get(old, follow_redirects=True)
    assert final.status_code == (200 if old.startswith("/?") else 404)
    assert 'class="post h-entry"' not in final.get_data(as_text=True)


def test_home_page_with_an_unknown_or_odd_p_is_the_home_page(imported, client):
    for url in ("/?p=999", "/?p=abc", "/?page=1"):
        assert client.get(url).status_code == 200


def test_a_post_is_not_redirected_when_it_is_unpublished_later(app, imported, client):
    with app.app_context():
        db.session.scalar(
            sa.select(Post).where(Post.slug == "moving-house-one-box")
        ).status = "draft"
        db.session.commit()
    response = client.get("/2006/03/moving-house-one-box.html", follow_redirects=True)
    assert response.status_code == 404


def test_lookup_costs_one_query_and_only_on_a_miss(app, imported, client, queries):
    url = factories.permalink(app, post_by_slug(app, "moving-house-one-box"))
    with queries() as seen:
        assert client.get("/2006/03/moving-house-one-box.html").status_code == 301
    # The lookup, and the site settings: the new address's month is on the blog's clock.
    assert len(seen) == 2 and "legacy_path" in seen[0] and "FROM setting" in seen[1]
    with queries() as seen:
        assert client.get(url).status_code == 200
    assert not any("legacy_path" in statement for statement in seen)
    with queries() as seen:
        assert client.get("/").status_code == 200
    assert not any("legacy_path" in statement for statement in seen)
    with queries() as seen:
        assert client.get("/?p=11").status_code == 301
    assert len(seen) == 2
