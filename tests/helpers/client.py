"""A test client whose every request runs in an app context of its own, as in production.

While a test holds an app context open, Flask reuses it for each request, and `g` with it:
Flask-Login's user and Flask-WTF's token then leak from one request (one client) to the next.
Tests of sessions must see each browser alone. With the `app` fixture out of any context this
changes nothing; with it inside one, it restores what production does.
"""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient


class IsolatedClient(FlaskClient):
    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


def isolated_clients(app: Flask) -> Flask:
    """Make app.test_client() return IsolatedClient from now on; return app."""
    app.test_client_class = IsolatedClient
    return app
