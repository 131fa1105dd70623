"""The Import page takes a list of old URLs and shows the rescue report; the CSV download."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import sqlalchemy as sa

from blog.extensions import db
from blog.models import LegacyPath
from tests.helpers.auth import login
from tests.helpers.factories import writer
from tests.helpers.html import csrf_token, parse, text
from tests.helpers.vnu import validate

DATA = Path(__file__).parent / "data"
EXPORT = DATA / "typepad-no-basenames.txt"
OLD_URLS = DATA / "typepad-old-urls.txt"


@pytest.fixture
def signed_in(app, client):
    writer(app)
    assert login(client).status_code == 303
    return client


def stored(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(LegacyPath))


def upload(client, **extra):
    data = {
        "csrf_token": csrf_token(client, "/admin/import"),
        "timezone": "America/New_York",
        "author": "1",
        "export": (io.BytesIO(EXPORT.read_bytes()), "typepad.txt"),
        **extra,
    }
    return client.post("/admin/import", data=data, content_type="multipart/form-data")


def test_the_form_offers_a_list_of_old_addresses(signed_in):
    page = parse(signed_in.get("/admin/import"))
    field = page.xpath("//input[@name='old_urls']")[0]
    assert field.get("type") == "file"
    assert "old blog's addresses" in text(page.xpath("//label[@for='old_urls']")[0])


def test_dry_run_with_a_list_then_import(app, signed_in, client, tmp_path):
    folder = Path(app.instance_path) / "imports"
    before = set(folder.glob("*.urls"))
    response = upload(signed_in, old_urls=(io.BytesIO(OLD_URLS.read_bytes()), "urls.txt"))
    kept = set(folder.glob("*.urls")) - before
    assert len(kept) == 1  # the list waits beside the export for the confirmation
    assert response.status_code == 200
    page = parse(response)
    listed = text(page.xpath("//p[@id='rescue-listed']")[0])
    assert listed == "Of the 26 listed addresses, 23 lead somewhere and 3 lead nowhere."
    nowhere = text(page.xpath("//ul[@id='rescue-nowhere']")[0])
    assert "/blog/about.html" in nowhere and "/blog/photos/" in nowhere
    shared = text(page.xpath("//ul[@id='rescue-shared']")[0])
    assert "/2008/03/weekly-links-ma.html" in shared and "“Weekly links: March 8”" in shared
    assert text(page.xpath("//ul[@id='rescue-not-urls']")[0]) == "Line 34: not a url at all"
    redirects = text(page.xpath("//ul[@id='rescue-redirects']")[0])
    assert "/2009/10/what_ive_been_u.html" in redirects
    assert stored(app) == 0  # a dry run changes nothing
    assert client.get("/blog/2009/10/what_ive_been_u.html").status_code != 301
    dry_run_html = response.get_data(as_text=True)

    confirm = page.xpath("//form[@class='porting-confirm']")[0]
    token = confirm.xpath(".//input[@name='csrf_token']/@value")[0]
    done = signed_in.post(confirm.get("action"), data={"csrf_token": token})
    assert done.status_code == 200
    page = parse(done)
    assert "Of the 26 listed addresses, 23 lead somewhere" in text(page)
    assert stored(app) > 100
    # The list was kept with the export until the import: its matches are stored too.
    moved = client.get("/blog/2009/12/year-in-photos.html")
    assert moved.status_code == 301 and moved.headers["Location"].startswith("/2009/12/")
    assert not any(path.exists() for path in kept)

    link = page.xpath("//a[text()='Download every old address and where it leads (CSV)']")
    download = signed_in.get(link[0].get("href"))
    assert download.status_code == 200 and download.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert len(table) == stored(app)
    assert {"/2009/10/what_ive_been_u.html", "/food_drink/", "/atom.xml"} <= {
        row["old_address"] for row in table
    }
    assert validate({"dry-run": dry_run_html, "done": done.get_data(as_text=True)}, tmp_path) == []


def test_the_csv_needs_a_login(app, client):
    response = client.get("/admin/old-addresses.csv")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
