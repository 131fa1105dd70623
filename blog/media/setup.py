"""Wire images into the app: the media folder, the sizes job, and the filesize filter
(blog.sharing reads first_image for link previews; blog.jobs.tasks keeps the worker's heartbeat)."""

from __future__ import annotations

from flask import Flask

from blog.jobs import registry
from blog.media import library, sizes, storage


def filesize(size: int) -> str:
    """Say a file's size the way people read it: 4.2 MB, 380 KB, 900 bytes."""
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB".replace(".0 MB", " MB")
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"


def init_app(app: Flask) -> None:
    storage.init_app(app)
    registry.register(library.SIZES_JOB, sizes.run, sizes.describe)
    app.jinja_env.filters["filesize"] = filesize
