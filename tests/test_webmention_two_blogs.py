"""Two blogs talk: A answers B's post on A's own blog, and the reply shows under B's post.

Each blog is a real server on loopback with its own database (B on the engine of this pass, A on
an SQLite file) and its own worker, drained in this process. A's writer uses A's real editor
("In reply to" and a link); everything between the blogs goes over HTTP: A's worker discovers
B's endpoint and sends, B's worker fetches A's post and reads its microformats.
"""

from __future__ import annotations

import mf2py
import pytest

from blog import fetch
from blog.webmention.parse import primary_entry
from tests.helpers.blogs import running_blogs, sqlite_copy
from tests.helpers.config import base_config
from tests.helpers.factories import path_of, post
from tests.helpers.html import parse, text
from tests.helpers.sites import Site


@pytest.fixture
def blogs(database_uri, migrated_sqlite, tmp_path):
    a_db = sqlite_copy(migrated_sqlite, tmp_path, "a")
    settings = {"FETCH_ALLOW_PRIVATE_ADDRESSES": True, "FETCH_TOTAL_TIMEOUT": 10}
    with running_blogs(
        base_config(a_db, SITE_TITLE="Blog A", **settings),
        base_config(database_uri, SITE_TITLE="Blog B", **settings),
    ) as (a, b):
        a.login("ana", "Ana Amsel")
        yield a, b


def replies_on(blog, path: str) -> list:
    return parse(blog.get(path)).xpath("//article[contains(@class, 'comment-webmention')]")


def test_a_reply_written_on_a_goes_under_bs_post(blogs):
    a, b = blogs
    b_post = post(b.app, "On gardens", "Gardens are slow.")
    b_path = path_of(b_post)
    b_url = b.url + b_path

    # A answers on A's blog: "In reply to" B's post, and a link to it in the text.
    a_id = a.publish(
        "Re: gardens", f"[Gardens]({b_url}) are *fast* if you look closely.", in_reply_to=b_url
    )
    a_page = a.get(f"/admin/posts/{a_id}/edit")
    assert "1 waiting to be sent" in text(parse(a_page).xpath("//p[@id='sent-summary']")[0])
    assert a.work() == 1  # one job: the link and "in reply to" are the same page
    summary = parse(a.get(f"/admin/posts/{a_id}/edit")).xpath("//p[@id='sent-summary']")[0]
    assert text(summary) == "Sent to 1 site."

    # A's post carries what B reads: an h-entry replying to B's post, with author and text.
    a_url = parse(a.get(f"/admin/posts/{a_id}/edit")).xpath("//a[.='View the post']/@href")[0]
    a_url = a.url + a_url
    entry = primary_entry(mf2py.parse(doc=a.get(a_url).get_data(as_text=True), url=a_url))
    props = entry["properties"]
    assert props["in-reply-to"] == [b_url] and props["name"] == ["Re: gardens"]
    assert props["url"] == [a_url] and props["published"][0].endswith("Z")
    assert props["author"][0]["properties"]["name"] == ["Ana Amsel"]
    assert "fast" in props["content"][0]["html"]

    assert b.work() == 1
    (reply,) = replies_on(b, b_path)
    assert "Ana Amsel" in text(reply) and "replied on 127.0.0.1" in text(reply)
    assert reply.xpath(".//span[@class='comment-via']/a/@href") == [a_url]
    assert reply.xpath(".//em")[0].text == "fast"
    assert "1 comment" in text(parse(b.get(b_path)).xpath("//span[@id='comment-count']")[0])

    # A edits: B's copy follows.
    a.publish(
        "Re: gardens",
        f"On second thought, [gardens]({b_url}) are slow.",
        in_reply_to=b_url,
        post_id=a_id,
    )
    assert a.work() == 1 and b.work() == 1
    (reply,) = replies_on(b, b_path)
    assert "On second thought" in text(reply) and "fast" not in text(reply)

    # A deletes: A's address answers 410, B hears of it and drops the reply.
    a.delete(a_id)
    gone = a.get(a_url)
    assert gone.status_code == 410
    assert a.work() == 1 and b.work() == 1
    assert replies_on(b, b_path) == []
    assert "0 comments" in text(parse(b.get(b_path)).xpath("//span[@id='comment-count']")[0])


def test_a_like_from_elsewhere_shows_in_the_row(blogs):
    _, b = blogs
    b_post = post(b.app, "On rivers", "Rivers are patient.")
    b_url = b.url + path_of(b_post)
    with Site() as elsewhere:
        like = elsewhere.page(
            "/likes/1",
            f"""<div class="h-entry"><a class="p-author h-card" href="https://cleo.example/">
            Cleo Park</a> liked <a class="u-like-of" href="{b_url}">a post on rivers</a></div>""",
        )
        # Sent like any sender would: discover B's endpoint from the post, then POST.
        endpoint = fetch.fetch(b_url, fetch.Limits(allow_private=True)).links()[0][0]
        answer = fetch.fetch(
            endpoint,
            fetch.Limits(allow_private=True),
            method="POST",
            form={"source": like, "target": b_url},
        )
        assert answer.status == 201
        assert b.work() == 1
        assert elsewhere.hits("/likes/1") == 1
    row = parse(b.get(b_url)).xpath("//p[contains(@class, 'reaction-like')]")[0]
    assert text(row) == "Liked by C Cleo Park"
    assert row.xpath(".//a/@href") == ["https://cleo.example/"]
