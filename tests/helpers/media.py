"""Uploading images through the real endpoint, and reading the files it stored and serves."""

from __future__ import annotations

import io
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from blog.extensions import db
from blog.media.models import MediaFile
from tests.helpers.html import csrf_token


def multipart(fields: dict) -> tuple[bytes, str]:
    """Encode a form in memory: the test client spools bodies over 500 KB to a temporary
    file it never closes (a ResourceWarning, an error in this suite)."""
    boundary, body = encode_multipart(fields)
    return body, f"multipart/form-data; boundary={boundary}"


def upload(client, data: bytes, name: str = "photo.jpg", *, as_json: bool = True, token: str = ""):
    """POST one file to /admin/media as the editor's uploader (JSON) or the library's form."""
    token = token or csrf_token(client, "/admin/media")
    form: dict = {"file": FileStorage(io.BytesIO(data), filename=name)}
    if as_json:
        headers = {"Accept": "application/json", "X-CSRFToken": token}
    else:
        headers = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
        form["csrf_token"] = token
    body, content_type = multipart(form)
    return client.post("/admin/media", data=body, headers=headers, content_type=content_type)


def stored_files(app: Flask) -> list[str]:
    """Every file below the media folder (temporary ones included), as relative paths."""
    root = Path(app.config["MEDIA_FOLDER"])
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def media_rows(app: Flask) -> list[MediaFile]:
    with app.app_context():
        rows = db.session.scalars(sa.select(MediaFile).order_by(MediaFile.id)).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)


def srcset_urls(srcset: str) -> list[tuple[str, int]]:
    """[(url, width)] of a srcset like "/a-480.jpg 480w, /a-960.jpg 960w"."""
    pairs = []
    for candidate in srcset.split(","):
        url, descriptor = candidate.split()
        pairs.append((url, int(descriptor.rstrip("w"))))
    return pairs


def fetch(client, path: str, method: str = "GET", **kwargs):
    """Request a file and close the response (the test client leaves a served file open
    until then; a WSGI server closes it itself)."""
    response = client.open(path, method=method, **kwargs)
    response.get_data()
    response.close()
    return response
