"""The spam defences through the real comment endpoint: what each catches, and what it tells.

This module runs with the real defaults: a form sent in under 3 seconds is a robot's, and the
per-IP rate limits are on (conftest's base config turns both off for the other tests).
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

import lxml.html
import pytest
import sqlalchemy as sa
from flask import current_app
from itsdangerous import URLSafeSerializer

from blog.comments import spam, store
from blog.discussion import DiscussionSettings
from blog.extensions import db, limiter
from blog.models import Comment, CommentStatus, Post, utcnow
from blog.permalinks import post_url
from tests.helpers import publish_post
from tests.test_admin_discussion import _settings

CSS = Path(spam.__file__).parents[2] / "static" / "css" / "blog.css"
FORGED = "Form timestamp missing or forged"
TOO_FAST = re.compile(r"You're commenting too fast — try again in (\d+) seconds")


@pytest.fixture
def app_config(app_config):
    return {**app_config, "RATELIMIT_ENABLED": True, "COMMENT_MIN_SECONDS": None}


@pytest.fixture
def post(app) -> Post:
    limiter.reset()
    return publish_post()


settings = _settings  # change the discussion settings, as the back office does


def page_of(post: Post) -> str:
    with current_app.test_request_context():
        return post_url(post)


def parse(response) -> lxml.html.HtmlElement:
    text = response.get_data(as_text=True)
    if "<html" in text:
        return lxml.html.document_fromstring(text)
    return lxml.html.fragment_fromstring(text, create_parent="div")


def page_form(client, post: Post) -> tuple[str, dict[str, str]]:
    """Fetch the post page like a browser; return the comments URL and the form's own fields."""
    page = page_of(post)
    doc = parse(client.get(page))
    form = doc.xpath("//form[@id='comment-form']")[0]
    values = {i.get("name"): i.get("value") or "" for i in form.xpath(".//input[@type='hidden']")}
    return form.get("action"), values


def send(client, post: Post, *, age: float = 60, ip: str = "198.51.100.7", hx=False, **values):
    """Post a comment as a person would: the page's form, filled in `age` seconds later."""
    url, form = page_form(client, post)
    form["issued"] = spam.form_stamp(time.time() - age)
    form.update({"author_name": "Ada", "body": "Hello there."})
    form.update(values)
    headers = {"HX-Request": "true"} if hx else {}
    return client.post(url, data=form, headers=headers, environ_base={"REMOTE_ADDR": ip})


def stored() -> list[Comment]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Comment).order_by(Comment.id)))


def textarea(response) -> str:
    text = parse(response).xpath("//textarea[@name='body']")[0].text or ""
    return text.removeprefix("\r").removeprefix("\n")  # a browser drops the first line break


def held_on_page(client, post: Post) -> str:
    doc = parse(client.get(page_of(post)))
    return " ".join(doc.xpath("//article[contains(@class,'comment-pending')]//text()"))


# --- The robot trap -------------------------------------------------------------------------


def test_honeypot_is_hidden_by_css_from_people_and_screen_readers(client, post):
    doc = parse(client.get(page_of(post)))
    trap = doc.xpath("//form[@id='comment-form']//input[@name='subject']")[0]
    assert trap.get("type") == "text"  # not type=hidden: robots skip those
    assert trap.get("tabindex") == "-1" and trap.get("autocomplete") == "off"
    assert trap.get("style") is None
    box = trap.getparent()
    assert box.get("aria-hidden") == "true" and "form-trap" in box.get("class").split()
    label = box.xpath(".//label[@for=$id]", id=trap.get("id"))[0]
    assert "Leave this field empty" in label.text_content()
    rule = re.search(r"\.form-trap\s*\{([^}]*)\}", CSS.read_text())
    assert rule and "position: absolute" in rule.group(1) and "-10000px" in rule.group(1)


@pytest.mark.parametrize("hx", [False, True])
def test_filled_honeypot_stores_spam_with_a_reason_and_says_it_is_held(client, post, hx):
    response = send(client, post, subject="Buy now", hx=hx)
    assert response.status_code == (200 if hx else 303)
    [comment] = stored()
    assert comment.status == CommentStatus.SPAM
    assert comment.reason == "Filled in the hidden robot trap (honeypot)"
    assert comment.body == "Hello there."  # kept, for the writer to rescue
    if hx:
        assert "awaiting moderation" in response.get_data(as_text=True)
    assert "awaiting moderation" in held_on_page(client, post)


def test_honeypot_setting_off_lets_it_through(client, post):
    settings(honeypot=False)
    assert send(client, post, subject="Anything").status_code == 303
    assert stored()[0].status == CommentStatus.APPROVED


# --- The signed form time -------------------------------------------------------------------


def test_form_carries_a_fresh_signed_time(client, post):
    _, form = page_form(client, post)
    age = spam.stamp_age(form["issued"])
    assert age is not None and 0 <= age < 5


def test_a_shared_pages_form_sent_at_once_is_spam(client, post):
    """The real default (3 s). The page's own stamp is the time the page was made: sent within
    3 s of that, the reader cannot have had the form longer, so it is a robot's."""
    assert current_app.config["COMMENT_MIN_SECONDS"] is None
    assert DiscussionSettings.load().min_seconds == 3
    url, form = page_form(client, post)
    assert spam.read_stamp(form["issued"]).page
    form.update(author_name="Quick", body="Fast fingers.")
    assert client.post(url, data=form).status_code == 303
    [fast] = stored()
    assert fast.status == CommentStatus.SPAM
    assert re.fullmatch(r"Sent \d\.\d s after the page was made \(less than 3 s\)", fast.reason)
    assert "awaiting moderation" in held_on_page(client, post)


def test_with_javascript_the_fresh_stamp_counts(client, post):
    """comments.js fetches a fresh stamp when the reader starts writing: sent at once, it is a
    robot's pace; 3 s later, a person's."""
    stamp = client.get("/comments/stamp")
    assert stamp.status_code == 200 and stamp.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in stamp.headers and "Cookie" not in stamp.headers.get("Vary", "")
    assert not spam.read_stamp(stamp.text).page
    url, form = page_form(client, post)
    form.update(author_name="Quick", body="Fast fingers.", issued=stamp.text)
    assert client.post(url, data=form).status_code == 303
    [fast] = stored()
    assert fast.status == CommentStatus.SPAM
    assert re.fullmatch(r"Sent \d\.\d s after the form was shown \(less than 3 s\)", fast.reason)

    url, form = page_form(client, post)
    form.update(author_name="Patient", body="I thought first.")
    form["issued"] = client.get("/comments/stamp").text
    time.sleep(3.1)
    response = client.post(url, data=form, environ_base={"REMOTE_ADDR": "192.0.2.99"})
    assert response.status_code == 303
    assert stored()[-1].status == CommentStatus.APPROVED


@pytest.mark.parametrize("hx", [False, True])
def test_without_javascript_an_old_page_stamp_asks_once_to_confirm(client, post, hx):
    """The stamp of a page made long ago (a cached page, no JavaScript to refresh it) proves
    nothing: the comment is shown as it will appear, with the form and a fresh stamp; posted
    again at once it is a robot's, after a moment a person's. Nothing counts against the
    flood limit until a comment is stored."""
    url, form = page_form(client, post)
    form["issued"] = spam.page_stamp(time.time() - 600)  # a page cached ten minutes ago
    form.update(author_name="Ada", author_url="ada.example", body="Slow and <em>careful</em>.")
    headers = {"HX-Request": "true"} if hx else {}
    response = client.post(url, data=form, headers=headers)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert stored() == []
    doc = parse(response)
    assert ("<html" in response.get_data(as_text=True)) is not hx
    alert = doc.xpath("//*[@id='comment-form-alert']")[0]
    assert alert.get("hidden") is None and "this is how it will appear" in alert.text_content()
    (preview,) = doc.xpath("//form[@id='comment-form']//div[@class='comment-preview']/article")
    body = lxml.html.tostring(preview.xpath(".//div[contains(@class, 'comment-body')]")[0])
    assert b"<em>careful</em>" in body  # sanitized the way it will be stored
    assert preview.xpath(".//a[@href='https://ada.example']")
    assert textarea(response) == "Slow and <em>careful</em>."
    again = {i.get("name"): i.get("value") or "" for i in doc.xpath("//form//input")}
    again["body"] = textarea(response)
    fresh = spam.read_stamp(again["issued"])
    assert fresh is not None and not fresh.page and fresh.age < 5
    assert doc.xpath("//form//button[@type='submit']")[0].text_content().strip() == "Post comment"

    # Confirmed at once: the fresh stamp says no person read it.
    assert client.post(url, data=again, headers=headers).status_code in (200, 303)
    [hasty] = stored()
    assert hasty.status == CommentStatus.SPAM and "after the form was shown" in hasty.reason

    # Confirmed a moment later (another reader, the same steps): published.
    form.update(body="Second, slower.", author_name="Bea")
    response = client.post(
        url, data=form, headers=headers, environ_base={"REMOTE_ADDR": "192.0.2.8"}
    )
    assert response.status_code == 200 and len(stored()) == 1
    doc = parse(response)
    again = {i.get("name"): i.get("value") or "" for i in doc.xpath("//form//input")}
    again.update(body=textarea(response), issued=spam.form_stamp(time.time() - 4))
    confirmed = client.post(
        url, data=again, headers=headers, environ_base={"REMOTE_ADDR": "192.0.2.8"}
    )
    assert confirmed.status_code == (200 if hx else 303)
    assert stored()[-1].status == CommentStatus.APPROVED and stored()[-1].body == "Second, slower."


def test_the_trap_and_the_writer_are_never_asked_to_confirm(client, post):
    url, form = page_form(client, post)
    form.update(author_name="Bot", body="Buy now", subject="filled", issued=spam.page_stamp(0))
    assert client.post(url, data=form).status_code == 303
    assert stored()[-1].status == CommentStatus.SPAM  # the trap decides at once

    from tests.admin_helpers import login, make_writer

    make_writer()
    login(client)
    url, form = page_form(client, post)
    form.update(author_name="Nell", body="My own words.", issued=spam.page_stamp(0))
    assert client.post(url, data=form).status_code == 303
    assert stored()[-1].status == CommentStatus.APPROVED


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
def test_missing_or_forged_time_is_spam(client, post, issued, reason):
    url, form = page_form(client, post)
    form.update(author_name="Ada", body="Hello there.", issued=issued)
    assert client.post(url, data=form).status_code == 303
    [comment] = stored()
    assert (comment.status, comment.reason) == (CommentStatus.SPAM, reason)


def test_minimum_time_setting_and_config(app_config, client, post):
    settings(min_seconds=0)
    url, form = page_form(client, post)
    form.update(author_name="Ada", body="No stamp, but the check is off.", issued="")
    client.post(url, data=form)
    assert stored()[-1].status == CommentStatus.APPROVED
    settings(min_seconds=120)
    send(client, post, age=60, body="A minute is not enough now.", ip="192.0.2.1")
    assert stored()[-1].status == CommentStatus.SPAM
    assert "(less than 120 s)" in stored()[-1].reason


# --- Flood control --------------------------------------------------------------------------


@pytest.mark.parametrize("hx", [False, True])
def test_second_comment_within_15_seconds_gets_429_and_keeps_the_text(client, post, hx):
    assert send(client, post, hx=hx).status_code in (200, 303)
    response = send(client, post, body="Second thoughts, quickly.", hx=hx)
    assert response.status_code == 429
    message = TOO_FAST.search(" ".join(parse(response).text_content().split()))
    assert message and 1 <= int(message.group(1)) <= 15
    assert 1 <= int(response.headers["Retry-After"]) <= 15
    assert textarea(response) == "Second thoughts, quickly."
    doc = parse(response)
    alert = doc.xpath("//*[@id='comment-form-alert']")[0]
    assert alert.get("role") == "alert" and alert.get("hidden") is None
    assert TOO_FAST.search(alert.text_content())
    if hx:
        assert response.headers["HX-Retarget"] == "#comment-form"
        assert response.headers["HX-Reswap"] == "outerHTML"
        assert "<html" not in response.get_data(as_text=True)
    else:
        assert doc.xpath("//main//h1")  # the whole post page, the form in place
    assert len(stored()) == 1
    # Another address is not slowed down by this one.
    assert send(client, post, body="From elsewhere.", ip="203.0.113.5").status_code == 303


def test_the_pace_limit_lifts_after_the_interval(client, post):
    settings(flood_seconds=2)
    assert send(client, post).status_code == 303
    refused = send(client, post, body="Too soon.")
    assert refused.status_code == 429
    time.sleep(int(refused.headers["Retry-After"]) + 0.2)
    assert send(client, post, body="Now is fine.").status_code == 303


def test_refused_forms_do_not_count_against_the_limit(client, post):
    assert send(client, post, author_name="").status_code == 422
    assert send(client, post).status_code == 303


def test_hourly_cap(client, post):
    settings(flood_seconds=0, hourly_limit=3)
    for i in range(3):
        assert send(client, post, body=f"Comment {i}").status_code == 303
    response = send(client, post, body="One too many")
    assert response.status_code == 429
    seconds = int(TOO_FAST.search(parse(response).text_content()).group(1))
    assert 15 < seconds <= 3600
    assert len(stored()) == 3
    settings(hourly_limit=0)
    assert send(client, post, body="Cap turned off").status_code == 303


# --- Duplicates -----------------------------------------------------------------------------


@pytest.mark.parametrize("hx", [False, True])
def test_same_text_twice_is_refused_with_409_next_to_the_comment(client, post, hx):
    settings(flood_seconds=0)
    assert send(client, post, author_email="ada@example.org").status_code in (200, 303)
    response = send(client, post, author_email="ADA@example.org", hx=hx)
    assert response.status_code == 409
    doc = parse(response)
    error = doc.xpath("//*[@id='comment-body-error']")[0]
    assert "You already sent this comment here today" in error.text_content()
    assert textarea(response) == "Hello there."
    if hx:
        assert response.headers["HX-Reswap"] == "outerHTML"
    assert len(stored()) == 1


def test_duplicate_means_same_person_post_text_and_day(client, post):
    settings(flood_seconds=0)
    assert send(client, post).status_code == 303
    # Without an email, the same name and address is the same person.
    assert send(client, post).status_code == 409
    assert send(client, post, ip="192.0.2.50").status_code == 303  # another reader
    assert send(client, post, author_name="Bea").status_code == 303
    assert send(client, post, body="Hello there!").status_code == 303
    # A held duplicate is named as such.
    store.set_status([stored()[0]], CommentStatus.PENDING)
    db.session.commit()
    response = send(client, post)
    assert response.status_code == 409 and "waits for moderation" in response.get_data(as_text=True)
    # A day later the same words are welcome again.
    for comment in stored():
        comment.created_at = utcnow() - timedelta(days=1, minutes=1)
    db.session.commit()
    assert send(client, post).status_code == 303
    settings(refuse_duplicates=False)
    assert send(client, post).status_code == 303


# --- The writer's policy through the real endpoint -----------------------------------------


def test_link_limit_holds_and_blocklist_bins_with_reasons(client, post):
    settings(flood_seconds=0, blocklist=["casino", "203.0.113.0/24"])
    links = "See https://a.example, https://b.example and www.c.example"
    assert send(client, post, body=links).status_code == 303
    assert send(client, post, body="Best casino bonus").status_code == 303
    assert send(client, post, body="Plain words", ip="203.0.113.9").status_code == 303
    held, casino, address = stored()
    assert (held.status, held.reason) == (CommentStatus.PENDING, "3 links (more than 2)")
    assert (casino.status, casino.reason) == (
        CommentStatus.SPAM,
        "Matches the blocklist entry “casino”",
    )
    assert address.status == CommentStatus.SPAM and "203.0.113.0/24" in address.reason
    assert "awaiting moderation" in held_on_page(client, post)


def test_the_writer_is_not_slowed_down(client, post):
    from tests.admin_helpers import login, make_writer

    make_writer()
    login(client)
    for i in range(3):
        url, form = page_form(client, post)
        form.update(author_name="Nell", body=f"Reply {i}", issued="")
        assert client.post(url, data=form).status_code == 303
    assert [c.status for c in stored()] == [CommentStatus.APPROVED] * 3


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
    client, post, field, value, message, hx
):
    body = "My long considered words." if field != "body" else value
    response = send(client, post, hx=hx, **{field: value, "body": body})
    assert response.status_code == 422
    doc = parse(response)
    error = doc.xpath(f"//*[@id='comment-{field.replace('_', '-')}-error']")[0]
    assert message in error.text_content()
    assert textarea(response).replace("\r\n", "\n") == body
    if field != "body":
        assert doc.xpath(f"//input[@name='{field}']/@value")[0] == value
    assert ("<html" in response.get_data(as_text=True)) is not hx
    assert stored() == []


def test_over_a_megabyte_with_htmx_is_413_in_the_alert_only(client, post):
    url, form = page_form(client, post)
    form.update(author_name="Ada", body="x" * (1024 * 1024 + 1))
    response = client.post(url, data=form, headers={"HX-Request": "true"})
    assert response.status_code == 413
    assert response.headers["HX-Retarget"] == "#comment-form-alert"
    assert response.headers["HX-Reswap"] == "outerHTML"
    alert = parse(response).xpath("//p[@id='comment-form-alert']")[0]
    assert alert.get("role") == "alert"
    assert (
        "at most 1 MB" in alert.text_content()
        and "Nothing you typed was lost" in alert.text_content()
    )
    # Without JavaScript the whole page says the same.
    plain = client.post(url, data=form)
    assert plain.status_code == 413 and "at most 1 MB" in plain.get_data(as_text=True)
    assert stored() == []


# --- Several processes: the limits shared through Redis --------------------------------------


@pytest.fixture
def redis_uri():
    """Start a throwaway Redis on a free loopback port; yield its URI; stop it."""
    import shutil
    import socket
    import subprocess

    from tests.conftest import require

    require(shutil.which("redis-server") is not None, "Redis", "redis-server")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        import redis

        client = redis.Redis(port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(10)


def test_the_flood_limit_is_counted_in_redis(app_config, post, redis_uri):
    """With RATELIMIT_STORAGE_URI=redis://, the count lives in Redis, shared by every worker."""
    import redis

    from blog import create_app

    other = create_app({**app_config, "RATELIMIT_STORAGE_URI": redis_uri})
    store = redis.Redis.from_url(redis_uri)
    try:
        with other.app_context():
            client = other.test_client()
            assert send(client, post).status_code == 303
            assert any(b"comments.create" in key for key in store.keys("*")), store.keys("*")
            assert send(client, post, body="Again at once.").status_code == 429
            # Forget the count in Redis: the process holds none of its own.
            store.flushall()
            assert send(client, post, body="Again, after the flush.").status_code == 303
    finally:
        store.close()
    assert len(stored()) == 2
