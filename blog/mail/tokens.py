"""The signed links in mails: confirm an address, unsubscribe (one click), manage, and the
writer's new address. Each is signed with the site's secret under its own salt, so one kind
of link cannot be used as another; a token names a row and its key, never an address (links
end up in logs and browser histories).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

from blog.extensions import db
from blog.mail.models import MailAddress
from blog.models import Post, User

CONFIRM = "mail-confirm"
UNSUBSCRIBE = "mail-unsubscribe"
MANAGE = "mail-manage"
NEW_EMAIL = "mail-new-email"


class LinkError(Exception):
    """A link that was forged, mangled, or is too old; expired says which."""

    def __init__(self, expired: bool = False) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def _plain(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=salt)


def _timed(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=salt)


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _load(salt: str, token: str, max_age: int | None = None) -> dict[str, Any]:
    try:
        if max_age is None:
            value = _plain(salt).loads(token)
        else:
            value = _timed(salt).loads(token, max_age=max_age)
    except SignatureExpired as error:
        raise LinkError(expired=True) from error
    except (BadSignature, UnicodeError, ValueError) as error:
        raise LinkError() from error
    if not isinstance(value, dict):
        raise LinkError()
    return value


def _address(value: dict[str, Any]) -> MailAddress:
    address_id = value.get("a")
    address = db.session.get(MailAddress, address_id) if isinstance(address_id, int) else None
    if address is None or address.key != value.get("k"):
        raise LinkError()
    return address


# --- A reader's address ---------------------------------------------------------------------


def confirm_token(address: MailAddress) -> str:
    return _timed(CONFIRM).dumps({"a": address.id, "k": address.key})


def load_confirm(token: str) -> MailAddress:
    """Return the address a confirmation link names (LinkError when forged or expired)."""
    return _address(_load(CONFIRM, token, current_app.config["MAIL_CONFIRM_MAX_AGE"]))


def manage_token(address: MailAddress) -> str:
    return _plain(MANAGE).dumps({"a": address.id, "k": address.key})


def load_manage(token: str) -> MailAddress:
    return _address(_load(MANAGE, token))


@dataclass(frozen=True)
class Unsubscribe:
    """What a one-click link stops: an address's mail about one post (or all), or the writer's."""

    address: MailAddress | None = None
    post: Post | None = None
    writer: User | None = None


def unsubscribe_token(address: MailAddress, post: Post | None = None) -> str:
    """A reader's one-click link: stop mail about post, or every mail when post is None."""
    return _plain(UNSUBSCRIBE).dumps(
        {"a": address.id, "k": address.key, "p": post.id if post else 0}
    )


def writer_unsubscribe_token(user: User) -> str:
    """The writer's one-click link: stop mail about comments (the address it was sent to)."""
    return _plain(UNSUBSCRIBE).dumps({"w": user.id, "h": _short_hash(user.email)})


def load_unsubscribe(token: str) -> Unsubscribe:
    value = _load(UNSUBSCRIBE, token)
    if "w" in value:
        user = db.session.get(User, value["w"]) if isinstance(value["w"], int) else None
        if user is None or not user.email or _short_hash(user.email) != value.get("h"):
            raise LinkError()
        return Unsubscribe(writer=user)
    address = _address(value)
    post_id = value.get("p")
    post = db.session.get(Post, post_id) if isinstance(post_id, int) and post_id else None
    return Unsubscribe(address=address, post=post)


# --- The writer's new address ----------------------------------------------------------------


def new_email_token(user: User) -> str:
    return _timed(NEW_EMAIL).dumps({"u": user.id, "h": _short_hash(user.email_pending)})


def load_new_email(token: str, user: User) -> str:
    """Return the pending address the link confirms, for this user (LinkError otherwise)."""
    value = _load(NEW_EMAIL, token, current_app.config["MAIL_CONFIRM_MAX_AGE"])
    pending = user.email_pending
    if value.get("u") != user.id or not pending or _short_hash(pending) != value.get("h"):
        raise LinkError()
    return pending
