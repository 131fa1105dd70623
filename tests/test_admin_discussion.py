"""Discussion settings: defaults, the settings page, moderation_verdict() and auto_closed()."""

from __future__ import annotations

from datetime import timedelta

import pytest

from blog.comments.store import add_comment
from blog.content import save_post
from blog.discussion import (
    DiscussionSettings,
    Moderation,
    auto_closed,
    blocklist_match,
    count_links,
    moderation_verdict,
)
from blog.extensions import db
from blog.models import CommentStatus, Post, PostStatus, User, utcnow
from tests.admin_helpers import NS, csrf_token, errors_by_field, login, make_writer, parse


@pytest.fixture
def post(app) -> Post:
    author = User(username="a", display_name="A", password_hash="")
    db.session.add(author)
    db.session.flush()
    post = save_post(
        Post(),
        title="A post",
        body="Text",
        author_id=author.id,
        tags=[],
        status=PostStatus.PUBLISHED,
        published_at=utcnow() - timedelta(days=10),
    )
    db.session.commit()
    return post


def _settings(**changes) -> None:
    settings = DiscussionSettings.load()
    for key, value in changes.items():
        setattr(settings, key, value)
    settings.save()
    db.session.commit()


def verdict(post, body="Nice post.", email="reader@example.org", ip="192.0.2.1"):
    return moderation_verdict(post, author_email=email, body=body, ip=ip)


def test_defaults_publish_everything(post):
    settings = DiscussionSettings.load()
    assert settings == DiscussionSettings(
        moderation=Moderation.PUBLISH_ALL, close_after_days=0, max_links=2, blocklist=[]
    )
    assert verdict(post) is None
    assert not auto_closed(post)


def test_settings_round_trip_through_the_database(app):
    DiscussionSettings(
        moderation=Moderation.HOLD_ALL, close_after_days=30, max_links=5, blocklist=["casino"]
    ).save()
    db.session.commit()
    db.session.expire_all()
    assert DiscussionSettings.load() == DiscussionSettings(
        moderation=Moderation.HOLD_ALL, close_after_days=30, max_links=5, blocklist=["casino"]
    )


def test_hold_all(post):
    _settings(moderation=Moderation.HOLD_ALL)
    assert verdict(post) == (CommentStatus.PENDING, "Every comment is held for moderation")


def test_hold_first_time_commenters_trusts_an_approved_email(post):
    _settings(moderation=Moderation.HOLD_FIRST_TIME)
    status, reason = verdict(post, email="new@example.org")
    assert status == CommentStatus.PENDING and "First comment" in reason
    assert verdict(post, email="")[0] == CommentStatus.PENDING
    # A pending or spam comment earns no trust; an approved one does (case-insensitively).
    add_comment(post, author_name="N", author_email="new@example.org", body="x", status="pending")
    db.session.commit()
    assert verdict(post, email="new@example.org") is not None
    add_comment(post, author_name="N", author_email="New@Example.org", body="x")
    db.session.commit()
    assert verdict(post, email="NEW@example.org ") is None


def test_more_links_than_the_limit_are_held(post):
    two = "See https://a.example and http://b.example"
    three = two + " and www.c.example"
    assert verdict(post, body=two) is None
    status, reason = verdict(post, body=three)
    assert status == CommentStatus.PENDING and reason == "3 links (more than 2)"
    _settings(max_links=0)
    assert verdict(post, body='<a href="https://x.example">x</a>')[0] == CommentStatus.PENDING
    assert verdict(post, body="no links") is None


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


def test_blocklist_sends_to_spam_before_anything_else(post):
    _settings(moderation=Moderation.HOLD_ALL, blocklist=["viagra", "198.51.100.0/24"])
    status, reason = verdict(post, body="Cheap Viagra here")
    assert status == CommentStatus.SPAM and "viagra" in reason
    assert verdict(post, ip="198.51.100.23")[0] == CommentStatus.SPAM
    assert verdict(post)[0] == CommentStatus.PENDING


def test_auto_close_after_n_days(post):
    assert not auto_closed(post)
    _settings(close_after_days=30)
    assert not auto_closed(post)  # ten days old
    _settings(close_after_days=7)
    assert auto_closed(post)
    post.published_at = utcnow() - timedelta(days=6, hours=23)
    assert not auto_closed(post)
    draft = Post(status=PostStatus.DRAFT, published_at=None)
    assert not auto_closed(draft)


def test_unreadable_stored_settings_fall_back_to_defaults(app):
    from blog.models import Setting

    Setting.put("discussion", {"moderation": "bogus", "max_links": -3, "close_after_days": "x"})
    db.session.commit()
    assert DiscussionSettings.load() == DiscussionSettings()


# --- The settings page ---------------------------------------------------------------------------


@pytest.fixture
def client_in(app, client):
    make_writer()
    login(client)
    return client


def test_settings_page_saves_the_policy(client_in):
    tree = parse(client_in.get("/admin/settings").data)
    checked = tree.find(".//h:input[@name='moderation'][@checked]", NS)
    assert checked.get("value") == "publish_all"
    assert tree.find(".//h:input[@name='max_links']", NS).get("value") == "2"
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
    db.session.expire_all()
    assert DiscussionSettings.load() == DiscussionSettings(
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
    tree = parse(client_in.get("/admin/settings").data)
    assert tree.find(".//h:textarea[@name='blocklist']", NS).text.strip() == (
        "casino\n@bad.example\n10.0.0.0/8"
    )
    assert tree.find(".//h:input[@name='honeypot']", NS).get("checked") is None
    assert tree.find(".//h:input[@name='refuse_duplicates']", NS).get("checked") is not None
    assert tree.find(".//h:input[@name='min_seconds']", NS).get("value") == "5"
    assert tree.find(".//h:input[@name='hourly_limit']", NS).get("value") == "0"


def test_settings_page_refuses_bad_numbers_keeping_the_rest(client_in):
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
    errors = errors_by_field(response.data)
    assert "close_after_days" in errors and "max_links" in errors
    tree = parse(response.data)
    assert tree.find(".//h:textarea[@name='blocklist']", NS).text.strip() == "casino"
    assert tree.find(".//h:input[@name='moderation'][@checked]", NS).get("value") == "hold_all"
    assert DiscussionSettings.load() == DiscussionSettings()
