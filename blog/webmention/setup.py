"""Wire webmentions into the app: the job kinds of blog.jobs, and what templates use."""

from __future__ import annotations

from flask import Flask

from blog.jobs import registry
from blog.webmention import send, verify
from blog.webmention.parse import site_name


def init_app(app: Flask) -> None:
    registry.register("webmention.verify", verify.verify, verify.describe)
    registry.register("webmention.send", send.send, send.describe)
    app.add_template_filter(site_name, "site")
    app.add_template_global(send.report, "sent_webmentions")
