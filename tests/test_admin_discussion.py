"""Discussion settings: defaults, the settings page, moderation_verdict() and auto_closed()."""

from __future__ import annotations

from datetime import timedelta

import pytest

from blog.discussion import (
    DiscussionSettings,
    Moderation,
    auto_closed,
    blocklist_match,
    count_links,
    moderation_verdict,
)
from blog.extensions import db
from blog.models import CommentStatus, Post, PostStatus, Setting, utcnow
from tests.helpers import factories
from tests.helpers.html import csrf_token, errors_by_field, parse


@pytest.fixture
def post(app) -> Post:
    return factories.post(app, "A post", "Text", published_at=utcnow() - timedelta(days=10))


def verdict(app, post, body="Nice post.", email="reader@example.org", ip="192.0.2.1"):
    """Ask the policy about a comment, in an app context of its own as each request is."""
    with app.app_context():
        return moderation_verdict(post, author_email=email, body=body, ip=ip)


def closed(app, post) -> bool:
    with app.app_context():
        return auto_closed(post)


def loaded(app) -> DiscussionSettings:
    with app.app_context():
        return DiscussionSettings.load()


def test_defaults_publish_everything(app, post):
    assert loaded(app) == DiscussionSettings(
        moderation=Moderation.PUBLISH_ALL, close_after_days=0, max_links=2, blocklist=[]
    )
    assert verdict(app, post) is None
    assert not closed(app, post)


def test_settings_round_trip_through_the_database(app):
    with app.app_context():
        DiscussionSettings(
            moderation=Moderation.HOLD_ALL, close_after_days=30, max_links=5, blocklist=["casino"]
        ).save()
        db.session.commit()
    assert loaded(app) == DiscussionSettings(
        moderation=Moderation.HOLD_ALL, close_after_days=30, max_links=5, blocklist=["casino"]
    )


def test_settings_are_read_once_per_request_and_fresh_in_the_next(app):
    """A request keeps what it read (one query per page); a change shows in the next one."""
    with app.app_context():
        first = DiscussionSettings.load()
        Setting.put("discussion", {"max_links": 7})  # another process changes them
        db.session.commit()
        assert DiscussionSettings.load() is first  # the same request: what it read
    assert loaded(app).max_links == 7  # the next request reads again


def test_hold_all(app, post):
    factories.discussion(app, moderation=Moderation.HOLD_ALL)
    assert verdict(app, post) == (CommentStatus.PENDING, "Every comment is held for moderation")


def test_hold_first_time_commenters_trusts_an_approved_email(app, post):
    factories.discussion(app, moderation=Moderation.HOLD_FIRST_TIME)
    status, reason = verdict(app, post, email="new@example.org")
    assert status == CommentStatus.PENDING and "First comment" in reason
    assert verdict(app, post, email="")[0] == CommentStatus.PENDING
    # A pending or spam comment earns no trust; an approved one does (case-insensitively).
    factories.comment(
        app, post, "x", author_name="N", author_email="new@example.org", status="pending"
    )
    assert verdict(app, post, email="new@example.org") is not None
    factories.comment(app, post, "x", author_name="N", author_email="New@Example.org")
    assert verdict(app, post, email="NEW@example.org ") is None


def test_more_links_than_the_limit_are_held(app, post):
    two = "See https://a.example and http://b.example"
    three = two + " and www.c.example"
    assert verdict(app, post, body=two) is None
    status, reason = verdict(app, post, body=three)
    assert status == CommentStatus.PENDING and reason == "3 links (more than 2)"
    factories.discussion(app, max_links=0)
    assert verdict(app, post, body='<a href="https://x.example">x</a>')[0] == CommentStatus.PENDING
    assert verdict(app, post, body="no links") is None


def test_count_links():
    assert count_links("plain") == 0
    assert count_links('https://a <a href="/x">x</a> www.b.example HTTP://C') == 4


@pytest.mark.parametrize(
    ("entry", "kwargs", "matches"),
    [
        ("casino", {"body": "Best CASINO online"}, True),
        ("casino", {"body": "casinos"}, False),  # whole words only
        ("cheap pills", {"body": "Buy cheap pills now"}, True),
        ("spam@bad.example", {"author_email": "Spam@Bad.example"}, True),
        ("spam@bad.example", {"author_email": "ham@bad.example"}, False),
        ("@bad.example", {"author_email": "anyone@bad.example"}, True),
        ("@bad.example", {"author_email": "anyone@notbad.example.org"}, False),
        ("203.0.113.9", {"ip": "203.0.113.9"}, True),
        ("203.0.113.9", {"ip": "203.0.113.99"}, False),
        ("203.0.113.0/24", {"ip": "203.0.113.200"}, True),
        ("2001:db8::/32", {"ip": "2001:db8::1"}, True),
        ("2001:db8::/32", {"ip": "not an ip"}, False),
    ],
)
def test_blocklist_entries(entry, kwargs, matches):
    fields = {"author_email": "", "body": "", "ip": "", **kwargs}
    assert (blocklist_match([entry], **fields) == entry) is matches


def test_blocklist_sends_to_spam_before_anything_else(app, post):
    factories.discussion(
        app, moderation=Moderation.HOLD_ALL, blocklist=["viagra", "198.51.100.0/24"]
    )
    status, reason = verdict(app, post, body="Cheap Viagra here")
    assert status == CommentStatus.SPAM and "viagra" in reason
    assert verdict(app, post, ip="198.51.100.23")[0] == CommentStatus.SPAM
    assert verdict(app, post)[0] == CommentStatus.PENDING


def test_auto_close_after_n_days(app, post):
    assert not closed(app, post)
    factories.discussion(app, close_after_days=30)
    assert not closed(app, post)  # ten days old
    factories.discussion(app, close_after_days=7)
    assert closed(app, post)
    post.published_at = utcnow() - timedelta(days=6, hours=23)
    assert not closed(app, post)
    draft = Post(status=PostStatus.DRAFT, published_at=None)
    assert not closed(app, draft)


def test_unreadable_stored_settings_fall_back_to_defaults(app):
    with app.app_context():
        Setting.put("discussion", {"moderation": "bogus", "max_links": -3, "close_after_days": "x"})
        db.session.commit()
    assert loaded(app) == DiscussionSettings()


# --- The settings page ---------------------------------------------------------------------------


@pytest.fixture
def client_in(app, client, auth):
    factories.writer(app)
    auth.login()
    return client


def test_settings_page_saves_the_policy(app, client_in):
    tree = parse(client_in.get("/admin/settings"))
    checked = tree.find(".//input[@name='moderation'][@checked]")
    assert checked.get("value") == "publish_all"
    assert tree.find(".//input[@name='max_links']").get("value") == "2"
    response = client_in.post(
        "/admin/settings",
        data={
            "csrf_token": csrf_token(client_in, "/admin/settings"),
            "moderation": "hold_first_time",
            "close_after_days": "14",
            "max_links": "3",
            "blocklist": "casino\r\n\r\n  @bad.example \r\nCASINO\r\n10.0.0.0/8",
            # The spam defences: the honeypot box left unticked turns it off.
            "min_seconds": "5",
            "flood_seconds": "30",
            "hourly_limit": "0",
            "refuse_duplicates": "y",
        },
    )
    assert response.status_code == 303
    assert loaded(app) == DiscussionSettings(
        moderation=Moderation.HOLD_FIRST_TIME,
        close_after_days=14,
        max_links=3,
        blocklist=["casino", "@bad.example", "10.0.0.0/8"],
        honeypot=False,
        min_seconds=5,
        flood_seconds=30,
        hourly_limit=0,
        refuse_duplicates=True,
    )
    tree = parse(client_in.get("/admin/settings"))
    assert tree.find(".//textarea[@name='blocklist']").text.strip() == (
        "casino\n@bad.example\n10.0.0.0/8"
    )
    assert tree.find(".//input[@name='honeypot']").get("checked") is None
    assert tree.find(".//input[@name='refuse_duplicates']").get("checked") is not None
    assert tree.find(".//input[@name='min_seconds']").get("value") == "5"
    assert tree.find(".//input[@name='hourly_limit']").get("value") == "0"


def test_settings_page_refuses_bad_numbers_keeping_the_rest(app, client_in):
    response = client_in.post(
        "/admin/settings",
        data={
            "csrf_token": csrf_token(client_in, "/admin/settings"),
            "moderation": "hold_all",
            "close_after_days": "-1",
            "max_links": "lots",
            "blocklist": "casino",
        },
    )
    assert response.status_code == 422
    errors = errors_by_field(response)
    assert "close_after_days" in errors and "max_links" in errors
    tree = parse(response)
    assert tree.find(".//textarea[@name='blocklist']").text.strip() == "casino"
    assert tree.find(".//input[@name='moderation'][@checked]").get("value") == "hold_all"
    assert loaded(app) == DiscussionSettings()
