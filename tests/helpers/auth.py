"""Logging a test client in and out as the writer, through the real login form."""

from __future__ import annotations

from tests.helpers.factories import PASSWORD
from tests.helpers.html import csrf_token


def login(client, username: str = "nell", password: str = PASSWORD, **extra):
    """Post the login form (with its CSRF token) and return the response."""
    data = {"username": username, "password": password, "csrf_token": csrf_token(client)}
    data.update(extra)
    return client.post("/login", data=data)


def logout(client):
    """Post the logout button of the back office and return the response."""
    return client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/")})


class AuthActions:
    """The `auth` fixture (as in Flask's tutorial): log one client in and out.

    The account must exist (tests/helpers/factories.writer makes "nell" with PASSWORD).
    """

    def __init__(self, client) -> None:
        self._client = client

    def login(self, username: str = "nell", password: str = PASSWORD, **extra):
        return login(self._client, username, password, **extra)

    def logout(self):
        return logout(self._client)
