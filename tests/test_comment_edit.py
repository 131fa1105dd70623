"""Editing and deleting one's own comment within the window, and the writer's edits.

Authorship is the signed cookie the comment's own browser got when posting (comment_mine);
each test client is one browser. Times are moved by writing created_at in the database.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeSerializer

from blog.discussion import DiscussionSettings
from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, utcnow
from blog.readers import MINE_COOKIE
from tests.helpers import factories
from tests.helpers.auth import login
from tests.helpers.config import require
from tests.helpers.html import csrf_token, parse, text

HX = {"HX-Request": "true"}


@pytest.fixture
def post(app):
    return factories.post(app)


def post_comment(client, post, body: str = "Frist!", **extra) -> int:
    """Post a comment as a reader of client's browser; return its id."""
    response = client.post(
        factories.path_of(post) + "comments",
        data={"author_name": "Ada", "author_email": "ada@example.org", "body": body, **extra},
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("#comment-", 1)[1])


def edit_url(post, comment_id: int) -> str:
    return f"{factories.path_of(post)}comments/{comment_id}/edit"


def row(app, comment_id: int) -> Comment | None:
    with app.app_context():
        comment = db.session.get(Comment, comment_id)
        if comment is not None:
            db.session.expunge(comment)
        return comment


def revision(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Post.revision))


def posted_ago(app, comment_id: int, age: timedelta) -> None:
    with app.app_context():
        db.session.execute(
            sa.update(Comment).where(Comment.id == comment_id).values(created_at=utcnow() - age)
        )
        db.session.commit()


def settings(app, **values) -> None:
    with app.app_context():
        current = DiscussionSettings.load()
        for name, value in values.items():
            setattr(current, name, value)
        current.save()
        db.session.commit()


# --- The page: Edit for its author only, never in the shared page ------------------------------


def test_only_the_author_s_own_page_has_edit_and_the_shared_page_never(app, client, post):
    mine = post_comment(client, post)
    assert MINE_COOKIE in {c.key for c in client._cookies.values()}
    page = client.get(factories.path_of(post))
    assert "private" in page.headers["Cache-Control"]
    [link] = parse(page).xpath(f"//article[@id='comment-{mine}']//a[@class='comment-edit-link']")
    assert link.get("href") == edit_url(post, mine)
    assert link.get("data-hx-get") == edit_url(post, mine)
    anonymous = app.test_client().get(factories.path_of(post))
    assert "public" in anonymous.headers["Cache-Control"]
    assert "comment-edit-link" not in anonymous.get_data(as_text=True)
    assert not parse(anonymous).xpath("//a[contains(@href, '/edit')]")


# --- Without JavaScript ------------------------------------------------------------------------


def test_edit_without_javascript_saves_and_marks_it_edited(app, client, post):
    mine = post_comment(client, post, "A typo hree.")
    form = client.get(edit_url(post, mine))
    assert form.status_code == 200
    assert parse(form).xpath("//textarea[@name='body']")[0].text == "A typo hree."
    before = revision(app)
    saved = client.post(edit_url(post, mine), data={"body": "A typo *here*.", "action": "save"})
    assert saved.status_code == 303
    assert saved.headers["Location"].endswith(f"{factories.path_of(post)}#comment-{mine}")
    comment = row(app, mine)
    assert comment.body == "A typo *here*."
    assert comment.body_html == "<p>A typo <em>here</em>.</p>"
    assert comment.edited_at is not None and comment.status == CommentStatus.APPROVED
    assert revision(app) > before
    [article] = parse(client.get(factories.path_of(post))).xpath(f"//*[@id='comment-{mine}']")
    assert "edited" in text(article.xpath(".//span[@class='comment-edited']")[0])


def test_a_page_s_comments_preview_and_edit_at_the_page_s_address(app, client):
    """About, Colophon: a page with comments open takes them like a post, at /<slug>/."""
    page = factories.page(app, "Colophon", comments_open=True)
    shown = client.post(
        f"/{page.slug}/comments/preview",
        data={"author_name": "Ada", "body": "Set in *Iowan*?"},
    )
    assert shown.status_code == 200
    assert "<em>Iowan</em>" in shown.get_data(as_text=True)
    assert [f"/{page.slug}/comments/preview"] == parse(shown).xpath(
        "//button[@formaction]/@formaction"
    )
    mine = post_comment(client, page, "Set in Iowan?")
    assert client.get(edit_url(page, mine)).status_code == 200
    saved = client.post(edit_url(page, mine), data={"body": "Set in *Iowan Old Style*?"})
    assert saved.status_code == 303
    assert saved.headers["Location"].endswith(f"/{page.slug}/#comment-{mine}")
    assert row(app, mine).body_html == "<p>Set in <em>Iowan Old Style</em>?</p>"


def test_an_edit_changes_the_shared_page_at_once(app, client, post):
    mine = post_comment(client, post, "Before.")
    reader = app.test_client()
    first = reader.get(factories.path_of(post))
    assert "Before." in first.get_data(as_text=True)
    etag = first.headers["ETag"]
    assert reader.get(factories.path_of(post), headers={"If-None-Match": etag}).status_code == 304
    client.post(edit_url(post, mine), data={"body": "After.", "action": "save"})
    again = reader.get(factories.path_of(post), headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["ETag"] != etag
    assert "After." in again.get_data(as_text=True)
    assert "Before." not in again.get_data(as_text=True)


def test_an_empty_edit_is_refused_with_the_message_next_to_the_field(app, client, post):
    mine = post_comment(client, post)
    response = client.post(edit_url(post, mine), data={"body": "  ", "action": "save"})
    assert response.status_code == 422
    [error] = parse(response).xpath("//p[@class='form-error']")
    assert "delete" in text(error)
    assert row(app, mine).body == "Frist!"


def test_the_feed_entry_is_updated_by_an_edit(app, client, post):
    mine = post_comment(client, post, "Feed me.")
    feed = factories.path_of(post) + "comments.atom"
    first = client.get(feed)
    client.post(edit_url(post, mine), data={"body": "Fed.", "action": "save"})
    second = client.get(feed, headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200
    xml = second.get_data(as_text=True)
    assert "Fed." in xml
    edited = row(app, mine).edited_at
    assert f"<updated>{edited.isoformat()}" in xml


# --- With htmx: in place ------------------------------------------------------------------------


def test_htmx_edit_swaps_the_comment_for_its_form_and_back(app, client, post):
    mine = post_comment(client, post, "In place.")
    form = client.get(edit_url(post, mine), headers=HX)
    assert form.status_code == 200
    [article] = parse(form).xpath("//article")
    assert article.get("id") == f"comment-{mine}" and "comment-editing" in article.get("class")
    [edit_form] = article.xpath(".//form")
    assert edit_form.get("data-hx-post") == edit_url(post, mine)
    assert edit_form.get("data-hx-target") == f"#comment-{mine}"
    saved = client.post(
        edit_url(post, mine), data={"body": "In **place**.", "action": "save"}, headers=HX
    )
    assert saved.status_code == 200
    tree = parse(saved)
    [article] = tree.xpath(f"//article[@id='comment-{mine}']")
    assert article.xpath(".//strong")[0].text == "place"
    assert article.xpath(".//a[@class='comment-edit-link']")  # still editable
    assert text(tree.xpath("//p[@id='comment-status']")[0]) == "Your changes were saved."
    cancel = client.get(edit_url(post, mine) + "?cancel=1", headers=HX)
    assert parse(cancel).xpath(f"//article[@id='comment-{mine}']//strong")


# --- Who and when ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_another_browser_is_refused_with_a_message(app, client, post, method):
    mine = post_comment(client, post, "Mine.")
    other = app.test_client()
    response = other.open(
        edit_url(post, mine), method=method, data={"body": "Theirs.", "action": "save"}
    )
    assert response.status_code == 403
    assert "browser that posted it" in text(parse(response).xpath("//p[@role='alert']")[0])
    assert row(app, mine).body == "Mine."


def test_htmx_refusal_shows_in_place_of_the_comment(app, client, post):
    mine = post_comment(client, post)
    response = app.test_client().get(edit_url(post, mine), headers=HX)
    assert response.status_code == 403
    assert response.headers["HX-Retarget"] == f"#comment-{mine}"
    assert parse(response).xpath(f"//article[@id='comment-{mine}']//p[@class='comment-notice']")


def test_a_forged_cookie_is_refused(app, client, post):
    mine = post_comment(client, post, "Mine.")
    other = app.test_client()
    forged = URLSafeSerializer("not-the-site-key", salt=MINE_COOKIE).dumps([mine])
    other.set_cookie(MINE_COOKIE, forged)
    assert other.post(edit_url(post, mine), data={"body": "x"}).status_code == 403
    # Nor does an unsigned list of ids, or another cookie of ours signed for another purpose.
    other.set_cookie(MINE_COOKIE, f"[{mine}]")
    assert other.post(edit_url(post, mine), data={"body": "x"}).status_code == 403
    held = URLSafeSerializer("test-secret-key", salt="comment_held").dumps([mine])
    other.set_cookie(MINE_COOKIE, held)
    assert other.post(edit_url(post, mine), data={"body": "x"}).status_code == 403
    assert row(app, mine).body == "Mine."


def test_a_cookie_naming_another_comment_does_not_open_this_one(app, client, post):
    mine = post_comment(client, post, "Mine.")
    theirs = factories.comment(app, post, "Theirs.")
    assert client.get(edit_url(post, theirs.id)).status_code == 403
    assert client.get(edit_url(post, mine)).status_code == 200


def test_the_window_edges(app, client, post):
    mine = post_comment(client, post, "On time.")
    posted_ago(app, mine, timedelta(minutes=15) - timedelta(seconds=5))  # just before
    assert client.post(edit_url(post, mine), data={"body": "Just in time."}).status_code == 303
    posted_ago(app, mine, timedelta(minutes=15, seconds=1))  # just after
    late = client.post(edit_url(post, mine), data={"body": "Too late."})
    assert late.status_code == 403
    assert "15 minutes" in text(parse(late).xpath("//p[@role='alert']")[0])
    assert row(app, mine).body == "Just in time."
    page = parse(client.get(factories.path_of(post)))
    assert not page.xpath("//a[@class='comment-edit-link']")  # no Edit once the window closed


def test_the_window_is_a_setting_and_zero_turns_editing_off(app, client, post):
    settings(app, edit_minutes=1)
    mine = post_comment(client, post)
    posted_ago(app, mine, timedelta(seconds=61))
    assert client.get(edit_url(post, mine)).status_code == 403
    settings(app, edit_minutes=0)
    fresh = app.test_client()
    response = fresh.post(
        factories.path_of(post) + "comments", data={"author_name": "Bo", "body": "No edits."}
    )
    assert not [c for c in response.headers.getlist("Set-Cookie") if c.startswith(MINE_COOKIE)]
    new_id = int(response.headers["Location"].rsplit("-", 1)[1])
    assert "comment-edit-link" not in fresh.get(factories.path_of(post)).get_data(as_text=True)
    assert fresh.get(edit_url(post, new_id)).status_code == 403


def test_the_window_setting_in_the_back_office(app, client):
    factories.writer(app)
    login(client)
    page = parse(client.get("/admin/settings"))
    assert page.xpath("//input[@name='edit_minutes']/@value") == ["15"]
    data = {
        "csrf_token": csrf_token(client, "/admin/settings"),
        "moderation": "publish_all",
        "close_after_days": "0",
        "max_links": "2",
        "min_seconds": "3",
        "flood_seconds": "15",
        "hourly_limit": "20",
        "edit_minutes": "5",
    }
    assert client.post("/admin/settings", data=data).status_code == 303
    with app.app_context():
        assert DiscussionSettings.load().edit_minutes == 5
    data["edit_minutes"] = "-1"
    assert client.post("/admin/settings", data=data).status_code == 422


def test_a_cross_site_edit_is_refused(app, client, post):
    mine = post_comment(client, post, "Mine.")
    response = client.post(
        edit_url(post, mine),
        data={"body": "Forged.", "action": "save"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert row(app, mine).body == "Mine."


# --- Spam checks again: edit -> held -> approved ------------------------------------------------


def test_an_edit_that_adds_links_is_held_then_approved_by_the_writer(app, client, post):
    mine = post_comment(client, post, "Plain words.")
    reader = app.test_client()
    links = "https://a.example https://b.example https://c.example"
    saved = client.post(edit_url(post, mine), data={"body": links}, headers=HX)
    assert "waits for the writer" in text(parse(saved).xpath("//p[@id='comment-status']")[0])
    held = row(app, mine)
    assert held.status == CommentStatus.PENDING and "links" in held.reason
    assert f"comment-{mine}" not in reader.get(factories.path_of(post)).get_data(as_text=True)
    own = parse(client.get(factories.path_of(post)))  # its author still sees it, marked
    assert "awaiting moderation" in text(own.xpath(f"//article[@id='comment-{mine}']")[0])
    with app.app_context():
        assert db.session.scalar(sa.select(Post.comment_count)) == 0
    writer = app.test_client()
    factories.writer(app)
    login(writer)
    token = csrf_token(writer, "/admin/comments")
    approved = writer.post(f"/admin/comments/{mine}/approve", data={"csrf_token": token})
    assert approved.status_code == 303
    assert "c.example" in reader.get(factories.path_of(post)).get_data(as_text=True)


def test_an_edit_never_lifts_a_hold(app, client, post):
    settings(app, moderation="hold_all")
    mine = post_comment(client, post, "Held at first.")
    settings(app, moderation="publish_all")
    client.post(edit_url(post, mine), data={"body": "Harmless now."})
    assert row(app, mine).status == CommentStatus.PENDING


# --- Deleting -----------------------------------------------------------------------------------


def test_delete_without_replies_removes_it(app, client, post):
    mine = post_comment(client, post)
    response = client.post(edit_url(post, mine), data={"body": "ignored", "action": "delete"})
    assert response.status_code == 303 and response.headers["Location"].endswith("#comments")
    assert row(app, mine) is None
    with app.app_context():
        assert db.session.scalar(sa.select(Post.comment_count)) == 0


def test_htmx_delete_without_replies_removes_the_item_out_of_band(app, client, post):
    mine = post_comment(client, post)
    response = client.post(edit_url(post, mine), data={"action": "delete"}, headers=HX)
    assert response.status_code == 200 and response.headers["HX-Reswap"] == "none"
    tree = parse(response)
    assert tree.xpath(f"//*[@data-hx-swap-oob='delete:#comment-item-{mine}']")
    assert text(tree.xpath("//span[@id='comment-count']")[0]) == "0 comments"


def test_delete_with_replies_leaves_a_placeholder_that_goes_with_the_last_reply(app, client, post):
    mine = post_comment(client, post, "Start of a thread.")
    reply = factories.comment(app, post, "An answer.", parent=row(app, mine))
    response = client.post(edit_url(post, mine), data={"action": "delete"}, headers=HX)
    assert response.status_code == 200
    assert "This comment was deleted" in text(parse(response).xpath("//article")[0])
    kept = row(app, mine)
    assert kept.status == CommentStatus.DELETED
    assert (kept.body, kept.author_name, kept.author_email) == ("", "", "")
    page = parse(app.test_client().get(factories.path_of(post)))
    [thread] = page.xpath(f"//li[@id='comment-item-{mine}']")
    assert "This comment was deleted" in text(thread)
    assert thread.xpath(f".//li[@id='comment-item-{reply.id}']")  # the reply still reads
    assert "Start of a thread" not in text(page.xpath("//body")[0])
    feed = app.test_client().get(factories.path_of(post) + "comments.atom").get_data(as_text=True)
    assert feed.count("<entry>") == 1
    with app.app_context():
        assert db.session.scalar(sa.select(Post.comment_count)) == 1
    # Its last reply deleted by the writer, the placeholder goes too.
    writer = app.test_client()
    factories.writer(app)
    login(writer)
    token = csrf_token(writer, "/admin/comments")
    writer.post(f"/admin/comments/{reply.id}/delete", data={"csrf_token": token})
    assert row(app, mine) is None
    # A deleted comment cannot be edited again.
    assert client.get(edit_url(post, mine)).status_code == 404


# --- The writer ----------------------------------------------------------------------------------


def test_the_writer_edits_any_comment_any_time_from_the_back_office(app, client, post):
    old = factories.comment(app, post, "Old *words*", created_at=utcnow() - timedelta(days=400))
    factories.writer(app)
    login(client)
    page = parse(client.get("/admin/comments?status=approved"))
    assert page.xpath(f"//a[@href='/admin/comments/{old.id}/edit']")
    form = client.get(f"/admin/comments/{old.id}/edit")
    assert parse(form).xpath("//textarea[@name='body']")[0].text == "Old *words*"
    token = csrf_token(client, f"/admin/comments/{old.id}/edit")
    saved = client.post(
        f"/admin/comments/{old.id}/edit", data={"body": "New *words*", "csrf_token": token}
    )
    assert saved.status_code == 303
    comment = row(app, old.id)
    # Kept in its own format (plain text: the stars stay), marked edited, still approved.
    assert comment.body_html == "<p>New *words*</p>" and comment.edited_at is not None
    assert comment.status == CommentStatus.APPROVED
    refused = client.post(f"/admin/comments/{old.id}/edit", data={"body": "", "csrf_token": token})
    assert refused.status_code == 422
    no_token = client.post(f"/admin/comments/{old.id}/edit", data={"body": "x"})
    assert no_token.status_code == 400


# --- Valid HTML ---------------------------------------------------------------------------------

VNU = Path(__file__).resolve().parent.parent / "node_modules/vnu-jar/build/dist/vnu.jar"


def test_the_pages_and_fragments_of_editing_are_valid_html(app, client, post, tmp_path):
    """The author's page with Edit, the edit page, the refusal, a preview page (Nu checker)."""
    require(shutil.which("java") is not None, "Java (Nu Html Checker)", "default-jre-headless")
    require(VNU.exists(), "vnu.jar (run `npm ci`)", "npm")
    mine = post_comment(client, post, "Valid *markup*\n\n- a\n- b\n\n```\ncode\n```")
    factories.comment(app, post, "An answer.", parent=row(app, mine))
    pages = {
        "author": client.get(factories.path_of(post)),
        "edit": client.get(edit_url(post, mine)),
        "refused": app.test_client().get(edit_url(post, mine)),
        "preview": client.post(
            factories.path_of(post) + "comments/preview", data={"author_name": "A", "body": "*x*"}
        ),
    }
    client.post(edit_url(post, mine), data={"action": "delete"})
    pages["placeholder"] = client.get(factories.path_of(post))
    files = []
    for name, response in pages.items():
        assert response.status_code in (200, 403), name
        path = tmp_path / f"{name}.html"
        path.write_bytes(response.get_data())
        files.append(str(path))
    result = subprocess.run(
        ["java", "-jar", str(VNU), "--format", "json", "--errors-only", *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    assert [(m.get("url", "").rsplit("/", 1)[-1], m["message"]) for m in messages] == []
