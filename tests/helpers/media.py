"""Uploading images through the real endpoint, and reading the files it stored and serves."""

from __future__ import annotations

import io
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from blog.extensions import db
from blog.media.models import MediaFile
from tests.helpers.html import csrf_token


def upload(client, data: bytes, name: str = "photo.jpg", *, as_json: bool = True, token: str = ""):
    """POST one file to /admin/media as the editor's uploader (JSON) or the library's form."""
    token = token or csrf_token(client, "/admin/media")
    form: dict = {"file": (io.BytesIO(data), name)}
    headers = {}
    if as_json:
        headers = {"Accept": "application/json", "X-CSRFToken": token}
    else:
        headers = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
        form["csrf_token"] = token
    return client.post(
        "/admin/media", data=form, headers=headers, content_type="multipart/form-data"
    )


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
