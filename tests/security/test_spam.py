"""The spam defences through the real comment endpoint: what each catches, and what it tells.

This module runs with the real defaults: a form sent in under 3 seconds is a robot's, and the
per-IP rate limits are on (conftest's base config turns both off for the other tests).
"""

from __future__ import annotations

import re
import shutil
import time
from datetime import timedelta
from pathlib import Path

import lxml.html
import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeSerializer

from blog.comments import spam, store
from blog.discussion import DiscussionSettings
from blog.extensions import db, limiter
from blog.models import Comment, CommentStatus, Post, utcnow
from tests.helpers import factories
from tests.helpers.auth import login
from tests.helpers.config import require
from tests.helpers.database import comments as stored
from tests.helpers.html import form_fields, parse, text
from tests.helpers.servers import redis_server

CSS = Path(spam.__file__).parents[2] / "static" / "css" / "blog.css"
FORGED = "Form timestamp missing or forged"
TOO_FAST = re.compile(r"You're commenting too fast — try again in (\d+) seconds")


@pytest.fixture
def app_config(app_config):
    return {**app_config, "RATELIMIT_ENABLED": True, "COMMENT_MIN_SECONDS": None}


@pytest.fixture
def post(app) -> Post:
    limiter.reset()
    return factories.post(app)


settings = factories.discussion  # change the discussion settings, as the back office does


def page_of(client, post: Post) -> str:
    return factories.permalink(client.application, post)


def page_form(client, post: Post) -> tuple[str, dict[str, str]]:
    """Fetch the post page like a browser; return the comments URL and the form's own fields."""
    doc = parse(client.get(page_of(client, post)))
    form = doc.xpath("//form[@id='comment-form']")[0]
    values = {i.get("name"): i.get("value") or "" for i in form.xpath(".//input[@type='hidden']")}
    return form.get("action"), values


def send(client, post: Post, *, age: float = 60, ip: str = "198.51.100.7", hx=False, **values):
    """Post a comment as a person would: the page's form, filled in `age` seconds later."""
    url, form = page_form(client, post)
    with client.application.app_context():  # signed with the app's secret key
        form["issued"] = spam.form_stamp(time.time() - age)
    form.update({"author_name": "Ada", "body": "Hello there."})
    form.update(values)
    headers = {"HX-Request": "true"} if hx else {}
    return client.post(url, data=form, headers=headers, environ_base={"REMOTE_ADDR": ip})


def textarea(response) -> str:
    text = parse(response).xpath("//textarea[@name='body']")[0].text or ""
    return text.removeprefix("\r").removeprefix("\n")  # a browser drops the first line break


def resent(response) -> dict[str, str]:
    """The comment form of an answer, as a browser sends it again (its checked choices only)."""
    _action, fields = form_fields(response, "http://localhost/", "//form[@id='comment-form']")
    return dict(fields)


def held_on_page(client, post: Post) -> str:
    doc = parse(client.get(page_of(client, post)))
    return " ".join(doc.xpath("//article[contains(@class,'comment-pending')]//text()"))


# --- The robot trap -------------------------------------------------------------------------


def test_honeypot_is_hidden_by_css_from_people_and_screen_readers(client, post):
    doc = parse(client.get(page_of(client, post)))
    trap = doc.xpath("//form[@id='comment-form']//input[@name='subject']")[0]
    assert trap.get("type") == "text"  # not type=hidden: robots skip those
    assert trap.get("tabindex") == "-1" and trap.get("autocomplete") == "off"
    assert trap.get("style") is None
    box = trap.getparent()
    assert box.get("aria-hidden") == "true" and "form-trap" in box.get("class").split()
    label = box.xpath(".//label[@for=$id]", id=trap.get("id"))[0]
    assert "Leave this field empty" in text(label)
    rule = re.search(r"\.form-trap\s*\{([^}]*)\}", CSS.read_text())
    assert rule and "position: absolute" in rule.group(1) and "-10000px" in rule.group(1)


@pytest.mark.parametrize("hx", [False, True])
def test_filled_honeypot_stores_spam_with_a_reason_and_says_it_is_held(app, client, post, hx):
    response = send(client, post, subject="Buy now", hx=hx)
    assert response.status_code == (200 if hx else 303)
    [comment] = stored(app)
    assert comment.status == CommentStatus.SPAM
    assert comment.reason == "Filled in the hidden robot trap (honeypot)"
    assert comment.body == "Hello there."  # kept, for the writer to rescue
    if hx:
        assert "awaiting moderation" in response.get_data(as_text=True)
    assert "awaiting moderation" in held_on_page(client, post)


def test_honeypot_setting_off_lets_it_through(app, client, post):
    settings(app, honeypot=False)
    assert send(client, post, subject="Anything").status_code == 303
    assert stored(app)[0].status == CommentStatus.APPROVED


# --- The signed form time -------------------------------------------------------------------


def test_form_carries_a_fresh_signed_time(app, client, post):
    _, form = page_form(client, post)
    with app.app_context():
        age = spam.stamp_age(form["issued"])
    assert age is not None and 0 <= age < 5


def test_a_shared_pages_form_sent_at_once_is_spam(app, client, post):
    """The real default (3 s). The page's own stamp is the time the page was made: sent within
    3 s of that, the reader cannot have had the form longer, so it is a robot's."""
    assert app.config["COMMENT_MIN_SECONDS"] is None
    with app.app_context():
        assert DiscussionSettings.load().min_seconds == 3
    url, form = page_form(client, post)
    with app.app_context():
        assert spam.read_stamp(form["issued"]).page
    form.update(author_name="Quick", body="Fast fingers.")
    assert client.post(url, data=form).status_code == 303
    [fast] = stored(app)
    assert fast.status == CommentStatus.SPAM
    assert re.fullmatch(r"Sent \d\.\d s after the page was made \(less than 3 s\)", fast.reason)
    assert "awaiting moderation" in held_on_page(client, post)


def test_with_javascript_the_fresh_stamp_counts(app, client, post):
    """comments.js fetches a fresh stamp when the reader starts writing: sent at once, it is a
    robot's pace; 3 s later, a person's."""
    stamp = client.get("/comments/stamp")
    assert stamp.status_code == 200 and stamp.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in stamp.headers and "Cookie" not in stamp.headers.get("Vary", "")
    with app.app_context():
        assert not spam.read_stamp(stamp.text).page
    url, form = page_form(client, post)
    form.update(author_name="Quick", body="Fast fingers.", issued=stamp.text)
    assert client.post(url, data=form).status_code == 303
    [fast] = stored(app)
    assert fast.status == CommentStatus.SPAM
    assert re.fullmatch(r"Sent \d\.\d s after the form was shown \(less than 3 s\)", fast.reason)

    url, form = page_form(client, post)
    form.update(author_name="Patient", body="I thought first.")
    form["issued"] = client.get("/comments/stamp").text
    shown = time.monotonic()
    time.sleep(3.1 - (time.monotonic() - shown))  # time passing is the event here
    response = client.post(url, data=form, environ_base={"REMOTE_ADDR": "192.0.2.99"})
    assert response.status_code == 303
    assert stored(app)[-1].status == CommentStatus.APPROVED


@pytest.mark.parametrize("hx", [False, True])
def test_without_javascript_an_old_page_stamp_asks_once_to_confirm(app, client, post, hx):
    """The stamp of a page made long ago (a cached page, no JavaScript to refresh it) proves
    nothing: the comment is shown as it will appear, with the form and a fresh stamp; posted
    again at once it is a robot's, after a moment a person's. Nothing counts against the
    flood limit until a comment is stored."""
    url, form = page_form(client, post)
    with app.app_context():
        form["issued"] = spam.page_stamp(time.time() - 600)  # a page cached ten minutes ago
    form.update(author_name="Ada", author_url="ada.example", body="Slow and <em>careful</em>.")
    headers = {"HX-Request": "true"} if hx else {}
    response = client.post(url, data=form, headers=headers)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert stored(app) == []
    doc = parse(response)
    assert ("<html" in response.get_data(as_text=True)) is not hx
    alert = doc.xpath("//*[@id='comment-form-alert']")[0]
    assert alert.get("hidden") is None and "this is how it will appear" in text(alert)
    (preview,) = doc.xpath("//form[@id='comment-form']//div[@class='comment-preview']/article")
    body = lxml.html.tostring(preview.xpath(".//div[contains(@class, 'comment-body')]")[0])
    assert b"<em>careful</em>" in body  # sanitized the way it will be stored
    assert preview.xpath(".//a[@href='https://ada.example']")
    assert textarea(response) == "Slow and <em>careful</em>."
    again = resent(response)
    with app.app_context():
        fresh = spam.read_stamp(again["issued"])
    assert fresh is not None and not fresh.page and fresh.age < 5
    assert text(doc.xpath("//form//button[@type='submit']")[0]) == "Post comment"

    # Confirmed at once: the fresh stamp says no person read it.
    assert client.post(url, data=again, headers=headers).status_code in (200, 303)
    [hasty] = stored(app)
    assert hasty.status == CommentStatus.SPAM and "after the form was shown" in hasty.reason

    # Confirmed a moment later (another reader, the same steps): published.
    form.update(body="Second, slower.", author_name="Bea")
    response = client.post(
        url, data=form, headers=headers, environ_base={"REMOTE_ADDR": "192.0.2.8"}
    )
    assert response.status_code == 200 and len(stored(app)) == 1
    doc = parse(response)
    again = resent(response)
    with app.app_context():
        again.update(issued=spam.form_stamp(time.time() - 4))
    confirmed = client.post(
        url, data=again, headers=headers, environ_base={"REMOTE_ADDR": "192.0.2.8"}
    )
    assert confirmed.status_code == (200 if hx else 303)
    last = stored(app)[-1]
    assert last.status == CommentStatus.APPROVED and last.body == "Second, slower."


def test_the_trap_and_the_writer_are_never_asked_to_confirm(app, client, post):
    url, form = page_form(client, post)
    with app.app_context():
        form.update(author_name="Bot", body="Buy now", subject="filled", issued=spam.page_stamp(0))
    assert client.post(url, data=form).status_code == 303
    assert stored(app)[-1].status == CommentStatus.SPAM  # the trap decides at once

    factories.writer(app)
    assert login(client).status_code == 303
    url, form = page_form(client, post)
    with app.app_context():
        form.update(author_name="Nell", body="My own words.", issued=spam.page_stamp(0))
    assert client.post(url, data=form).status_code == 303
    assert stored(app)[-1].status == CommentStatus.APPROVED


@pytest.mark.parametrize(
    ("issued", "reason"),
    [
        ("", "No form timestamp"),
        ("MTcwMDAwMDAwMC4w.forged", "Form timestamp missing or forged"),
        ("not a stamp at all", "Form timestamp missing or forged"),
        # Signed, but with another site's key: a robot cannot make its own.
        (
            URLSafeSerializer("other", salt=spam.STAMP_SALT).dumps(0),
            "Form timestamp missing or forged",
        ),
        # Our key, another purpose's salt (the held-comments cookie).
        (
            URLSafeSerializer("test-secret-key", salt="comment_held").dumps(0),
            "Form timestamp missing or forged",
        ),
    ],
)
def test_missing_or_forged_time_is_spam(app, client, post, issued, reason):
    url, form = page_form(client, post)
    form.update(author_name="Ada", body="Hello there.", issued=issued)
    assert client.post(url, data=form).status_code == 303
    [comment] = stored(app)
    assert (comment.status, comment.reason) == (CommentStatus.SPAM, reason)


def test_minimum_time_setting_and_config(app, app_config, client, post):
    settings(app, min_seconds=0)
    url, form = page_form(client, post)
    form.update(author_name="Ada", body="No stamp, but the check is off.", issued="")
    client.post(url, data=form)
    assert stored(app)[-1].status == CommentStatus.APPROVED
    settings(app, min_seconds=120)
    send(client, post, age=60, body="A minute is not enough now.", ip="192.0.2.1")
    assert stored(app)[-1].status == CommentStatus.SPAM
    assert "(less than 120 s)" in stored(app)[-1].reason


# --- Flood control --------------------------------------------------------------------------


@pytest.mark.parametrize("hx", [False, True])
def test_second_comment_within_15_seconds_gets_429_and_keeps_the_text(app, client, post, hx):
    assert send(client, post, hx=hx).status_code in (200, 303)
    response = send(client, post, body="Second thoughts, quickly.", hx=hx)
    assert response.status_code == 429
    message = TOO_FAST.search(text(parse(response)))
    assert message and 1 <= int(message.group(1)) <= 15
    assert 1 <= int(response.headers["Retry-After"]) <= 15
    assert textarea(response) == "Second thoughts, quickly."
    doc = parse(response)
    alert = doc.xpath("//*[@id='comment-form-alert']")[0]
    assert alert.get("role") == "alert" and alert.get("hidden") is None
    assert TOO_FAST.search(text(alert))
    if hx:
        assert response.headers["HX-Retarget"] == "#comment-form"
        assert response.headers["HX-Reswap"] == "outerHTML"
        assert "<html" not in response.get_data(as_text=True)
    else:
        assert doc.xpath("//main//h1")  # the whole post page, the form in place
    assert len(stored(app)) == 1
    # Another address is not slowed down by this one.
    assert send(client, post, body="From elsewhere.", ip="203.0.113.5").status_code == 303


def test_the_pace_limit_lifts_after_the_interval(app, client, post):
    settings(app, flood_seconds=2)
    assert send(client, post).status_code == 303
    refused = send(client, post, body="Too soon.")
    assert refused.status_code == 429
    time.sleep(int(refused.headers["Retry-After"]) + 0.2)
    assert send(client, post, body="Now is fine.").status_code == 303


def test_refused_forms_do_not_count_against_the_limit(client, post):
    assert send(client, post, author_name="").status_code == 422
    assert send(client, post).status_code == 303


def test_hourly_cap(app, client, post):
    settings(app, flood_seconds=0, hourly_limit=3)
    for i in range(3):
        assert send(client, post, body=f"Comment {i}").status_code == 303
    response = send(client, post, body="One too many")
    assert response.status_code == 429
    seconds = int(TOO_FAST.search(text(parse(response))).group(1))
    assert 15 < seconds <= 3600
    assert len(stored(app)) == 3
    settings(app, hourly_limit=0)
    assert send(client, post, body="Cap turned off").status_code == 303


# --- Duplicates -----------------------------------------------------------------------------


@pytest.mark.parametrize("hx", [False, True])
def test_same_text_twice_is_refused_with_409_next_to_the_comment(app, client, post, hx):
    settings(app, flood_seconds=0)
    assert send(client, post, author_email="ada@example.org").status_code in (200, 303)
    response = send(client, post, author_email="ADA@example.org", hx=hx)
    assert response.status_code == 409
    doc = parse(response)
    error = doc.xpath("//*[@id='comment-body-error']")[0]
    assert "You already sent this comment here today" in text(error)
    assert textarea(response) == "Hello there."
    if hx:
        assert response.headers["HX-Reswap"] == "outerHTML"
    assert len(stored(app)) == 1


def test_duplicate_means_same_person_post_text_and_day(app, client, post):
    settings(app, flood_seconds=0)
    assert send(client, post).status_code == 303
    # Without an email, the same name and address is the same person.
    assert send(client, post).status_code == 409
    assert send(client, post, ip="192.0.2.50").status_code == 303  # another reader
    assert send(client, post, author_name="Bea").status_code == 303
    assert send(client, post, body="Hello there!").status_code == 303
    # A held duplicate is named as such.
    with app.app_context():
        store.set_status([db.session.get(Comment, stored(app)[0].id)], CommentStatus.PENDING)
        db.session.commit()
    response = send(client, post)
    assert response.status_code == 409 and "waits for moderation" in response.get_data(as_text=True)
    # A day later the same words are welcome again.
    with app.app_context():
        db.session.execute(
            sa.update(Comment).values(created_at=utcnow() - timedelta(days=1, minutes=1))
        )
        db.session.commit()
    assert send(client, post).status_code == 303
    settings(app, refuse_duplicates=False)
    assert send(client, post).status_code == 303


# --- The writer's policy through the real endpoint -----------------------------------------


def test_link_limit_holds_and_blocklist_bins_with_reasons(app, client, post):
    settings(app, flood_seconds=0, blocklist=["casino", "203.0.113.0/24"])
    links = "See https://a.example, https://b.example and www.c.example"
    assert send(client, post, body=links).status_code == 303
    assert send(client, post, body="Best casino bonus").status_code == 303
    assert send(client, post, body="Plain words", ip="203.0.113.9").status_code == 303
    held, casino, address = stored(app)
    assert (held.status, held.reason) == (CommentStatus.PENDING, "3 links (more than 2)")
    assert (casino.status, casino.reason) == (
        CommentStatus.SPAM,
        "Matches the blocklist entry “casino”",
    )
    assert address.status == CommentStatus.SPAM and "203.0.113.0/24" in address.reason
    assert "awaiting moderation" in held_on_page(client, post)


def test_the_writer_is_not_slowed_down(app, client, auth, post):
    factories.writer(app)
    auth.login()
    for i in range(3):
        url, form = page_form(client, post)
        form.update(author_name="Nell", body=f"Reply {i}", issued="")
        assert client.post(url, data=form).status_code == 303
    assert [c.status for c in stored(app)] == [CommentStatus.APPROVED] * 3


# --- Sizes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("author_name", "N" * 101, "Please shorten your name to 100 characters or fewer."),
        (
            "author_email",
            "a" * 250 + "@example.org",
            "An email address has at most 254 characters.",
        ),
        ("author_url", "https://example.org/" + "p" * 500, "Please shorten the web address"),
        ("body", "word " * 2001, "Comments are limited to 10,000 characters"),
    ],
)
@pytest.mark.parametrize("hx", [False, True])
def test_over_limit_field_is_422_in_place_with_everything_kept(
    app, client, post, field, value, message, hx
):
    body = "My long considered words." if field != "body" else value
    response = send(client, post, hx=hx, **{field: value, "body": body})
    assert response.status_code == 422
    doc = parse(response)
    error = doc.xpath(f"//*[@id='comment-{field.replace('_', '-')}-error']")[0]
    assert message in text(error)
    assert textarea(response).replace("\r\n", "\n") == body
    if field != "body":
        assert doc.xpath(f"//input[@name='{field}']/@value")[0] == value
    assert ("<html" in response.get_data(as_text=True)) is not hx
    assert stored(app) == []


def test_over_a_megabyte_with_htmx_is_413_in_the_alert_only(app, client, post):
    url, form = page_form(client, post)
    form.update(author_name="Ada", body="x" * (1024 * 1024 + 1))
    response = client.post(url, data=form, headers={"HX-Request": "true"})
    assert response.status_code == 413
    assert response.headers["HX-Retarget"] == "#comment-form-alert"
    assert response.headers["HX-Reswap"] == "outerHTML"
    alert = parse(response).xpath("//p[@id='comment-form-alert']")[0]
    assert alert.get("role") == "alert"
    assert "at most 1 MB" in text(alert) and "Nothing you typed was lost" in text(alert)
    # Without JavaScript the whole page says the same.
    plain = client.post(url, data=form)
    assert plain.status_code == 413 and "at most 1 MB" in plain.get_data(as_text=True)
    assert stored(app) == []


# --- Several processes: the limits shared through Redis --------------------------------------


@pytest.fixture
def redis_uri():
    """A private Redis on a free loopback port (this test flushes it: never a shared one)."""
    require(shutil.which("redis-server") is not None, "Redis", "redis-server")
    with redis_server() as url:
        yield url


def test_the_flood_limit_is_counted_in_redis(app_config, post, redis_uri):
    """With RATELIMIT_STORAGE_URI=redis://, the count lives in Redis, shared by every worker."""
    import redis

    from blog import create_app

    other = create_app({**app_config, "RATELIMIT_STORAGE_URI": redis_uri})
    store = redis.Redis.from_url(redis_uri)
    try:
        client = other.test_client()
        assert send(client, post).status_code == 303
        assert any(b"comments.create" in key for key in store.keys("*")), store.keys("*")
        assert send(client, post, body="Again at once.").status_code == 429
        # Forget the count in Redis: the process holds none of its own.
        store.flushall()
        assert send(client, post, body="Again, after the flush.").status_code == 303
    finally:
        store.close()
    assert len(stored(other)) == 2
