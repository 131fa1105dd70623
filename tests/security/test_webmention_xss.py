"""The XSS corpus in every microformats field of webmention sources: nothing ever runs.

Each payload goes into one source page, raw where a hostile page would put markup (the author's
name, the entry's name and content) and as attribute values (author URL, photo, the entry's URL,
its published time); the pages are replies, likes, reposts and mentions in turn. After the worker
verified them all, the post page, its comment feed, the site's comment feeds, the back office and
the senders' status pages are parsed as a browser would: no script, handler, bad URL scheme or
remote image from a source, anywhere.
"""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa

from blog.extensions import db
from blog.webmention.models import MentionState, Webmention
from tests.helpers.auth import login
from tests.helpers.config import base_config
from tests.helpers.factories import path_of, post, writer
from tests.helpers.html import parse
from tests.helpers.mail import drain
from tests.helpers.sites import Site
from tests.helpers.xss import PAYLOADS, executable_content, feed_html

KINDS = ("u-in-reply-to", "u-like-of", "u-repost-of", "")


@pytest.fixture
def app_config(database_uri) -> dict:
    return base_config(database_uri, FETCH_ALLOW_PRIVATE_ADDRESSES=True)


def hostile_source(target: str, payload: str, kind: str) -> str:
    value = html.escape(payload, quote=True)
    relation = f'<a class="{kind}" href="{target}">re</a>' if kind else f'<a href="{target}">x</a>'
    return f"""<!doctype html><html><body><div class="h-entry">
<div class="p-author h-card"><span class="p-name">{payload}</span>
<a class="u-url" href="{value}">me</a>
<img class="u-photo" src="{value}" alt="{value}"></div>
<h1 class="p-name">{payload}</h1>{relation}
<div class="e-content">{payload} <a href="{value}" title="{value}">a</a> <img src="{value}"></div>
<a class="u-url" href="{value}">here</a><time class="dt-published" datetime="{value}">t</time>
</div></body></html>"""


def test_payloads_in_every_mf2_field_never_execute(app, client):
    writer(app)
    target_post = post(app, "Hostile replies", "Let them try.")
    path = path_of(target_post)
    target = "http://localhost" + path
    locations = []
    with Site() as site:
        for i, payload in enumerate(PAYLOADS):
            source = site.page(f"/s{i}", hostile_source(target, payload, KINDS[i % len(KINDS)]))
            with app.app_context():
                answer = client.post("/webmention", data={"source": source, "target": target})
            assert answer.status_code == 201
            locations.append(answer.headers["Location"])
        assert drain(app) == len(PAYLOADS)
    with app.app_context():
        states = db.session.scalars(sa.select(Webmention.state)).all()
        verified = sum(1 for s in states if s == MentionState.VERIFIED)
        login(client)
    # Nearly every one links and is shown or held (a payload may break its own page's markup).
    assert verified > len(PAYLOADS) * 0.9, verified

    pages = {
        path: "page",
        path + "comments.atom": "feed",
        path + "comments.rss": "feed",
        "/feeds/comments.atom": "feed",
        "/admin/webmentions?per_page=200": "page",
        "/admin/webmentions?per_page=200&page=2": "page",
        "/admin/webmentions?per_page=200&page=3": "page",
        "/admin/comments?status=approved&per_page=200": "page",
        "/admin/comments?status=pending&per_page=200": "page",
        **{location.removeprefix("http://localhost"): "page" for location in locations[::7]},
    }
    problems = {}
    for url, kind in pages.items():
        with app.app_context():
            response = client.get(url)
        assert response.status_code == 200, url
        found = (
            executable_content(response.data)
            if kind == "page"
            else [p for fragment in feed_html(response.data) for p in executable_content(fragment)]
        )
        if kind == "page":
            # No image from a source, ever: only our own (there are none on these pages).
            found += [f"img {img.get('src')}" for img in parse(response.data).iter("img")]
        if found:
            problems[url] = found[:5]
    assert not problems, problems
    with app.app_context():
        page = client.get(path).get_data(as_text=True)
    assert "Liked by" in page and "Reposted by" in page and "Mentioned elsewhere" in page
