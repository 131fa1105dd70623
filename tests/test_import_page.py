"""The back office's Import page: upload, dry run, confirm; limits, CSRF and errors."""

from __future__ import annotations

import io

import pytest

from tests.helpers import factories
from tests.helpers.config import base_config
from tests.helpers.database import counts
from tests.helpers.html import csrf_token, parse, text
from tests.helpers.porting import MT_FILE, WXR_FILE

EMPTY = {"Post": 0, "Comment": 0, "Tag": 0, "LegacyPath": 0}


@pytest.fixture
def app_config(database_uri):
    return base_config(database_uri, IMPORT_MAX_UPLOAD=64 * 1024)


@pytest.fixture
def writer(app, client, auth):
    """A logged-in writer."""
    factories.writer(app)
    auth.login()
    return client


def upload(client, path, **fields):
    data = {
        "csrf_token": csrf_token(client, "/admin/import"),
        "timezone": "UTC",
        "author": "1",
        "export": (
            io.BytesIO(path.read_bytes() if hasattr(path, "read_bytes") else path),
            "export",
        ),
        **fields,
    }
    return client.post("/admin/import", data=data, content_type="multipart/form-data")


def test_the_page_needs_a_login(app, client):
    response = client.get("/admin/import")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post("/admin/import/run").status_code in (302, 400)


def test_the_page_states_its_limit(writer):
    response = writer.get("/admin/import")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Up to 64 KB" in text
    assert 'enctype="multipart/form-data"' in text


def test_dry_run_then_import(app, writer):
    response = upload(writer, MT_FILE)
    assert response.status_code == 200
    doc = parse(response)
    assert "Dry run" in text(doc.find(".//h2[@id='porting-report-title']"))
    posts = text(doc.find(".//dd[@id='report-posts']"))
    assert posts.startswith("7 new (4 published, 1 scheduled, 2 drafts)")
    assert "empty entry" in text(doc.find(".//ul[@id='report-skipped']"))
    assert "boxes.html" in text(doc.find(".//ul[@id='report-pings']"))
    assert "recipe.pdf" in text(doc.find(".//ul[@id='report-old-urls']"))
    assert counts(app) == EMPTY  # a dry run changes nothing

    confirm = doc.find(".//form[@class='porting-confirm']")
    token = confirm.find(".//input[@name='csrf_token']").get("value")
    response = writer.post(confirm.get("action"), data={"csrf_token": token})
    assert response.status_code == 200
    assert "Imported" in response.get_data(as_text=True)
    assert counts(app)["Post"] == 7
    # The file is gone: confirming again imports nothing more.
    again = writer.post(confirm.get("action"), data={"csrf_token": token})
    assert again.status_code == 409
    assert counts(app)["Post"] == 7


def test_a_wordpress_file_too(writer):
    response = upload(writer, WXR_FILE)
    assert response.status_code == 200
    assert "WordPress WXR" in response.get_data(as_text=True)


def test_upload_without_csrf_is_refused(app, writer):
    data = {"timezone": "UTC", "author": "1", "export": (io.BytesIO(MT_FILE.read_bytes()), "x")}
    response = writer.post("/admin/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert counts(app) == EMPTY


def test_too_large_a_file_is_refused_with_the_limit(app, writer):
    big = MT_FILE.read_bytes() * 40  # about 100 KB, over this test's 64 KB
    response = upload(writer, big)
    assert response.status_code == 413
    text = response.get_data(as_text=True)
    assert "larger than 64 KB" in text and "flask --app wsgi import" in text
    assert counts(app) == EMPTY


def test_a_broken_file_names_the_line(app, writer):
    data = MT_FILE.read_bytes()
    cut = data[: data.index(b"Half past twelve")]
    response = upload(writer, cut)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    last_line = cut.count(b"\n")
    assert f"line {last_line}:" in text and "Nothing was changed" in text
    assert counts(app) == EMPTY


def test_bad_fields_keep_what_was_typed(writer):
    response = upload(writer, MT_FILE, timezone="Europe/Atlantis")
    assert response.status_code == 422
    doc = parse(response)
    assert doc.find(".//input[@name='timezone']").get("value") == "Europe/Atlantis"
    assert "Unknown time zone" in response.get_data(as_text=True)


def test_download_the_export(writer, demo):
    response = writer.get("/admin/export.txt")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    # The demo's five posts, its draft and its About page.
    assert response.get_data(as_text=True).count("--------\n") == 7
