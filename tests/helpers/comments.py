"""Posting the comment form as a reader does: read it from the post page, fill it in, send it."""

from __future__ import annotations

from tests.helpers.factories import path_of
from tests.helpers.html import form_fields


def send_comment(client, post, *, htmx: bool = False, **values: str):
    """GET the post page, fill the comment form with values (field names of the form), POST it.

    Every other field is sent as the page had it (CSRF token, form time, "No email" ticked).
    """
    page = client.get(path_of(post))
    assert page.status_code == 200, page.status_code
    action, fields = form_fields(page, page.request.host_url, "//form[@id='comment-form']")
    data = dict(fields)
    data.update(values)
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(action, data=data, headers=headers)
