"""Accounts: the first-run setup token, password rules, safe redirects after login."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from blog.demo import AUTHOR as DEMO_AUTHOR
from blog.extensions import db
from blog.models import Setting, User

SETUP_TOKEN_KEY = "setup_token_sha256"
MIN_PASSWORD_LENGTH = 12

# The most common passwords of at least 12 characters in public breach lists, and a few
# obvious ones for a blog; a long password on this list is still guessed first.
COMMON_PASSWORDS = frozenset(
    """
    123456789012 1234567890123 12345678901234 123123123123 111111111111 000000000000
    123456123456 qwertyuiopas qwertyuiop123 qwerty123456 1q2w3e4r5t6y 1qaz2wsx3edc
    passwordpassword password1234 password12345 password123456 passw0rd1234
    iloveyou1234 welcome12345 letmein12345 administrator admin1234567 adminadmin12
    changeme1234 blogpassword mypassword12 mypassword123 secretpassword superpassword
    abcdefghijkl abc123abc123 aaaaaaaaaaaa trustno1trustno1 football1234 baseball1234
    princess1234 sunshine1234 starwars1234 qwertyqwerty asdfghjklzxc zxcvbnmasdfg
    correcthorsebatterystaple
    """.split()
)


def has_account() -> bool:
    """Return True once someone can log in: a user with a password exists."""
    return bool(db.session.scalar(sa.select(User.id).where(User.password_hash != "").limit(1)))


def password_problem(password: str, username: str = "") -> str | None:
    """Return why a password is too weak, or None when it will do."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters (a few words make a good one)."
    folded = password.casefold()
    if folded in COMMON_PASSWORDS or len(set(folded)) < 4:
        return "That password is among the first ones attackers try; choose another."
    if username and username.casefold() in folded:
        return "The password must not contain the username."
    return None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_setup_token() -> str:
    """Make a fresh one-time setup token, keep only its hash, and return it (commits)."""
    token = secrets.token_urlsafe(32)
    Setting.put(SETUP_TOKEN_KEY, _digest(token), shown=False)
    db.session.commit()
    return token


def setup_token_valid(token: str) -> bool:
    """Return True when token is the current setup token (compared in constant time)."""
    stored = Setting.get(SETUP_TOKEN_KEY)
    if not stored or not token:
        return False
    return hmac.compare_digest(_digest(token), stored)


def forget_setup_token() -> None:
    """Drop the setup token so its link can never be used again."""
    Setting.delete(SETUP_TOKEN_KEY)


def save_account(
    username: str, display_name: str, password: str, email: str = ""
) -> tuple[User, str]:
    """Create or reset the account username; return it and what happened (the caller commits).

    email, when given, becomes the address of the writer's notifications (typed by the writer
    on the setup page or in a shell: no confirmation mail).

    While nobody can log in yet, a new account takes over the passwordless demo author, so the
    demo posts become the writer's.
    """
    user = db.session.scalar(sa.select(User).where(User.username == username))
    done = "reset"
    if user is None:
        user = None if has_account() else _passwordless_demo_author()
        if user is not None:
            done = f"took over the demo author {user.username!r} as"
            user.username = username
        else:
            done = "created"
            user = User(username=username, display_name=display_name or username)
            db.session.add(user)
    if display_name:
        user.display_name = display_name
    if email:
        user.email = email.strip()
        user.email_pending = ""
    user.set_password(password)
    forget_setup_token()
    db.session.flush()
    return user, done


def _passwordless_demo_author() -> User | None:
    return db.session.scalar(
        sa.select(User).where(User.username == DEMO_AUTHOR["username"], User.password_hash == "")
    )


_DUMMY_HASH: list[str] = []


def authenticate(username: str, password: str) -> User | None:
    """Return the user when username and password match; as slow for unknown names."""
    user = db.session.scalar(sa.select(User).where(User.username == username.strip()))
    if user is None or not user.password_hash:
        # Spend the same time hashing so response times do not reveal which names exist.
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(generate_password_hash(secrets.token_hex(8)))
        check_password_hash(_DUMMY_HASH[0], password)
        return None
    return user if user.check_password(password) else None


def safe_next(target: str | None) -> str | None:
    """Return target when it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    target = target.strip()
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
