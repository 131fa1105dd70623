"""Helpers for the back-office tests: a writer account, CSRF tokens, logging in."""

from __future__ import annotations

import html5lib
from flask import g
from flask.testing import FlaskClient

from blog.extensions import db
from blog.models import User

PASSWORD = "a long walk by the sea"
NS = {"h": "http://www.w3.org/1999/xhtml"}


def make_writer(username: str = "nell", display_name: str = "Nell Carrow") -> User:
    user = User(username=username, display_name=display_name, password_hash="")
    user.set_password(PASSWORD)
    db.session.add(user)
    db.session.commit()
    return user


def parse(html: bytes | str):
    """Parse an HTML page into an ElementTree (namespaced with NS)."""
    return html5lib.parse(html)


def csrf_token(client: FlaskClient, url: str = "/login") -> str:
    """Return this client's CSRF token, read from a form on url."""
    # The app fixture keeps one app context (and so one `g`) across requests; Flask-WTF caches
    # the token in g, which would hand one client's token to another.
    g.pop("csrf_token", None)
    tree = parse(client.get(url).data)
    field = tree.find(".//h:input[@name='csrf_token']", NS)
    assert field is not None, f"no CSRF field on {url}"
    return field.get("value")


def login(client: FlaskClient, username: str = "nell", password: str = PASSWORD, **extra):
    data = {"username": username, "password": password, "csrf_token": csrf_token(client)}
    data.update(extra)
    return client.post("/login", data=data)


def text_of(element) -> str:
    return " ".join("".join(element.itertext()).split())


def errors_by_field(html: bytes) -> dict[str, str]:
    """Map field ids to the error message shown next to them."""
    tree = parse(html)
    return {
        p.get("id").removesuffix("-error"): text_of(p)
        for p in tree.iterfind(".//h:p[@class='field-error']", NS)
        if p.get("id")
    }
