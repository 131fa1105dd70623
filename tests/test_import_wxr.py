"""Importing a WordPress WXR export: posts only, states, threads, safety of the XML parser."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from blog.extensions import db
from blog.models import Comment, CommentStatus, PostStatus
from blog.porting import wxr
from blog.porting.entries import FormatError
from tests.helpers import factories
from tests.helpers.database import counts, post_by_slug
from tests.helpers.porting import WXR_FILE, run


def parse(data: bytes):
    return list(wxr.parse(io.BytesIO(data)))


def test_parses_posts_and_skips_the_rest():
    entries = parse(WXR_FILE.read_bytes())
    by_title = {e.title: e for e in entries}
    about = by_title["About"]  # a page: imported as a page, in the navigation
    assert (about.kind, about.skip, about.nav_order, about.status) == ("page", "", 0, "published")
    assert by_title["map"].skip.startswith("an attachment")
    assert by_title["map"].files == [
        "https://oldblog.example.com/wp-content/uploads/2019/06/map.jpg"
    ]
    assert by_title["Thrown away"].skip == "in the trash"
    hello = by_title["Hello from the road"]
    assert hello.status == "published" and hello.comments_open
    assert hello.date == datetime(2019, 6, 1, 8, 0, tzinfo=UTC)  # post_date_gmt
    assert hello.tags == ["Travel", "summer", "road trip"]
    assert hello.body.startswith("First day out") and hello.extended.startswith("Then the road")
    statuses = [(c.author, c.status) for c in hello.comments]
    assert statuses == [
        ("Grace", "approved"),
        ("Linus", "approved"),
        ("Ada", "approved"),
        ("Quiet Reader", "pending"),
        ("Cheap Pills", "spam"),
    ]  # the trashed comment is gone, the pingback is a ping
    assert [(p.title, p.url) for p in hello.pings] == [
        ("pingback", "https://other.example.net/2019/06/roads/")
    ]
    assert ("/?p=11", "post") in hello.old_paths
    assert ("/?p=11&feed=rss2", "comments-feed") in hello.old_paths
    assert ("/2019/06/01/hello-from-the-road/", "post") in hello.old_paths
    assert ("/2019/06/01/hello-from-the-road/feed/", "comments-feed") in hello.old_paths
    russian = by_title["Привет, Москва &amp; hostile markup"]
    assert russian.basename == "привет"  # post_name is percent-encoded UTF-8
    assert not russian.comments_open
    assert "Image" not in russian.tags  # post formats are not tags
    draft = by_title["A draft about tyres"]
    # No GMT date for a draft: its local date is read in the given zone (UTC here).
    assert draft.status == "draft" and draft.date == datetime(2019, 6, 20, 9, 0, tzinfo=UTC)
    assert by_title["Next summer's route"].status == "scheduled"
    assert by_title["Only for me"].status == "draft" and by_title["Only for me"].warnings


def test_import_command(app, runner, client):
    factories.writer(app)
    result = run(runner, "import", str(WXR_FILE))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "from a WordPress WXR export" in out
    assert "posts: 5 new (2 published, 1 scheduled, 2 drafts)" in out
    assert "comments: 6 new (4 approved, 1 pending, 1 spam)" in out
    assert "pages: 1 new" in out
    skipped = out.split("Skipped entries", 1)[1].split("Trackbacks", 1)[0]
    assert "About" not in skipped  # a page now, not skipped
    # Its old addresses lead to it; its own (/about/) is the page's (rescue report).
    assert "/about/  “About”\n    ← /?p=2" in out
    assert "in the trash" in out
    assert "https://other.example.net/2019/06/roads/" in out  # the pingback, reported
    for name in ("map.jpg", "route.gpx", "square.png"):
        assert f"https://oldblog.example.com/wp-content/uploads/2019/06/{name}" in out
    assert "(oldblog.example.com)" in out

    hello = post_by_slug(app, "hello-from-the-road")
    # The teaser is what came before <!--more-->; the page shows both parts.
    assert hello.excerpt == "First day out. The map was wrong twice."
    assert "turned back" in hello.body_html
    assert hello.comment_count == 3  # approved only: Grace, Ada, Linus
    with app.app_context():
        comments = {
            c.author_name: c
            for c in db.session.scalars(sa.select(Comment).where(Comment.post_id == hello.id))
        }
    assert comments["Quiet Reader"].status == CommentStatus.PENDING
    assert comments["Cheap Pills"].status == CommentStatus.SPAM
    assert "<script>" not in comments["Cheap Pills"].body_html
    # Threads: a reply keeps its parent; a reply to a reply joins the top-level comment.
    grace = comments["Grace"]
    assert grace.parent_id is None
    assert comments["Ada"].parent_id == grace.id
    assert comments["Linus"].parent_id == grace.id

    response = client.get(factories.permalink(app, hello))
    text = response.get_data(as_text=True)
    assert "Which map was it?" in text and "old paper ones never lie" in text
    assert "Held for moderation" not in text and "pills" not in text

    russian = post_by_slug(app, "привет")
    assert russian.status == PostStatus.PUBLISHED and not russian.comments_open
    assert "<script>" not in russian.body_html and "onclick" not in russian.body_html
    assert "javascript:" not in russian.body_html
    assert 'href="https://example.org/"' in russian.body_html
    assert "Красная площадь" in russian.body_html
    assert russian.excerpt == "Red Square, and some markup that must not survive."
    assert client.get(factories.permalink(app, russian)).status_code == 200

    assert post_by_slug(app, "a-draft-about-tyres").status == PostStatus.DRAFT
    assert post_by_slug(app, "next-summers-route").status == PostStatus.SCHEDULED


def test_importing_twice_creates_nothing_new(app, runner):
    factories.writer(app)
    run(runner, "import", str(WXR_FILE))
    before = counts(app)
    result = run(runner, "import", str(WXR_FILE))
    # Already here: the five posts and the About page.
    assert "posts: 0 new" in result.output and "6 already here" in result.output
    assert "comments: 0 new" in result.output and "6 already here" in result.output
    assert counts(app) == before


def test_a_dry_run_changes_nothing(app, runner):
    factories.writer(app)
    result = run(runner, "import", str(WXR_FILE), "--dry-run")
    assert "posts: 5 new" in result.output and "Dry run" in result.output
    assert counts(app) == {"Post": 0, "Comment": 0, "Tag": 0, "LegacyPath": 0}


def test_broken_xml_names_the_line_and_imports_nothing(app, runner, tmp_path):
    factories.writer(app)
    lines = WXR_FILE.read_text(encoding="utf-8").split("\n")
    # Break the last item: the posts before it were already read when the parser fails.
    number = next(i for i, line in enumerate(lines) if "only-for-me]]" in line)
    lines[number] = lines[number].replace("</wp:post_name>", "</wp:post_nam>")
    path = tmp_path / "broken.xml"
    path.write_text("\n".join(lines), encoding="utf-8")
    result = run(runner, "import", str(path))
    assert result.exit_code == 1
    assert f"line {number + 1}: the XML is broken" in result.output
    assert "Nothing was imported" in result.output
    assert counts(app) == {"Post": 0, "Comment": 0, "Tag": 0, "LegacyPath": 0}


def test_the_error_line_is_the_broken_line():
    data = WXR_FILE.read_bytes().replace(
        b"<wp:post_id>12</wp:post_id>", b"<wp:post_id>12</wp:post>"
    )
    line = data[: data.index(b"<wp:post_id>12</wp:post>")].count(b"\n") + 1
    with pytest.raises(FormatError) as error:
        parse(data)
    assert error.value.line == line


def _wxr_with(doctype: bytes, title: bytes, body: bytes) -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        + doctype
        + b"""
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
  xmlns:wp="http://wordpress.org/export/1.2/"><channel>
<item><title>"""
        + title
        + b"</title><content:encoded>"
        + body
        + b"""</content:encoded>
<wp:post_id>1</wp:post_id><wp:post_name>e</wp:post_name><wp:status>publish</wp:status>
<wp:post_type>post</wp:post_type><wp:post_date_gmt>2020-01-01 10:00:00</wp:post_date_gmt></item>
</channel></rss>
"""
    )


def test_external_entities_are_never_fetched(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    doctype = f'<!DOCTYPE rss [<!ENTITY secret SYSTEM "file://{secret}">]>'.encode()
    (entry,) = parse(_wxr_with(doctype, b"Title &secret; end", b"Body &secret; end"))
    assert "TOP-SECRET" not in entry.title + entry.body
    assert entry.title == "Title &secret; end"  # kept as inert text, the rest not lost
    assert entry.body == "Body &secret; end"


def test_entity_bombs_do_not_expand():
    doctype = b"""<!DOCTYPE rss [
  <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>"""
    try:
        entries = parse(_wxr_with(doctype, b"Bomb &d;", b"Body &d;"))
    except FormatError as error:  # libxml2 may refuse the file outright: also safe
        assert error.line is not None
    else:
        assert all(len(e.title) < 100 and "aaaa" not in e.body for e in entries)


def test_post_without_any_date_is_skipped_not_guessed():
    data = (
        WXR_FILE.read_bytes()
        .replace(
            b"<wp:post_date><![CDATA[2019-06-15 21:30:00]]></wp:post_date>",
            b"<wp:post_date></wp:post_date>",
        )
        .replace(b"<wp:post_date_gmt><![CDATA[2019-06-15 18:30:00]]></wp:post_date_gmt>", b"")
    )
    entries = {e.title: e for e in parse(data)}
    assert "no date" in entries["Привет, Москва &amp; hostile markup"].skip


def test_a_very_long_body_is_read_with_huge_tree_only_when_needed():
    body = b"word " * 2_200_000  # 11 MB in one text node: over libxml2's default limit
    data = _wxr_with(b"", b"Long", b"<![CDATA[" + body + b"]]>")
    with pytest.raises(wxr.HugeTreeNeeded):
        parse(data)
    (entry,) = list(wxr.parse(io.BytesIO(data), huge_tree=True))
    assert len(entry.body) == len(body.strip())
