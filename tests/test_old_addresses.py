"""A blog whose export forgot its addresses: every era's old address leads to its post.

The export (tests/data/typepad-no-basenames.txt) has no BASENAME lines: a TypePad blog from
2004 to 2011 with accents, punctuation, apostrophes, numbers, titles in other scripts, an
untitled entry, a title shorter and one longer than every cut, two posts of one month whose
short basenames collide, and a draft.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from blog.extensions import db
from blog.models import LegacyPath, Post, Tag
from blog.permalinks import post_comments_feed_url, post_url
from blog.porting.addresses import AddressBook
from blog.porting.importer import Report
from blog.porting.legacy import route_for
from tests.helpers.factories import page as make_page
from tests.helpers.factories import post as make_post
from tests.helpers.factories import writer

DATA = Path(__file__).parent / "data"
EXPORT = DATA / "typepad-no-basenames.txt"
OLD_URLS = DATA / "typepad-old-urls.txt"

ISSUE = "What I've Been Up To: Some Social Media Training Resources"
LONG = (
    "Bold move & more: the long story of how we finally packed forty-one boxes, one cat and "
    "a piano into a van that was far too small"
)


def import_export(app, *options: str, export: Path = EXPORT):
    """Run the import command as the writer would; return the result (output, exit code)."""
    writer(app)
    result = app.test_cli_runner().invoke(
        args=["import", str(export), "--timezone", "America/New_York", *options]
    )
    assert result.exit_code == 0, result.output
    return result


def status(client, path: str) -> int:
    """The status a reader finally gets (werkzeug may first add a slash: 308)."""
    return client.get(path, follow_redirects=True).status_code


def url_of(app, title: str, feed: bool = False) -> str:
    """The permalink (or comment feed) of the post titled title."""
    with app.app_context(), app.test_request_context():
        post = db.session.scalar(sa.select(Post).where(Post.title == title))
        assert post is not None, title
        return post_comments_feed_url(post) if feed else post_url(post)


def rows(app) -> dict[str, tuple[str, str]]:
    """Every stored old address: path -> (target, origin)."""
    with app.app_context():
        return {r.path: (r.target, r.origin) for r in db.session.scalars(sa.select(LegacyPath))}


@pytest.fixture
def moved(app):
    """The blog moved in with one command, without a list of its old addresses."""
    import_export(app)
    return app


def test_the_issue_s_example_leads_to_its_post(moved, client):
    """ "What I've Been Up To…" (October 2009) lived at /2009/10/what_ive_been_u.html."""
    target = url_of(moved, ISSUE)
    for old in (
        "/2009/10/what_ive_been_u.html",
        "/blog/2009/10/what_ive_been_u.html",  # under the blog's folder
        "/my_weblog/2009/10/what_ive_been_u.html",  # under any folder
        "/blog/2009/10/what_ive_been_u.html?cid=6a00d8341c5f0953ef",
        "/2009/10/what-ive-been-up-to-some-socia.html",  # Movable Type 4
        "/2009/10/what-ive-been-up-to-some-social-media-training-resources.html",
        "/2009/10/what_ive_been_u/index.html",  # Movable Type 4's %b/%i layout
    ):
        response = client.get(old)
        assert response.status_code == 301, old
        assert response.headers["Location"] == target, old
    feed = client.get("/blog/2009/10/what_ive_been_u/comments/atom.xml")
    assert (feed.status_code, feed.headers["Location"]) == (301, url_of(moved, ISSUE, True))
    assert client.get(target).status_code == 200


@pytest.mark.parametrize(
    ("old", "title"),
    [
        # Early TypePad / Movable Type 3: 15 characters, underscores, hyphens dropped.
        ("/2004/03/cafe_notes_crem.html", "Café notes: crème brûlée & “smart quotes”"),
        ("/2005/08/aeroskobing_lod.html", "Ærøskøbing & Łódź: Straße"),
        ("/2005/06/wellknown_facts.html", "Well-known facts — 10 of them"),
        # Nothing of a title in another script is left: Movable Type named it "post", and the
        # next such entry "post_1".
        ("/2006/01/post.html", "東京の雨"),
        ("/2007/02/post_1.html", "Привет, мир"),
        # An untitled entry was named after its first five words.
        ("/2007/04/just_a_quick_no.html", "Just a quick note to say the move is done."),
        # Movable Type 3.2 to 4.1: 30 characters.
        ("/2009/12/2009_a_year_in_10_photos.html", "2009: a year in 10 photos"),
        # Movable Type 4.2 and later: hyphens kept, written with hyphens (%-f).
        ("/2005/06/well-known-facts-10-of-them.html", "Well-known facts — 10 of them"),
        ("/2010/05/hi.html", "Hi"),
        # 100 characters, with the title's tags and entity gone.
        (
            "/2011/07/bold-move-more-the-long-story-of-how-we-finally-packed-forty-one-boxes-"
            "one-cat-and-a-piano-into-a-va.html",
            LONG,
        ),
        (
            "/2011/07/bold_move_more_the_long_story_of_how_we_finally_packed_fortyone_boxes_"
            "one_cat_and_a_piano_into_a_van.html",
            LONG,
        ),
    ],
)
def test_every_era_s_address_leads_to_its_post(moved, client, old, title):
    response = client.get(quote(old))
    assert response.status_code == 301, old
    assert response.headers["Location"] == url_of(moved, title)


def test_a_candidate_two_posts_share_goes_to_neither_and_is_reported(app, client):
    output = import_export(app).output
    # "Weekly links: March 1" and "…March 8" are both weekly_links_ma at 15 characters.
    assert status(client, "/2008/03/weekly_links_ma.html") == 404
    assert status(client, "/2008/03/weekly-links-ma.html") == 404
    line = next(x for x in output.splitlines() if "/2008/03/weekly_links_ma.html " in x)
    assert "“Weekly links: March 1” and “Weekly links: March 8”" in line
    assert "are shared by two posts of one month, so lead to neither" in output
    # What tells them apart still leads each to its own post.
    later = client.get("/2008/03/weekly_links_ma_1.html")  # Movable Type numbered the later
    assert later.headers["Location"] == url_of(app, "Weekly links: March 8")
    first = client.get("/2008/03/weekly-links-march-1.html")
    assert first.headers["Location"] == url_of(app, "Weekly links: March 1")
    assert "/2008/03/weekly_links_ma.html" not in rows(app)


def test_drafts_get_no_rebuilt_address(moved, client):
    assert status(client, "/2006/11/halffinished_th.html") == 404
    with moved.app_context():
        draft = db.session.scalar(sa.select(Post).where(Post.title == "Half-finished thoughts"))
        assert draft.status == "draft"
        stored = db.session.scalar(sa.select(sa.func.count()).where(LegacyPath.post_id == draft.id))
    assert stored == 0


def test_the_old_blog_s_pages_and_feeds_lead_to_their_new_equivalents(moved, client):
    expected = {
        "/index.html": "/",
        "/blog/": "/",  # TypePad's usual folder
        "/blog/index.html": "/",
        "/atom.xml": "/feeds/posts.atom",
        "/blog/atom.xml": "/feeds/posts.atom",
        "/index.rdf": "/feeds/posts.rss",
        "/index.xml": "/feeds/posts.rss",
        "/blog/rss.xml": "/feeds/posts.rss",
        "/blog/comments/atom.xml": "/feeds/comments.atom",
        "/2009/10/index.html": "/2009/10/",
        "/blog/2009/10/": "/2009/10/",
        "/blog/2009/10/index.html": "/2009/10/",
        "/food_drink/": "/tags/food-drink/",
        "/blog/food_drink/index.html": "/tags/food-drink/",
        "/food-drink/": "/tags/food-drink/",
        "/blog/social_media/": "/tags/social-media/",
        "/blog/travel/atom.xml": "/tags/travel/feed.atom",
        "/blog/travel/index.rdf": "/tags/travel/feed.rss",
        "/life/rss.xml": "/tags/life/feed.rss",
    }
    for old, new in expected.items():
        response = client.get(old)
        assert (response.status_code, response.headers.get("Location")) == (301, new), old
        assert client.get(new).status_code == 200, new
    # The blog's own archive answers /YYYY/MM/ itself: never redirected.
    assert client.get("/2009/10/").status_code == 200
    # Nothing else under an old folder becomes the home page.
    assert status(client, "/blog/no-such-page.html") == 404
    assert status(client, "/nowhere/index.html") == 404
    assert status(client, "/nowhere/") == 404


def test_importing_twice_adds_nothing(app, client):
    import_export(app, "--old-urls", str(OLD_URLS))
    first = rows(app)
    with app.app_context():
        posts = db.session.scalar(sa.select(sa.func.count()).select_from(Post))
        tags = db.session.scalar(sa.select(sa.func.count()).select_from(Tag))
    again = import_export(app, "--old-urls", str(OLD_URLS)).output
    assert "posts: 0 new (0 published, 0 scheduled, 0 drafts), 13 already here" in again
    assert "old addresses that will redirect: 0 new" in again
    assert "Old address not recorded" not in again
    assert rows(app) == first
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Post)) == posts
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Tag)) == tags


def test_the_blog_s_own_basename_length(app, client):
    cut_at_50 = "/2011/07/bold-move-more-the-long-story-of-how-we-finally-pa.html"
    import_export(app)
    assert status(client, cut_at_50) == 404
    import_export(app, "--basename-length", "50")  # again, with the blog's own length
    assert client.get(cut_at_50).headers["Location"] == url_of(app, LONG)
    refused = app.test_cli_runner().invoke(args=["import", str(EXPORT), "--basename-length", "5"])
    assert refused.exit_code == 2 and "15<=x<=250" in refused.output


def test_the_report_counts_what_a_reader_gets(moved, client):
    """Every address the report says redirects does, to where it says; the rest answer 404."""
    result = moved.test_cli_runner().invoke(args=["legacy-check", "--format", "csv"])
    assert result.exit_code == 0
    table = list(csv.DictReader(io.StringIO(result.output)))
    statuses = {row["status"] for row in table}
    assert statuses == {"redirects"}  # without a list: every stored address leads somewhere
    with moved.app_context():
        stored = db.session.scalar(sa.select(sa.func.count()).select_from(LegacyPath))
    assert len(table) == stored
    for row in table:
        response = client.get(quote(row["old_address"], safe="/?=&"))
        assert response.status_code == 301, row
        assert response.headers["Location"] == quote(row["new_address"], safe="/"), row
    text = moved.test_cli_runner().invoke(args=["legacy-check"]).output
    assert text.startswith(f"Rescue report: {stored} old addresses known: ")
    assert f"{stored} redirect (301)" in text


def test_the_import_report_counts(app):
    output = import_export(app).output
    stored = len(rows(app))
    assert f"old addresses that will redirect: {stored} new" in output
    # Shared: weekly_links_ma with underscores and hyphens, and the comment feed of each.
    assert f"Rescue report: {stored + 4} old addresses known: " in output
    assert "4 are shared by two posts of one month" in output
    assert f"{stored} redirect (301)" in output
    assert "and 2 comment-feed addresses of the same posts" in output


# --- No old address ever hides a page of this blog -------------------------------------


def _sample(rule, slug: str, page_slug: str) -> str | None:
    """A URL for a GET rule of the app, filled with plausible values (a page's slug for the
    rules under a page's address: another /<slug>/ is no route's, and is looked up)."""
    if "GET" not in (rule.methods or ()):
        return None
    if "slug" in rule.arguments and "year" not in rule.arguments:
        slug = page_slug
    values = {"year": 2009, "month": 10, "slug": slug, "tag": "life", "filename": "css/blog.css"}
    arguments = {name: values.get(name, 1 if "id" in name else "sample") for name in rule.arguments}
    try:
        return rule.build(arguments, append_unknown=False)[1]
    except (TypeError, ValueError):
        return None


def test_no_old_address_shadows_a_route_of_the_blog(app, client):
    """Even an old address stored at a route's own URL never answers instead of the route."""
    import_export(app)
    about = make_page(app, "About")
    with app.app_context():
        slug = db.session.scalar(sa.select(Post.slug).where(Post.title == ISSUE))
        hi = db.session.scalar(sa.select(Post).where(Post.title == "Hi"))
        for path in rows(app):  # nothing the importer stored is a route's
            assert "?" in path or route_for(path) is None, path
        samples = {}
        for rule in app.url_map.iter_rules():
            if (url := _sample(rule, slug, about.slug)) is not None:
                samples[rule.rule] = url
        assert len(samples) >= 15
        existing = set(rows(app))
        for url in samples.values():
            for path in {url, url.rstrip("/") or "/", "/blog" + url}:
                if path not in existing:
                    db.session.add(LegacyPath(path=path, post_id=hi.id, origin="test"))
                    existing.add(path)
        db.session.commit()
    hi_url = url_of(app, "Hi")
    for rule, url in samples.items():
        with client.get(url) as response:
            redirected = response.status_code == 301 and response.headers["Location"] == hi_url
        assert not redirected, (rule, url)
    # The same rows under /blog/, which no route answers, do lead to the post.
    assert client.get("/blog/2009/10/").headers["Location"] == hi_url
    assert client.get("/blog/tags/life/").headers["Location"] == hi_url


def test_the_importer_never_stores_a_route_s_address(app, tmp_path):
    listing = tmp_path / "urls.txt"
    listing.write_text(
        "http://nell.typepad.com/2009/10/\n"
        "http://nell.typepad.com/tags/life/\n"
        "http://nell.typepad.com/feeds/posts.atom\n"
        "http://nell.typepad.com/search\n",
        encoding="utf-8",
    )
    output = import_export(app, "--old-urls", str(listing)).output
    stored = rows(app)
    for path in ("/2009/10/", "/tags/life/", "/feeds/posts.atom", "/search"):
        assert path not in stored
        assert f"  {path}  (from the list" in output  # listed as pages of this blog
    assert "These 4 are pages of this blog itself" in output


def test_a_route_s_address_becomes_its_index_file(app):
    """A category named like a route's folder keeps only its index.html spelling."""
    writer(app)
    report = Report()
    with app.app_context(), app.test_request_context():
        post = db.session.get(Post, make_post(app, "Anything").id)
        book = AddressBook(report, "mt")
        assert book.record("/2009/", "month", origin="archive") is True  # stored as index.html
        assert book.record("/tags/life/", "tag", origin="archive") is True
        assert book.record("/feeds/posts.atom", "posts-atom", origin="feed") is False
        assert book.record("/2009/10/x.html", "post", post=post, origin="rebuilt") is True
        db.session.commit()
    assert set(rows(app)) == {"/2009/index.html", "/tags/life/index.html", "/2009/10/x.html"}
    assert report.answered_by_blog == ["/feeds/posts.atom"]


def test_lookup_under_a_folder_is_still_one_query(moved, client, queries):
    with queries() as seen:
        assert client.get("/blog/2009/10/what_ive_been_u.html").status_code == 301
    # The lookup, and the site settings: the new address's month is on the blog's clock.
    assert len(seen) == 2 and "legacy_path" in seen[0] and "FROM setting" in seen[1]
    with queries() as seen:
        assert client.get(url_of(moved, ISSUE)).status_code == 200
    assert not any("legacy_path" in statement for statement in seen)
