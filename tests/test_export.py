"""The Movable Type export, and a round trip through it into an empty blog."""

from __future__ import annotations

import io
import shutil
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from blog import create_app
from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, PostStatus
from blog.porting import movabletype
from blog.porting.exporter import split_more
from tests.helpers import factories
from tests.helpers.cli import CommandRunner
from tests.helpers.config import base_config
from tests.helpers.database import count
from tests.helpers.porting import MT_FILE, run


def snapshot(app) -> dict:
    """Everything a round trip must keep: posts, states, tags, approved comments."""
    with app.app_context():
        return _snapshot()


def _snapshot() -> dict:
    posts = {}
    for post in db.session.scalars(sa.select(Post).order_by(Post.slug)):
        comments = db.session.execute(
            sa.select(Comment.author_name, Comment.author_url, Comment.created_at, Comment.body)
            .where(Comment.post_id == post.id, Comment.status == CommentStatus.APPROVED)
            .order_by(Comment.created_at, Comment.id)
        ).all()
        posts[post.slug] = {
            "title": post.title,
            "status": post.status,
            "published_at": post.published_at,
            "comments_open": post.comments_open,
            "tags": sorted(t.name for t in post.tags),
            "body": post.body,
            "body_html": post.body_html,
            "excerpt": post.excerpt,
            "comment_count": post.comment_count,
            "comments": [tuple(c) for c in comments],
        }
    return posts


@pytest.fixture
def blog_with_everything(demo, runner):
    """The demo blog, an imported TypePad blog, and the awkward cases written here."""
    factories.writer(demo, "nell", "Nell")
    assert run(runner, "import", str(MT_FILE)).exit_code == 0
    when = datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC)
    post = factories.post(
        demo,
        "Separators --------- and “quotes”",
        'Before a rule\n\n-----\n\n--------\n\nafter it.\n\n<a id="more"></a>\n\nThe rest.',
        tags=["tag, with comma", "tag with spaces", 'say "hi"'],
        published_at=when,
        comments_open=False,
    )
    factories.comment(
        demo, post, "AUTHOR: not a header\n-----\nstill me", author_name="Åsa", created_at=when
    )
    factories.comment(
        demo,
        post,
        "pending",
        author_name="Held",
        created_at=when + timedelta(minutes=1),
        status=CommentStatus.PENDING,
    )
    factories.post(
        demo,
        "Later",
        "Scheduled.",
        status=PostStatus.SCHEDULED,
        published_at=datetime(2031, 1, 1, 9, 0, tzinfo=UTC),
    )
    return demo


def test_round_trip_gives_back_the_same_blog(
    blog_with_everything, runner, tmp_path, migrated_sqlite
):
    before = snapshot(blog_with_everything)
    path = tmp_path / "export.txt"
    result = run(runner, "export", str(path))
    assert result.exit_code == 0, result.output
    assert "1 held or spam comments were left out" in result.output

    copy = tmp_path / "empty.sqlite"
    shutil.copy(migrated_sqlite, copy)
    other = create_app(base_config(f"sqlite:///{copy}"))
    factories.writer(other, "nell", "Nell")
    result = CommandRunner(other).invoke(args=["import", str(path)])
    assert result.exit_code == 0, result.output
    assert "Skipped" not in result.output
    after = snapshot(other)
    # Held comments are not exported (the format has no place for a state).
    before["separators-and-quotes"]["comments"] = [
        c for c in before["separators-and-quotes"]["comments"] if c[0] != "Held"
    ]
    assert sorted(after) == sorted(before)
    for slug, post in before.items():
        got = after[slug]
        assert got == post, slug


def test_export_file_is_movable_type(blog_with_everything, runner, tmp_path):
    path = tmp_path / "export.txt"
    run(runner, "export", str(path))
    entries = list(movabletype.parse(io.BytesIO(path.read_bytes())))
    assert len(entries) == count(blog_with_everything, Post)
    text = path.read_text(encoding="utf-8")
    assert "STATUS: Draft" in text and "STATUS: Future" in text and "ALLOW COMMENTS: 0" in text
    assert 'TAGS: \'say "hi"\',"tag with spaces","tag, with comma"' in text
    assert "\n -----\n" in text  # a separator-looking line in a body is escaped
    assert "CONVERT BREAKS: markdown" in text
    separators = next(e for e in entries if e.basename == "separators-and-quotes")
    assert separators.extended == "The rest."
    assert [c.author for c in separators.comments] == ["Åsa"]
    assert separators.comments[0].text == "AUTHOR: not a header\n-----\nstill me"


def test_html_export(blog_with_everything, runner, tmp_path):
    path = tmp_path / "export.txt"
    run(runner, "export", "--html", str(path))
    text = path.read_text(encoding="utf-8")
    assert "CONVERT BREAKS: 0" in text and "CONVERT BREAKS: markdown" not in text
    assert "<h2>What goes in</h2>" in text


def test_export_to_standard_output(demo, runner):
    result = runner.invoke(args=["export", "-"])
    assert result.exit_code == 0
    assert result.stdout.count("--------\n") == 7  # the demo's 5 posts, draft and About page
    assert "TITLE: Why I keep a notebook next to the keyboard" in result.stdout


def test_split_more():
    assert split_more('a\n\n<a id="more"></a>\n\nb') == ("a", "b")
    assert split_more("no break") == ("no break", "")
