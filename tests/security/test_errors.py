"""Error pages: a 5xx shows a request id and never a stack trace, SQL or a secret; 413 and 400."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from blog.extensions import db
from tests.helpers.html import csrf_token, main_text, parse


@pytest.fixture
def app_config(app_config):
    # Let the app's own 500 handler answer, as in production (TESTING re-raises by default).
    return {**app_config, "PROPAGATE_EXCEPTIONS": False}


def test_500_page_has_request_id_and_no_internals(app, client, caplog):
    secret = app.config["SECRET_KEY"]

    @app.get("/__boom")
    def boom():
        db.session.execute(sa.text("SELECT secret_column FROM no_such_table_here"))

    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        response = client.get("/__boom", headers={"X-Request-ID": "trace-0123456789"})
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    for leak in ("Traceback", "no_such_table_here", "SELECT", "sqlalchemy", secret, 'File "'):
        assert leak not in body
    assert "Something went wrong on our side" in main_text(body)
    shown = parse(body).find(".//code[@id='request-id']")
    assert shown is not None and shown.text == "trace-0123456789"
    assert response.headers["X-Request-ID"] == "trace-0123456789"
    # The log has what the page hides, under the same id.
    assert "no_such_table_here" in caplog.text
    assert "[request id trace-0123456789]" in caplog.text
    assert "GET /__boom answered 500" in caplog.text


def test_aborted_503_logged_with_request_id(app, client, caplog):
    from flask import abort

    @app.get("/__down")
    def down():
        abort(503)

    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        response = client.get("/__down")
    assert response.status_code == 503
    rid = response.headers["X-Request-ID"]
    assert rid in response.get_data(as_text=True)
    assert f"GET /__down answered 503 [request id {rid}]" in caplog.text


def test_404_page_shows_no_request_id(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert parse(response.data).find(".//code[@id='request-id']") is None


def test_body_over_the_limit_gets_a_friendly_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024

    @app.post("/__upload")
    def upload():
        from flask import request

        return str(len(request.form.get("text", "")))

    token_headers = {"X-CSRFToken": csrf_token(client)}
    response = client.post("/__upload", data={"text": "x" * 70_000}, headers=token_headers)
    assert response.status_code == 413
    text = main_text(response.data)
    assert "That was too much to send" in text
    assert "at most 64 KB" in text
    ok = client.post("/__upload", data={"text": "x" * 1000}, headers=token_headers)
    assert ok.status_code == 200 and ok.text == "1000"


def test_default_limit_is_one_megabyte(app):
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024


def test_missing_csrf_token_is_explained(app, client):
    @app.post("/__form")
    def form():
        return "done"

    response = client.post("/__form", data={"text": "hello"})
    assert response.status_code == 400
    text = main_text(response.data)
    assert "This form could not be sent" in text
    assert "reload the page" in text
