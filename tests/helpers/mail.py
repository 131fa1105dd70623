"""Mail in tests: settings that mail through the test server, running the jobs, reading and
following links, the writer's address."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from blog.extensions import db
from blog.jobs import runner
from blog.models import User
from tests.helpers.html import parse, text
from tests.helpers.smtp import Received, SMTPServer


def mail_config(smtp: SMTPServer, tmp_path: Path, **extra) -> dict:
    """Settings that make a test app mail through smtp, with its job queue under tmp_path."""
    return {
        **smtp.config(),
        "SERVER_NAME": "localhost",
        "JOBS_STORAGE_URL": f"sqlite:///{tmp_path / 'queue.sqlite'}",
        **extra,
    }


def set_writer(app: Flask, **values) -> None:
    """Change the writer's row (nell, from factories.writer): email, notify..."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "nell"))
        for name, value in values.items():
            setattr(user, name, value)
        db.session.commit()


def drain(app: Flask) -> int:
    """Run every due job in this process, as `flask --app wsgi worker --drain` does."""
    with app.app_context():
        return runner.run_due()


def links(text_part: str) -> list[str]:
    return re.findall(r"https?://[^\s<>]+", text_part)


def link_to(received: Received, path: str, host: str = "http://localhost") -> str:
    """Return the first link in the mail's text part whose path starts with path."""
    body = received.part("plain")
    found = [url for url in links(body) if url.startswith(host + path)]
    assert found, f"no link to {path} in:\n{body}"
    return found[0]


def confirm(client, received: Received, host: str = "http://localhost") -> None:
    """Follow a confirmation mail's link and press the button on its page."""
    url = link_to(received, "/subscriptions/confirm/", host)
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    token = parse(page).xpath(
        "//form[@class='subscription-form']//input[@name='csrf_token']/@value"
    )
    response = client.post(url, data={"csrf_token": token[0]})
    assert response.status_code == 200, response.status_code
    assert "Confirmed" in text(parse(response).xpath("//h1")[0])
