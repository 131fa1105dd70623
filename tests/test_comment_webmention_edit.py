"""Webmention replies meet issue 17: they stay plain text, and readers never edit them.

A reply received as a webmention is a comment whose body is the source's HTML already cut to
the tags comments allow, the rest escaped (blog.webmention.parse). Read again as Markdown it
would change (`*` and `_` becoming emphasis), so it is stored, re-rendered (`flask rerender`),
edited by the writer and updated from its source as plain text. The reply is stored here by the
real path: blog.webmention.store with what blog.webmention.parse reads from a page.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeSerializer

from blog.comments.section import FROM_ELSEWHERE
from blog.extensions import db
from blog.models import Comment, CommentFormat, Post, utcnow
from blog.readers import MINE_COOKIE
from blog.rerender import rerender
from blog.sanitize import clean_comment
from blog.webmention import store as webmentions
from blog.webmention.models import MentionKind, Webmention
from blog.webmention.parse import read_mention
from tests.helpers import factories
from tests.helpers.auth import login
from tests.helpers.html import csrf_token, parse, text

SOURCE = "https://elsewhere.example/notes/1"
STARS = "Loved it, *really*: 2 * 3 = 6 and snake_case_name."


def source_page(target: str, content: str) -> str:
    return f"""<!doctype html><title>A note</title>
<article class="h-entry">
  <a class="p-author h-card" href="https://elsewhere.example/">Wren</a>
  <a class="u-in-reply-to" href="{target}">in reply to</a>
  <div class="e-content"><p>{content}</p></div>
</article>"""


def receive_reply(app, post, content: str) -> tuple[int, int]:
    """Receive and verify a reply from SOURCE; return (webmention id, comment id)."""
    target = "http://localhost" + factories.path_of(post)
    with app.app_context():
        row = webmentions.received(
            db.session.get(Post, post.id), source=SOURCE, target=target, ip="192.0.2.7"
        )
        mention = read_mention(source_page(target, content), SOURCE, target, 2000, utcnow())
        assert mention.kind == MentionKind.REPLY
        webmentions.verified(row, mention, "approved", "")
        db.session.commit()
        return row.id, row.comment_id


def comment_row(app, comment_id: int) -> Comment:
    with app.app_context():
        comment = db.session.get(Comment, comment_id)
        db.session.expunge(comment)
        return comment


@pytest.fixture
def post(app):
    factories.writer(app)
    return factories.post(app)


def test_a_webmention_reply_stays_plain_text_through_rerender_edits_and_updates(app, client, post):
    mention_id, comment_id = receive_reply(app, post, STARS)
    reply = comment_row(app, comment_id)
    assert reply.format == CommentFormat.TEXT
    assert "*really*" in reply.body_html and "<em>" not in reply.body_html

    # flask rerender: an old policy's HTML is made again, as plain text.
    with app.app_context():
        db.session.execute(
            sa.update(Comment).where(Comment.id == comment_id).values(body_html="<p>old</p>")
        )
        db.session.commit()
        rerender(batch_size=10)
    again = comment_row(app, comment_id)
    assert again.body_html == clean_comment(reply.body) and "<em>" not in again.body_html

    # The writer's edit from the back office keeps its format, its source and its kind.
    login(client)
    url = f"/admin/comments/{comment_id}/edit"
    token = csrf_token(client, url)
    saved = client.post(url, data={"body": "Edited, *still* stars.", "csrf_token": token})
    assert saved.status_code == 303
    edited = comment_row(app, comment_id)
    assert edited.format == CommentFormat.TEXT and edited.edited_at is not None
    assert edited.body_html == "<p>Edited, *still* stars.</p>"
    assert edited.source_url == SOURCE and edited.author_name == "Wren"
    with app.app_context():
        row = db.session.get(Webmention, mention_id)
        assert (row.kind, row.comment_id) == (MentionKind.REPLY, comment_id)

    # The source sends it again, changed: still plain text.
    receive_reply(app, post, "Updated: *not* emphasis.")
    updated = comment_row(app, comment_id)
    assert updated.format == CommentFormat.TEXT
    assert "*not* emphasis" in updated.body_html and "<em>" not in updated.body_html


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_no_reader_edits_a_webmention_reply_not_even_with_a_cookie_naming_it(
    app, client, post, method
):
    _, comment_id = receive_reply(app, post, STARS)
    # A cookie properly signed by the site naming the reply (none is ever issued for one).
    client.set_cookie(
        MINE_COOKIE, URLSafeSerializer("test-secret-key", salt=MINE_COOKIE).dumps([comment_id])
    )
    page = client.get(factories.path_of(post))
    assert parse(page).xpath(f"//article[@id='comment-{comment_id}']")
    assert not parse(page).xpath("//a[@class='comment-edit-link']")
    url = f"{factories.path_of(post)}comments/{comment_id}/edit"
    response = client.open(url, method=method, data={"body": "Mine now.", "action": "delete"})
    assert response.status_code == 403
    assert text(parse(response).xpath("//p[@role='alert']")[0]) == FROM_ELSEWHERE
    kept = comment_row(app, comment_id)
    assert kept.body_html == clean_comment(kept.body) and kept.source_url == SOURCE
