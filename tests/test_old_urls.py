"""A list of the old blog's URLs (import --old-urls): cleaned, matched, redirected, reported."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import sqlalchemy as sa

from blog.extensions import db
from blog.models import LegacyPath, Post
from blog.permalinks import post_comments_feed_url, post_url
from blog.porting.oldurls import Matcher, PostInfo, normalize, read_list
from tests.helpers.factories import writer

DATA = Path(__file__).parent / "data"
EXPORT = DATA / "typepad-no-basenames.txt"
OLD_URLS = DATA / "typepad-old-urls.txt"

# Where each URL of tests/data/typepad-old-urls.txt must lead: a post's title (its page),
# ("comments", title) for its comment feed, or a path of this blog.
EXPECTED = {
    "http://nell.typepad.com/blog/": "/",
    "http://nell.typepad.com/blog/2004/03/cafe_notes_crem.html": (
        "Café notes: crème brûlée & “smart quotes”"
    ),
    "nell.typepad.com/blog/2004/03/cafe_notes_crem.html#comments": (
        "Café notes: crème brûlée & “smart quotes”"
    ),
    "http://nell.typepad.com/blog/2005/08/aeroskobing_lod.html": "Ærøskøbing & Łódź: Straße",
    "http://www.nell.typepad.com/blog/2005/06/wellknown_facts.html/": (
        "Well-known facts — 10 of them"
    ),
    "https://nell.typepad.com/blog/2006/01/post.html": "東京の雨",
    "http://nell.typepad.com/blog/2007/02/post%5F1.html": "Привет, мир",
    "http://nell.typepad.com/blog/2007/04/just_a_quick_no.html": (
        "Just a quick note to say the move is done."
    ),
    # Two posts share this basename; the list shows it and its numbered twin in one month,
    # so the older post had it (Movable Type numbered the later one).
    "http://nell.typepad.com/blog/2008/03/weekly_links_ma.html": "Weekly links: March 1",
    "https://web.archive.org/web/20100101000000/http://nell.typepad.com/blog/2008/03/"
    "weekly_links_ma_1.html": "Weekly links: March 8",
    "http://nell.typepad.com/blog/2009/10/what_ive_been_u.html": (
        "What I've Been Up To: Some Social Media Training Resources"
    ),
    "https://nell.typepad.com/blog/2009/10/what_ive_been_u.html?utm_source=feedburner&"
    "utm_medium=feed": "What I've Been Up To: Some Social Media Training Resources",
    "http://nell.typepad.com/blog/2009/10/what_ive_been_u/comments/atom.xml": (
        "comments",
        "What I've Been Up To: Some Social Media Training Resources",
    ),
    # A basename the writer edited by hand: matched by the title's words.
    "http://nell.typepad.com/blog/2009/12/year-in-photos.html": "2009: a year in 10 photos",
    "http://nell.typepad.com/blog/2010/05/hi.html": "Hi",
    # Cut at 50 characters, a length no era used by default: the title cut short.
    "http://nell.typepad.com/blog/2011/07/bold-move-more-the-long-story-of-how-we-finally-"
    "pa.html": (
        "Bold move & more: the long story of how we finally packed forty-one boxes, one cat "
        "and a piano into a van that was far too small"
    ),
    "http://nell.typepad.com/blog/2008/03/": "/2008/03/",
    "http://nell.typepad.com/blog/2009/10/index.html": "/2009/10/",
    "http://nell.typepad.com/blog/food_drink/": "/tags/food-drink/",
    "http://nell.typepad.com/blog/social_media/index.html": "/tags/social-media/",
    "http://nell.typepad.com/blog/travel/atom.xml": "/tags/travel/feed.atom",
    "http://nell.typepad.com/blog/atom.xml": "/feeds/posts.atom",
    "http://nell.typepad.com/blog/index.rdf": "/feeds/posts.rss",
    "http://nell.typepad.com/blog/rss.xml": "/feeds/posts.rss",
    "http://nell.typepad.com/blog/comments/atom.xml": "/feeds/comments.atom",
}
NEVER_THERE = [
    "http://nell.typepad.com/blog/about.html",
    "http://nell.typepad.com/blog/2009/10/no-such-post.html",
    "http://nell.typepad.com/blog/photos/",
]


def import_with_list(app, *options: str):
    writer(app)
    result = app.test_cli_runner().invoke(
        args=[
            "import",
            str(EXPORT),
            "--timezone",
            "America/New_York",
            "--old-urls",
            str(OLD_URLS),
            *options,
        ]
    )
    assert result.exit_code == 0, result.output
    return result.output


def where(app, expected) -> str:
    """The URL a list entry must lead to."""
    if isinstance(expected, str) and expected.startswith("/"):
        return expected
    feed, title = expected if isinstance(expected, tuple) else (None, expected)
    with app.app_context(), app.test_request_context():
        post = db.session.scalar(sa.select(Post).where(Post.title == title))
        assert post is not None, title
        return post_comments_feed_url(post) if feed else post_url(post)


def as_requested(url: str) -> str:
    """The path and query a browser following the old link asks this blog for."""
    if "web.archive.org" in url:
        url = url.split("/web/", 1)[1].split("/", 1)[1]
    parts = urlsplit(url if "//" in url else "http://" + url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_moved_in_with_one_command_no_old_url_of_a_real_post_answers_404(app, client):
    """The issue's "not done until": an export without basenames and a list of its old URLs,
    moved in with one command, leave no old URL of a real post answering 404, and the report
    says so."""
    output = import_with_list(app)
    listed = [line for line in OLD_URLS.read_text().splitlines() if line and line[0] != "#"]
    assert set(EXPECTED) | set(NEVER_THERE) <= {line.split(",")[0].strip('"') for line in listed}
    for url, expected in EXPECTED.items():
        response = client.get(as_requested(url))
        assert response.status_code == 301, url
        assert response.headers["Location"] == where(app, expected), url
        assert client.get(response.headers["Location"]).status_code == 200, url
    for url in NEVER_THERE:
        assert client.get(as_requested(url), follow_redirects=True).status_code == 404, url
    # The report: 26 different addresses (two lines repeat one, one is no URL); the 3 that
    # lead nowhere are the pages that never existed; no other address is lost.
    assert "Of the 26 listed addresses, 23 lead somewhere and 3 lead nowhere." in output
    section = output.split("These 3 lead nowhere (404):\n", 1)[1].split("\nThese ", 1)[0]
    lost = [line.split()[0] for line in section.splitlines()[:3]]
    assert lost == [urlsplit(url).path for url in NEVER_THERE]
    assert "Lines of the list that name no page, skipped (1):\n  line 34: not a url at all" in (
        output
    )


def test_legacy_check_says_the_same_for_a_blog_already_moved(app, client):
    imported = import_with_list(app)
    runner = app.test_cli_runner()
    text = runner.invoke(args=["legacy-check", "--old-urls", str(OLD_URLS)]).output
    assert "Of the 26 listed addresses, 23 lead somewhere and 3 lead nowhere." in text
    # The same addresses redirect, to the same places, as the import said.
    assert _redirects(text) == _redirects(imported)
    result = runner.invoke(args=["legacy-check", "--format", "csv", "--old-urls", str(OLD_URLS)])
    table = list(csv.DictReader(io.StringIO(result.output)))
    nowhere = [row["old_address"] for row in table if row["status"] == "nowhere"]
    assert nowhere == [urlsplit(url).path for url in NEVER_THERE]
    # Shared rebuilt addresses are stored nowhere: only the import reports them.
    assert {row["status"] for row in table} == {"redirects", "nowhere"}
    for row in table:
        if row["status"] == "redirects":
            response = client.get(row["old_address"])
            assert response.status_code == 301, row
            assert unquote(response.headers["Location"]) == row["new_address"], row


def _redirects(report: str) -> str:
    return report.split("Redirects, by where they lead", 1)[1]


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("http://nell.typepad.com/blog/2009/10/what_ive_been_u.html", None),
        ("https://nell.typepad.com/blog/2009/10/what_ive_been_u.html", None),
        ("http://www.nell.typepad.com/blog/2009/10/what_ive_been_u.html", None),
        ("nell.typepad.com/blog/2009/10/what_ive_been_u.html", None),
        ("www.nell.typepad.com/blog/2009/10/what_ive_been_u.html", None),
        ("//nell.typepad.com/blog/2009/10/what_ive_been_u.html", None),
        ("/blog/2009/10/what_ive_been_u.html", None),
        ("http://nell.typepad.com/blog/2009/10/what_ive_been_u.html?utm_source=x&y=2", None),
        ("http://nell.typepad.com/blog/2009/10/what_ive_been_u.html#comment-12", None),
        ("http://nell.typepad.com/blog/2009/10/what_ive_been_u.html/", None),
        ("http://nell.typepad.com//blog//2009/10/what_ive_been_u.html", None),
        ("http://nell.typepad.com/blog/2009/10/what%5Five_been_u.html", None),
        ("  <http://nell.typepad.com/blog/2009/10/what_ive_been_u.html>  ", None),
        (
            "https://web.archive.org/web/20091101000000/http://nell.typepad.com/blog/2009/10/"
            "what_ive_been_u.html",
            None,
        ),
        (
            "https://web.archive.org/web/20091101000000id_/http:/nell.typepad.com/blog/2009/10/"
            "what_ive_been_u.html",
            None,
        ),
        ("http://example.com/blog/2009/10/", "/blog/2009/10/"),
        ("http://example.com", "/"),
        ("http://example.com/?p=42", "/?p=42"),
        ("http://example.com/index.php?p=42&feed=rss2", "/?p=42&feed=rss2"),
        ("http://example.com/2009/10/caf%C3%A9/", "/2009/10/café/"),
        ("ftp://example.com/file.txt", ""),
        ("mailto:nell@example.com", ""),
        ("not a url", ""),
        ("javascript:alert(1)", ""),
        ("http://example.com/%00bad", ""),
    ],
)
def test_noise_in_a_list(url, path):
    expected = "/blog/2009/10/what_ive_been_u.html" if path is None else (path or None)
    assert normalize(url) == expected


def test_reading_a_list(tmp_path):
    listing = tmp_path / "urls.csv"
    listing.write_text(
        "\ufeff# from a search console export\n"
        "URL,Clicks,Impressions\n"
        '"http://nell.typepad.com/blog/2010/05/hi.html",12,340\n'
        "\n"
        "https://nell.typepad.com/blog/2010/05/hi.html?from=feed\n"
        "nonsense line\n",
        encoding="utf-8",
    )
    listed = read_list(listing)
    # The header line names no page; the same address twice is listed once.
    assert [(item.line, item.path) for item in listed] == [
        (2, ""),
        (3, "/blog/2010/05/hi.html"),
        (6, ""),
    ]
    assert listed[0].outcome == listed[2].outcome == "not a URL of a page"


def _post(id: int, title: str, when: datetime, slug: str = "") -> PostInfo:
    return PostInfo(id, title, "", slug or f"post-{id}", when)


def test_matching_by_date_and_words():
    posts = [
        _post(1, "Weekly links: March 1", datetime(2008, 3, 1, 14, tzinfo=UTC)),
        _post(2, "Weekly links: March 8", datetime(2008, 3, 8, 14, tzinfo=UTC)),
        _post(3, "Notes on a rainy spring", datetime(2008, 4, 1, 2, tzinfo=UTC)),
        _post(4, "Notes on a dry summer", datetime(2008, 7, 1, 2, tzinfo=UTC)),
    ]
    matcher = Matcher(posts, [], listed=["/blog/2008/03/x.html"])
    assert matcher.match("/2008/03/weekly_links_march_8.html")[0].post_id == 2
    found, why = matcher.match("/2008/03/weekly_links_ma.html")
    assert found is None and "alike" in why  # both fit; nothing in the list tells them apart
    # Filed under the old blog's March (its time zone), published April 1 in UTC.
    assert matcher.match("/2008/03/notes_on_a_rain.html")[0].post_id == 3
    assert matcher.match("/2008/04/rainy-spring-notes.html")[0].post_id == 3  # words
    assert matcher.match("/2008/04/autumn-leaves.html")[0] is None
    assert matcher.match("/2008/07/notes_on_a_dry_summer/comments/atom.xml")[0].target == (
        "comments-feed"
    )
    # No date: only an exact basename, and only if one post has it.
    assert matcher.match("/notes-on-a-dry-summer.html")[0].post_id == 4
    assert matcher.match("/weekly_links_ma.html")[0] is None
    assert matcher.match("/blog/")[0].target == "home"  # the list's folder
    assert matcher.match("/other/")[0] is None


def test_numbered_basenames_are_told_apart_by_age_only_with_the_list_s_evidence():
    posts = [
        _post(2, "Weekly links: March 8", datetime(2008, 3, 8, 14, tzinfo=UTC)),
        _post(1, "Weekly links: March 1", datetime(2008, 3, 1, 14, tzinfo=UTC)),
    ]
    listed = ["/2008/03/weekly_links_ma.html", "/2008/03/weekly_links_ma_1.html"]
    matcher = Matcher(posts, [], listed=listed)
    assert matcher.match(listed[0])[0].post_id == 1
    assert matcher.match(listed[1])[0].post_id == 2
    lone = Matcher(posts, [], listed=listed[:1])
    assert lone.match(listed[0])[0] is None


def test_listed_addresses_are_stored_without_the_blog_s_folder(app):
    import_with_list(app)
    with app.app_context():
        stored = {
            path: origin
            for path, origin in db.session.execute(sa.select(LegacyPath.path, LegacyPath.origin))
        }
    assert stored["/2009/12/year-in-photos.html"] == "list"
    assert stored["/2008/03/weekly_links_ma.html"] == "list"
    assert not any(path.startswith("/blog/2") for path in stored)
