"""Wire webmentions into the app: the job kinds of blog.jobs."""

from __future__ import annotations

from flask import Flask

from blog.webmention import models  # noqa: F401


def init_app(app: Flask) -> None:
    pass
