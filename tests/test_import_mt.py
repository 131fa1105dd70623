"""Importing a Movable Type / TypePad export: parsing, the command, its report, the pages."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, PostStatus, Tag
from blog.porting import movabletype
from blog.porting.entries import FormatError
from tests.helpers import factories, html
from tests.helpers.database import count, counts, post_by_slug
from tests.helpers.porting import MT_FILE, run

NY = ZoneInfo("America/New_York")


def parse(data: bytes, zone=UTC):
    return list(movabletype.parse(io.BytesIO(data), zone))


def page(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, url
    return html.parse(response)


# --- Parsing -------------------------------------------------------------------------------


def test_parses_every_entry_of_a_crlf_export():
    entries = parse(MT_FILE.read_bytes(), NY)
    assert MT_FILE.read_bytes().count(b"\r\n") > 100  # the fixture really is CRLF
    assert [e.title for e in entries] == [
        "Moving house, one box at a time",
        "Café notes: crème brûlée & “smart quotes”",
        "Half a thought",
        "Notes on Markdown",
        "Noon on the last day",
        "A post for later",
        "Awaiting review",
        "",
    ]
    first, cafe, draft, markdown, noon, future, review, empty = entries
    assert "\r" not in first.body + first.extended + cafe.body
    # 09:05:07 PM in New York (EST) is 02:05:07 UTC the next day.
    assert first.date == datetime(2006, 3, 15, 2, 5, 7, tzinfo=UTC)
    assert cafe.date == datetime(2006, 4, 2, 21, 30, tzinfo=UTC)  # 24-hour form, EDT
    assert markdown.date == datetime(2007, 1, 5, 5, 0, tzinfo=UTC)  # 1/5/2007 12:00:00 AM
    assert noon.date == datetime(2006, 12, 31, 17, 30, tzinfo=UTC)  # 12:30:00 PM
    assert [e.status for e in entries[:7]] == [
        "published",
        "published",
        "draft",
        "published",
        "published",
        "scheduled",
        "draft",
    ]
    assert first.comments_open and not cafe.comments_open
    assert (first.body_format, cafe.body_format, markdown.body_format, noon.body_format) == (
        "breaks",
        "html",
        "markdown",
        "breaks",
    )
    assert first.tags == ["Life", "house move", "boxes", "cats, dogs and other pets"]
    assert cafe.tags == ["Food", "dessert", "french cooking"]
    assert markdown.tags == ["writing", "tools"]
    assert first.extended.startswith("The rest of the story")
    assert first.excerpt == "Forty-one boxes & one cat."
    assert [c.author for c in first.comments] == ["Tomás Ibáñez", "Mallory"]
    assert first.comments[0].text.endswith("Lift with your knees.")
    assert first.comments[0].email == "tomas@example.org"
    assert first.comments[0].date == datetime(2006, 3, 15, 13, 12, 44, tzinfo=UTC)
    assert [p.url for p in first.pings] == ["http://other.example.com/2006/03/boxes.html"]
    assert first.comments[1].ip == "198.51.100.7"
    assert empty.skip.startswith("empty entry")
    assert ("/2006/03/moving-house-one-box.html", "post") in first.old_paths
    # Stored without the blog's folder: the redirect finds /blog/2006/... (any folder) too.
    assert ("/blog/2006/03/moving-house-one-box.html", "post") not in first.old_paths
    # An MT basename with underscores: both file names MT could have written.
    assert ("/2007/01/notes_on_markdown.html", "post") in markdown.old_paths
    assert ("/2007/01/notes-on-markdown.html", "post") in markdown.old_paths


def test_lf_and_crlf_read_the_same():
    crlf = parse(MT_FILE.read_bytes())
    lf = parse(MT_FILE.read_bytes().replace(b"\r\n", b"\n"))
    assert [(e.title, e.body, e.extended, e.tags, e.date) for e in crlf] == [
        (e.title, e.body, e.extended, e.tags, e.date) for e in lf
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"house move",boxes,"cats, dogs"', ["house move", "boxes", "cats, dogs"]),
        ("a, b ,c", ["a", "b", "c"]),
        ("'single quoted, yes',x", ["single quoted, yes", "x"]),
        ("", []),
    ],
)
def test_tag_lists_keep_quoted_tags_whole(text, expected):
    assert movabletype.split_tags(text) == expected


def test_keywords_split_on_spaces_when_there_is_no_comma():
    assert movabletype.split_keywords('travel "new york" food') == ["travel", "new york", "food"]
    assert movabletype.split_keywords("new york, food") == ["new york", "food"]


@pytest.mark.parametrize(
    ("text", "local"),
    [
        ("03/14/2006 09:05:07 PM", datetime(2006, 3, 14, 21, 5, 7)),
        ("03/14/2006 21:05:07", datetime(2006, 3, 14, 21, 5, 7)),
        ("12/31/2006 12:00:00 AM", datetime(2006, 12, 31, 0, 0, 0)),
        ("12/31/2006 12:00:00 PM", datetime(2006, 12, 31, 12, 0, 0)),
        ("1/2/2006 3:04 pm", datetime(2006, 1, 2, 15, 4, 0)),
    ],
)
def test_both_date_forms(text, local):
    assert movabletype.parse_date(text, UTC, 1)[0] == local


@pytest.mark.parametrize("text", ["13/01/2006 10:00:00", "02/30/2006 10:00:00", "yesterday"])
def test_impossible_dates_name_their_line(text):
    data = f"TITLE: x\nDATE: {text}\n-----\nBODY:\nx\n-----\n--------\n".encode()
    with pytest.raises(FormatError) as error:
        parse(data)
    assert error.value.line == 2


def test_undecodable_bytes_name_their_line():
    data = MT_FILE.read_bytes().split(b"\r\n")
    data[40] = data[40] + b" caf\xe9"  # Latin-1, not UTF-8
    with pytest.raises(FormatError) as error:
        parse(b"\r\n".join(data))
    assert error.value.line == 41
    assert "UTF-8" in str(error.value)


def test_a_cut_short_file_is_an_error():
    data = MT_FILE.read_bytes()
    cut = data[: data.index(b"Half past twelve")]
    with pytest.raises(FormatError) as error:
        parse(cut)
    assert "cut short" in str(error.value)
    assert error.value.line == cut.count(b"\n")


def test_an_unknown_section_is_an_error():
    data = b"TITLE: x\nDATE: 01/01/2006 10:00:00\n-----\nBODDY:\nx\n-----\n--------\n"
    with pytest.raises(FormatError) as error:
        parse(data)
    assert error.value.line == 4 and "BODDY" in str(error.value)


# --- The command ---------------------------------------------------------------------------


def test_import_command_brings_everything_in(app, runner, client):
    factories.writer(app)
    result = run(runner, "import", str(MT_FILE), "--timezone", "America/New_York")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "posts: 7 new (4 published, 1 scheduled, 2 drafts), 0 already here" in out
    assert "comments: 4 new (4 approved, 0 pending, 0 spam)" in out
    assert "tags created: 9" in out
    assert "empty entry: no title and no body" in out  # the skipped entry, with why
    assert "http://other.example.com/2006/03/boxes.html" in out  # the ping, reported
    assert "http://nell.typepad.com/.a/6a00d8341c5f0953ef00e5-800wi" in out  # files to save
    assert "http://nell.typepad.com/files/recipe.pdf" in out
    assert "/images/markdown.png" in out
    assert "Importing" in out  # the progress bar's label

    assert counts(app)["Post"] == 7
    with app.app_context():
        statuses = dict(db.session.execute(sa.select(Post.slug, Post.status)).all())
        names = set(db.session.scalars(sa.select(Tag.name)))
    assert statuses["half-a-thought"] == PostStatus.DRAFT
    assert statuses["awaiting-review"] == PostStatus.DRAFT
    assert statuses["a-post-for-later"] == PostStatus.SCHEDULED
    assert statuses["notes-on-markdown"] == PostStatus.PUBLISHED
    # The ping did not become a comment.
    assert count(app, Comment) == 4
    assert {"house move", "cats, dogs and other pets", "french cooking", "dessert"} <= names

    moving = post_by_slug(app, "moving-house-one-box")
    assert moving.comment_count == 2 and moving.comments_open
    assert moving.excerpt == "Forty-one boxes & one cat."
    assert moving.published_at == datetime(2006, 3, 15, 2, 5, 7, tzinfo=UTC)
    # The extended body follows a "continue reading" break; both parts render.
    assert '<a id="post-more"' in moving.body_html  # post ids are prefixed
    assert moving.body_html.index("crates") < moving.body_html.index("piano stayed behind")
    assert "<li>forty-one boxes</li>" in moving.body_html
    assert "<br>" in moving.body_html  # line breaks became <br> inside paragraphs

    markdown = post_by_slug(app, "notes-on-markdown")
    assert "<em>emphasis</em>" in markdown.body_html and "<li>one</li>" in markdown.body_html


def test_hostile_html_stays_dead(app, runner, client):
    factories.writer(app)
    run(runner, "import", str(MT_FILE))
    cafe = post_by_slug(app, "cafe-notes-creme-brulee")
    doc = page(client, factories.permalink(app, cafe))
    body = doc.find(".//div[@class='post-body e-content']")
    assert body.findall(".//script") == [] and body.findall(".//iframe") == []
    assert "document.cookie" in "".join(body.itertext())  # shown as text, never run
    for element in doc.iter():
        assert not any(name.startswith("on") for name in element.attrib), element.attrib
        for name in ("href", "src"):
            assert not element.get(name, "").lower().startswith("javascript:")
    # <pre> keeps its blank line; the typographic quotes and Greek survive.
    pre = body.find(".//pre")
    assert "100 g\n\ncream" in pre.text
    assert "Στην υγειά μας!" in "".join(body.itertext())
    with app.app_context():
        mallory = db.session.scalar(sa.select(Comment).where(Comment.author_name == "Mallory"))
        assert mallory.author_url == ""  # a javascript: website is dropped, not linked


def test_closed_comments_stay_and_show(app, runner, client):
    factories.writer(app)
    run(runner, "import", str(MT_FILE))
    cafe = post_by_slug(app, "cafe-notes-creme-brulee")
    assert not cafe.comments_open and cafe.comment_count == 2
    doc = page(client, factories.permalink(app, cafe))
    authors = [
        "".join(a.itertext()).strip()
        for a in doc.iterfind(".//span[@class='comment-author p-author h-card']")
    ]
    assert authors == ["Priya", "Sam"]
    assert doc.find(".//p[@class='comments-closed']") is not None
    assert "🔥" in "".join(doc.find(".//ol[@id='comment-list']").itertext())


def test_previous_and_next_follow_the_imported_dates(app, runner, client):
    factories.writer(app)
    run(runner, "import", str(MT_FILE))
    noon = post_by_slug(app, "noon-on-the-last-day")
    doc = page(client, factories.permalink(app, noon))
    prev = doc.find(".//a[@rel='prev']")
    nxt = doc.find(".//a[@rel='next']")
    assert "Café notes" in "".join(prev.itertext())
    assert "Notes on Markdown" in "".join(nxt.itertext())
    # The newest published post has no next: the scheduled one and the drafts stay hidden.
    doc = page(client, nxt.get("href"))
    assert doc.find(".//a[@rel='next']") is None
    index = page(client, "/")
    titles = ["".join(a.itertext()) for a in index.iterfind(".//h2[@class='summary-title']/a")]
    assert titles == [
        "Notes on Markdown",
        "Noon on the last day",
        "Café notes: crème brûlée & “smart quotes”",
        "Moving house, one box at a time",
    ]


def test_importing_twice_creates_nothing_new(app, runner):
    factories.writer(app)
    run(runner, "import", str(MT_FILE))
    before = counts(app)
    result = run(runner, "import", str(MT_FILE))
    assert result.exit_code == 0, result.output
    assert "posts: 0 new" in result.output and "7 already here" in result.output
    assert "comments: 0 new" in result.output and "4 already here" in result.output
    assert "tags created: 0" in result.output
    assert counts(app) == before


def test_a_reimport_adds_only_the_new_comments(app, runner, tmp_path):
    factories.writer(app)
    run(runner, "import", str(MT_FILE))
    newer = MT_FILE.read_bytes().replace(
        b"Mine caught fire. \xf0\x9f\x94\xa5\r\n-----\r\n",
        b"Mine caught fire. \xf0\x9f\x94\xa5\r\n-----\r\nCOMMENT:\r\nAUTHOR: Late\r\n"
        b"DATE: 05/01/2006 10:00:00 AM\r\nA comment written after the first export.\r\n-----\r\n",
    )
    path = tmp_path / "newer.txt"
    path.write_bytes(newer)
    result = run(runner, "import", str(path))
    assert "comments: 1 new" in result.output and "posts: 0 new" in result.output
    assert post_by_slug(app, "cafe-notes-creme-brulee").comment_count == 3


def test_a_dry_run_changes_nothing(app, runner):
    factories.writer(app)
    before = counts(app)
    result = run(runner, "import", str(MT_FILE), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Would import" in result.output and "posts: 7 new" in result.output
    assert "Dry run: nothing was changed." in result.output
    assert counts(app) == before


def test_a_broken_file_imports_nothing_and_names_the_line(app, runner, tmp_path):
    factories.writer(app)
    data = MT_FILE.read_bytes()
    # Six good entries, then the seventh cut off: the whole import is one transaction.
    cut = data[: data.index(b"An editor still has to read this.")]
    path = tmp_path / "cut.txt"
    path.write_bytes(cut)
    result = run(runner, "import", str(path))
    assert result.exit_code == 1
    last_line = cut.count(b"\n")
    assert f"line {last_line}:" in result.output
    assert "Nothing was imported" in result.output
    assert "Traceback" not in result.output
    assert counts(app) == {"Post": 0, "Comment": 0, "Tag": 0, "LegacyPath": 0}


def test_options_are_checked(app, runner, tmp_path):
    factories.writer(app)
    result = run(runner, "import", str(MT_FILE), "--timezone", "Mars/Olympus")
    assert result.exit_code == 1 and "unknown time zone" in result.output
    result = run(runner, "import", str(MT_FILE), "--author", "nobody")
    assert result.exit_code == 1 and "no account called 'nobody'" in result.output
    other = tmp_path / "notes.txt"
    other.write_text("Just some notes\nnothing to see\n")
    result = run(runner, "import", str(other))
    assert result.exit_code == 1 and "neither a Movable Type" in result.output
    assert counts(app)["Post"] == 0


def test_author_defaults_to_the_first_account(app, runner):
    first = factories.writer(app, "first", "First Writer").id
    second = factories.writer(app, "second", "Second Writer").id
    run(runner, "import", str(MT_FILE))
    with app.app_context():
        assert set(db.session.scalars(sa.select(Post.author_id))) == {first}
        db.session.execute(sa.delete(Post))
        db.session.commit()
    run(runner, "import", str(MT_FILE), "--author", "second")
    with app.app_context():
        assert set(db.session.scalars(sa.select(Post.author_id))) == {second}


def test_no_account_is_a_clear_error(app, runner):
    result = run(runner, "import", str(MT_FILE))
    assert result.exit_code == 1 and "create-admin" in result.output


def test_comment_status_is_approved_for_movable_type(app, runner):
    factories.writer(app)
    run(runner, "import", str(MT_FILE))
    with app.app_context():
        statuses = set(db.session.scalars(sa.select(Comment.status)))
    assert statuses == {CommentStatus.APPROVED}
