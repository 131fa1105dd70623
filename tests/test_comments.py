"""Comments over HTTP: the htmx path and the plain-form path, errors, replies, polling, cookies."""

from __future__ import annotations

import time

import pytest

from blog.comments import spam
from blog.extensions import db
from blog.models import CommentStatus, Post, User
from tests.helpers import factories
from tests.helpers.database import comments as stored
from tests.helpers.html import parse, text


@pytest.fixture
def writer(app) -> User:
    return factories.writer(app)


@pytest.fixture
def post(app, writer) -> Post:
    return factories.post(app)


def urls(app, post: Post) -> tuple[str, str]:
    """Return the post's page URL and its comments URL."""
    page = factories.permalink(app, post)
    return page, page + "comments"


def token(client, page_url: str) -> str:
    """Fetch the page the way a browser does and return the form's CSRF token (the writer's)."""
    doc = parse(client.get(page_url))
    return doc.xpath("//form[@id='comment-form']//input[@name='csrf_token']/@value")[0]


def read(client, page_url: str) -> None:
    """Fetch the page as a reader's browser does before posting its form."""
    assert client.get(page_url).status_code == 200


def fields(app, **values) -> dict[str, str]:
    """Return a comment form as a person sends it: filled in a minute after it was shown."""
    with app.app_context():  # the stamp is signed with the app's secret key
        issued = spam.form_stamp(time.time() - 60)
    data = {
        "author_name": "Ada",
        "author_email": "",
        "author_url": "",
        "body": "Hello there.",
        "issued": issued,
    }
    data.update(values)
    return data


def one(doc, xpath: str):
    found = doc.xpath(xpath)
    assert len(found) == 1, f"{xpath}: {len(found)} matches"
    return found[0]


def typed(textarea) -> str:
    """What a textarea holds, as typed (a browser drops one leading newline)."""
    return (textarea.text or "").removeprefix("\n")


def comment_count(app, post: Post) -> int:
    with app.app_context():
        return db.session.get(Post, post.id).comment_count


# --- The page -----------------------------------------------------------------------------


def test_form_posts_to_the_same_url_with_and_without_javascript(app, client, post):
    page, comments = urls(app, post)
    doc = parse(client.get(page))
    form = one(doc, "//form[@id='comment-form']")
    assert form.get("action") == comments
    assert form.get("method") == "post"
    assert form.get("data-hx-post") == comments
    # A shared page: no token bound to anybody's session (blog.origin guards the form).
    assert not form.xpath(".//input[@name='csrf_token']")
    assert form.get("data-stamp-url") == "/comments/stamp"
    names = set(form.xpath(".//*[@name]/@name"))
    assert {"author_name", "author_email", "author_url", "body", "remember", "parent_id"} <= names
    poll = one(doc, "//*[@id='comment-poll']")
    assert poll.get("data-hx-get") == comments
    assert poll.get("data-hx-trigger") == "every 30s"
    assert one(doc, "//*[@id='comment-status']").get("role") == "status"
    assert not doc.xpath("//body/@data-hx-headers")


def test_poll_interval_is_configurable(app_config, post):
    from blog import create_app

    other = create_app({**app_config, "COMMENTS_POLL_SECONDS": 2})
    page = factories.permalink(other, post)
    doc = parse(other.test_client().get(page))
    assert one(doc, "//*[@id='comment-poll']").get("data-hx-trigger") == "every 2s"


# --- Posting without JavaScript ------------------------------------------------------------


def test_plain_post_redirects_to_the_new_comment(app, client, post):
    page, comments = urls(app, post)
    response = client.post(comments, data=fields(app, author_url="example.org/ada"))
    assert response.status_code == 303
    [comment] = stored(app)
    assert response.headers["Location"].endswith(f"{page}#comment-{comment.id}")
    assert comment.author_url == "https://example.org/ada"
    assert comment.body_html == "<p>Hello there.</p>"
    assert comment.status == CommentStatus.APPROVED
    assert comment_count(app, post) == 1

    doc = parse(client.get(page))
    article = one(doc, f"//article[@id='comment-{comment.id}']")
    assert "Hello there." in text(article)
    assert text(one(doc, "//*[@id='comment-count']")) == "1 comment"
    time = one(article, ".//time")
    assert time.get("datetime").endswith("Z") and "T" in time.get("datetime")
    assert article.xpath(".//a[@class='comment-permalink u-url']/@href") == [
        f"#comment-{comment.id}"
    ]
    assert article.xpath(".//div[@data-hx-disable]")


def test_plain_validation_error_is_the_whole_page_with_the_text_kept(app, client, post):
    page, comments = urls(app, post)
    response = client.post(
        comments,
        data=fields(
            app,
            author_name="",
            author_email="not an email",
            author_url="javascript:alert(1)",
            body="Kept <b>as typed</b>",
        ),
    )
    assert response.status_code == 422
    doc = parse(response)
    assert doc.xpath("//h1")  # the whole page
    form = one(doc, "//form[@id='comment-form']")
    body = one(form, ".//textarea[@name='body']")
    assert typed(body).strip() == "Kept <b>as typed</b>"
    for name, message in [
        ("author_name", "Please enter your name."),
        ("author_email", "email address"),
        ("author_url", "http:// or https://"),
    ]:
        field = one(form, f".//input[@name='{name}']")
        assert field.get("aria-invalid") == "true"
        described = field.get("aria-describedby").split()
        errors = [text(form.xpath(f".//*[@id='{i}']")[0]) for i in described]
        assert any(message in e for e in errors if e), (name, errors)
    assert one(form, ".//input[@name='author_email']").get("value") == "not an email"
    assert one(form, ".//input[@name='author_url']").get("value") == "javascript:alert(1)"
    assert stored(app) == []


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"body": ""}, "body"),
        ({"body": "   \n  "}, "body"),
        ({"body": "x" * 10_001}, "body"),
        ({"author_name": "n" * 101}, "author_name"),
        ({"author_email": "a@" + "b" * 250 + ".org"}, "author_email"),
        ({"author_url": "https://example.org/" + "p" * 490}, "author_url"),
        ({"author_url": "data:text/html,hi"}, "author_url"),
    ],
)
def test_htmx_validation_error_is_422_with_the_form_only(app, client, hx, post, overrides, field):
    page, comments = urls(app, post)
    read(client, page)
    data = fields(app, **overrides)
    response = client.post(comments, data=data, headers=hx)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "<html" not in body and "<h1" not in body
    doc = parse(response)
    form = one(doc, "//form[@id='comment-form']")
    invalid = form.xpath(".//*[@aria-invalid='true']/@name")
    assert invalid == [field]
    error_id = one(form, f".//*[@name='{field}']").get("aria-describedby").split()[-1]
    assert form.xpath(f".//*[@id='{error_id}']")[0].get("class") == "form-error"
    # What was typed comes back (textarea content or input value).
    kept = typed(one(form, ".//textarea[@name='body']"))
    assert kept.replace("\r\n", "\n").strip() == data["body"].strip()
    assert one(form, ".//input[@name='author_name']").get("value") == data["author_name"]
    assert "HX-Request" in response.headers["Vary"]
    assert stored(app) == []


# --- Posting with htmx -----------------------------------------------------------------------


def test_htmx_post_answers_fragments_the_page_swaps_in(app, client, hx, post):
    page, comments = urls(app, post)
    read(client, page)
    response = client.post(comments, data=fields(app, after="0", remember="y"), headers=hx)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_data(as_text=True)
    assert "<html" not in body and "<body" not in body and "<h1" not in body
    [comment] = stored(app)
    doc = parse(response)
    appended = one(doc, "//ol[@data-hx-swap-oob='beforeend:#comment-list']")
    one(appended, f".//article[@id='comment-{comment.id}']")
    count = one(doc, "//*[@id='comment-count']")
    assert (count.get("data-hx-swap-oob"), text(count)) == ("true", "1 comment")
    status = one(doc, "//*[@id='comment-status']")
    assert status.get("data-hx-swap-oob") == "innerHTML"
    assert text(status) == "Your comment was posted."
    after = one(doc, "//input[@id='comment-after']")
    assert after.get("value") == str(comment.id)
    # The old form is removed and a fresh one goes into the form's place, empty but for the
    # remembered author.
    one(doc, "//*[@data-hx-swap-oob='delete:#comment-form']")
    assert response.headers["HX-Retarget"] == "#comment-form-slot"
    assert response.headers["HX-Reswap"] == "innerHTML"
    form = one(doc, "//form[@id='comment-form']")
    assert typed(one(form, ".//textarea[@name='body']")).strip() == ""
    assert one(form, ".//input[@name='author_name']").get("value") == "Ada"
    assert "HX-Request" in response.headers["Vary"]


def test_htmx_post_also_brings_comments_others_posted_meanwhile(app, client, hx, post):
    page, comments = urls(app, post)
    read(client, page)
    seen = factories.comment(app, post, "Already on the page", author_name="Old")
    meanwhile = factories.comment(app, post, "Posted while Ada typed", author_name="Bo")
    response = client.post(comments, data=fields(app, after=str(seen.id)), headers=hx)
    doc = parse(response)
    ids = doc.xpath("//ol[starts-with(@data-hx-swap-oob, 'beforeend:')]//article/@id")
    mine = stored(app)[-1]
    assert ids == [f"comment-{meanwhile.id}", f"comment-{mine.id}"]
    assert one(doc, "//input[@id='comment-after']").get("value") == str(mine.id)
    assert text(one(doc, "//*[@id='comment-count']")) == "3 comments"


# --- Closed posts, CSRF ----------------------------------------------------------------------


def test_closed_post_has_no_form_and_refuses_posts_on_both_paths(app, client, hx, writer):
    post = factories.post(app, "Closed one", comments_open=False)
    page, comments = urls(app, post)
    doc = parse(client.get(page))
    assert not doc.xpath("//form[@id='comment-form']")
    assert not doc.xpath("//*[@id='comment-poll']")
    assert "Comments are closed." in text(one(doc, "//section[@id='comments']"))

    plain = client.post(comments, data=fields(app, body="Too late?"))
    assert plain.status_code == 403
    assert "Comments are closed." in plain.get_data(as_text=True)
    assert "Too late?" in plain.get_data(as_text=True)  # nothing typed is lost

    fragment = client.post(comments, data=fields(app), headers=hx)
    assert fragment.status_code == 403
    assert "<html" not in fragment.get_data(as_text=True)
    assert "Comments are closed." in fragment.get_data(as_text=True)
    assert fragment.headers["HX-Retarget"] == "#comment-form"
    assert stored(app) == []


def test_a_post_from_another_site_is_403_with_the_text_kept(app, client, hx, post):
    page, comments = urls(app, post)
    read(client, page)
    cross = {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
    plain = client.post(comments, data=fields(app, body="My precious words"), headers=cross)
    assert plain.status_code == 403
    doc = parse(plain)
    alert = one(doc, "//*[@id='comment-form-alert']")
    assert "another site" in text(alert) and alert.get("hidden") is None
    assert "My precious words" in typed(one(doc, "//textarea[@name='body']"))
    assert "Traceback" not in plain.get_data(as_text=True)

    fragment = client.post(comments, data=fields(app, body="Still mine"), headers={**hx, **cross})
    assert fragment.status_code == 403
    assert "<html" not in fragment.get_data(as_text=True)
    assert fragment.headers["HX-Retarget"] == "#comment-form"
    assert fragment.headers["HX-Reswap"] == "outerHTML"
    assert "Still mine" in typed(one(parse(fragment), "//textarea[@name='body']"))
    assert stored(app) == []
    # The same form from this site's own page goes through.
    same = {"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"}
    assert client.post(comments, data=fields(app), headers=same).status_code == 303
    assert len(stored(app)) == 1


def test_the_writer_still_needs_the_token_400_with_a_readable_message(app, client, auth, hx, post):
    page, comments = urls(app, post)
    auth.login()
    client.get(page)
    plain = client.post(comments, data=fields(app, body="My precious words"))
    assert plain.status_code == 400
    doc = parse(plain)
    alert = one(doc, "//*[@id='comment-form-alert']")
    assert "expired" in text(alert) and alert.get("hidden") is None
    assert "My precious words" in typed(one(doc, "//textarea[@name='body']"))
    assert "Traceback" not in plain.get_data(as_text=True)

    bad = client.post(
        comments, data=fields(app, csrf_token="forged"), headers={**hx, "X-CSRFToken": "forged"}
    )
    assert bad.status_code == 400
    assert "<html" not in bad.get_data(as_text=True)
    assert bad.headers["HX-Retarget"] == "#comment-form"
    assert bad.headers["HX-Reswap"] == "outerHTML"
    assert "HX-Request" in bad.headers["Vary"]
    fresh = one(parse(bad), "//input[@name='csrf_token']").get("value")
    assert fresh and fresh != "forged"
    # The fresh token in the returned form works.
    again = client.post(comments, data=fields(app, csrf_token=fresh))
    assert again.status_code == 303
    assert len(stored(app)) == 1


# --- Polling -----------------------------------------------------------------------------------


def test_poll_answers_204_when_nothing_is_new_in_one_indexed_query(app, client, hx, post, queries):
    _, comments = urls(app, post)
    first = factories.comment(app, post, "first", author_name="A")
    url = f"{comments}?after={first.id}"
    with queries() as statements:
        response = client.get(url, headers=hx)
    assert response.status_code == 204
    assert response.get_data() == b""
    assert "HX-Request" in response.headers["Vary"]
    assert len(statements) == 1, "\n".join(s[:60] for s in statements)
    plan = query_plan(app, statements[0])
    assert "ix_comment_post_status_id" in plan


def query_plan(app, statement: str) -> str:
    """Return SQLite's plan for a statement (the plan does not depend on the values)."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("query plans are checked on SQLite")
        params = (None,) * statement.count("?")
        rows = db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
        return " ".join(str(r[-1]) for r in rows)


def test_poll_sends_new_comments_once_with_the_count(app, client, hx, post, queries):
    page, comments = urls(app, post)
    top = factories.comment(app, post, "top", author_name="A")
    after = top.id
    reply = factories.comment(app, post, "a reply", author_name="B", parent=top)
    second = factories.comment(app, post, "another", author_name="C")
    factories.comment(app, post, "held", author_name="S", status=CommentStatus.PENDING)
    url = f"{comments}?after={after}"
    second_id = second.id
    with queries() as statements:
        response = client.get(url, headers=hx)
    assert response.status_code == 200
    # The new comments, and the discussion settings (auto-close decides the Reply buttons).
    assert len(statements) == 2, statements
    assert "FROM setting" in statements[1]
    doc = parse(response)
    one(
        doc,
        f"//ol[@data-hx-swap-oob='beforeend:#replies-{top.id}']//article[@id='comment-{reply.id}']",
    )
    one(
        doc,
        f"//ol[@data-hx-swap-oob='beforeend:#comment-list']//article[@id='comment-{second_id}']",
    )
    assert len(doc.xpath("//article")) == 2  # the held comment is nobody's business
    assert text(one(doc, "//*[@id='comment-count']")) == "3 comments"
    assert one(doc, "//input[@id='comment-after']").get("value") == str(second_id)
    assert text(one(doc, "//*[@id='comment-status']")) == "2 new comments."
    # Asked again from the new mark, nothing is sent twice.
    assert client.get(f"{comments}?after={second_id}", headers=hx).status_code == 204


def test_poll_without_htmx_goes_to_the_page(app, client, post):
    page, comments = urls(app, post)
    response = client.get(f"{comments}?after=0")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(page + "#comments")
    assert "HX-Request" in response.headers["Vary"]


def test_history_restore_gets_the_full_page_not_a_fragment(app, client, post):
    page, _ = urls(app, post)
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    form_url = page + "comments/form"
    response = client.get(form_url, headers=headers)
    assert response.status_code == 303  # to the page itself: a full page for history


def test_poll_of_unknown_post_sends_nothing(client, hx, post):
    assert client.get("/2001/01/nothing-here/comments?after=0", headers=hx).status_code == 204


# --- Held for moderation --------------------------------------------------------------------


def test_held_comment_is_shown_only_to_its_author(app, client, hx, post, monkeypatch):
    monkeypatch.setattr(spam, "assess", lambda *_: (CommentStatus.PENDING, "test policy"))
    page, comments = urls(app, post)
    response = client.post(comments, data=fields(app))
    assert response.status_code == 303
    [comment] = stored(app)
    assert (comment.status, comment.reason) == ("pending", "test policy")
    assert comment_count(app, post) == 0

    mine = parse(client.get(page))
    article = one(mine, f"//article[@id='comment-{comment.id}']")
    assert "awaiting moderation" in text(article)
    assert text(one(mine, "//*[@id='comment-count']")) == "0 comments"
    # The poll mark ignores held comments, so approved ones posted before are still fetched.
    assert one(mine, "//input[@id='comment-after']").get("value") == "0"

    stranger = app.test_client()
    assert f"comment-{comment.id}" not in stranger.get(page).get_data(as_text=True)
    assert client.get(f"{comments}?after=0", headers=hx).status_code == 204

    # A forged cookie shows nothing.
    stranger.set_cookie("comment_held", "WzFd.forged")
    assert f"comment-{comment.id}" not in stranger.get(page).get_data(as_text=True)

    # With htmx the author sees it in place, marked, and the live region says so.
    second = client.post(
        comments,
        data=fields(app, after="0", body="And another thing."),
        headers=hx,
    )
    doc = parse(second)
    article = one(doc, "//article[contains(@class, 'comment-pending')]")
    assert "awaiting moderation" in text(article)
    assert "awaiting moderation" in text(one(doc, "//*[@id='comment-status']"))
    assert one(doc, "//input[@id='comment-after']").get("value") == "0"
    shown = parse(client.get(page)).xpath("//article[contains(@class, 'comment-pending')]")
    assert len(shown) == 2


# --- Replies --------------------------------------------------------------------------------


def test_replies_nest_one_level(app, client, hx, post):
    page, comments = urls(app, post)
    top = factories.comment(app, post, "top-level", author_name="Top")
    read(client, page)
    assert client.post(comments, data=fields(app, parent_id=str(top.id))).status_code == 303
    reply = stored(app)[-1]
    assert reply.parent_id == top.id
    # A reply to the reply attaches to the top-level comment.
    response = client.post(
        comments,
        data=fields(app, parent_id=str(reply.id), after="0", body="Agreed."),
        headers=hx,
    )
    nested = stored(app)[-1]
    assert nested.parent_id == top.id
    one(
        parse(response),
        f"//ol[@data-hx-swap-oob='beforeend:#replies-{top.id}']//article[@id='comment-{nested.id}']",
    )

    doc = parse(client.get(page))
    replies = one(doc, f"//ol[@id='replies-{top.id}']")
    assert replies.xpath("./li/article/@id") == [f"comment-{reply.id}", f"comment-{nested.id}"]
    assert not doc.xpath(f"//ol[@id='replies-{reply.id}']")
    # Only top-level comments offer "Reply".
    assert len(doc.xpath("//a[@class='comment-reply']")) == 1


def test_reply_link_without_javascript_puts_the_form_under_the_comment(app, client, post):
    page, _ = urls(app, post)
    top = factories.comment(app, post, "top-level", author_name="Top")
    doc = parse(client.get(page))
    link = one(doc, "//a[@class='comment-reply']")
    assert link.get("href") == f"{page}?replyto={top.id}#comment-form"
    doc = parse(client.get(link.get("href").split("#")[0]))
    form = one(doc, f"//div[@id='reply-slot-{top.id}']/form[@id='comment-form']")
    assert form.xpath(".//input[@name='parent_id']/@value") == [str(top.id)]
    assert not doc.xpath("//div[@id='comment-form-slot']/form")
    # An unknown comment id leaves the form where it always is.
    doc = parse(client.get(f"{page}?replyto=9999"))
    one(doc, "//div[@id='comment-form-slot']/form[@id='comment-form']")


def test_reply_button_fetches_the_form_into_the_reply_slot(app, client, hx, post):
    page, _ = urls(app, post)
    top = factories.comment(app, post, "top-level", author_name="Top")
    link = one(parse(client.get(page)), "//a[@class='comment-reply']")
    response = client.get(link.get("data-hx-get"), headers=hx)
    assert response.status_code == 200
    assert response.headers["HX-Retarget"] == f"#reply-slot-{top.id}"
    assert "HX-Request" in response.headers["Vary"]
    doc = parse(response)
    one(doc, "//*[@data-hx-swap-oob='delete:#comment-form']")
    form = one(doc, "//form[@id='comment-form']")
    assert form.xpath(".//input[@name='parent_id']/@value") == [str(top.id)]
    cancel = one(form, ".//a[@class='comment-reply-cancel']")
    back = client.get(cancel.get("data-hx-get"), headers=hx)
    assert back.headers["HX-Retarget"] == "#comment-form-slot"
    assert one(parse(back), "//form").xpath(".//input[@name='parent_id']/@value") == [""]


# --- Remember me, the writer ------------------------------------------------------------------


def test_remember_me_prefills_the_form_next_time_and_can_be_withdrawn(app, client, post):
    page, comments = urls(app, post)
    details = fields(
        app,
        author_name="Ada Lovelace",
        author_email="ada@example.org",
        author_url="https://ada.example.org/",
        remember="y",
    )
    client.post(comments, data=details)
    cookie = client.get_cookie("comment_author")
    assert cookie is not None and "ada@example.org" not in cookie.value  # signed, not plain
    assert cookie.http_only and cookie.expires is not None

    form = one(parse(client.get(page)), "//form[@id='comment-form']")
    assert one(form, ".//input[@name='author_name']").get("value") == "Ada Lovelace"
    assert one(form, ".//input[@name='author_email']").get("value") == "ada@example.org"
    assert one(form, ".//input[@name='author_url']").get("value") == "https://ada.example.org/"
    assert one(form, ".//input[@name='remember']").get("checked") is not None
    assert typed(one(form, ".//textarea[@name='body']")).strip() == ""

    # Without the box ticked the details are forgotten (the page in front of the reader still
    # keeps them in its fresh form; the next visit does not).
    response = client.post(comments, data=fields(app), headers={"HX-Request": "true"})
    fresh = one(parse(response), "//form[@id='comment-form']")
    assert one(fresh, ".//input[@name='author_name']").get("value") == "Ada"
    assert one(fresh, ".//input[@name='remember']").get("checked") is None
    assert client.get_cookie("comment_author") is None
    form = one(parse(client.get(page)), "//form[@id='comment-form']")
    assert one(form, ".//input[@name='author_name']").get("value") == ""


def test_a_tampered_remember_cookie_is_ignored(app, client, post):
    page, _ = urls(app, post)
    client.set_cookie("comment_author", '{"name": "Mallory"}')
    form = one(parse(client.get(page)), "//form[@id='comment-form']")
    assert one(form, ".//input[@name='author_name']").get("value") == ""


def test_writer_logged_in_is_marked_author(app, client, auth, writer, post):
    page, comments = urls(app, post)
    auth.login()
    form = one(parse(client.get(page)), "//form[@id='comment-form']")
    assert one(form, ".//input[@name='author_name']").get("value") == "Nell Carrow"
    client.post(
        comments, data=fields(app, csrf_token=token(client, page), author_name="Nell Carrow")
    )
    [comment] = stored(app)
    assert comment.user_id == writer.id
    article = one(parse(client.get(page)), f"//article[@id='comment-{comment.id}']")
    assert "Author" in article.xpath(".//span[@class='comment-badge']/text()")


def test_comment_html_is_sanitized_and_names_escaped(app, client, post):
    page, comments = urls(app, post)
    client.post(
        comments,
        data=fields(
            app,
            author_name='<img src=x onerror="alert(1)">',
            body='<script>alert(1)</script> see https://example.org <a href="javascript:x">y</a>',
        ),
    )
    doc = parse(client.get(page))
    [article] = doc.xpath("//article[contains(@class, 'comment')]")
    assert not article.xpath(".//script | .//img | .//*[@onerror]")
    assert article.xpath(".//a[@href='https://example.org']/@rel") == ["nofollow ugc noopener"]
    assert not article.xpath(".//a[starts-with(@href, 'javascript')]")
    assert '<img src=x onerror="alert(1)">' in text(
        article.xpath(".//span[@class='comment-author p-author h-card']")[0]
    )
