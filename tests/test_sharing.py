"""Links that look right when shared: canonical, OpenGraph, Twitter card, JSON-LD, robots."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from blog.extensions import db
from blog.models import Post
from blog.site import SiteSettings
from tests.helpers import images
from tests.helpers.auth import login, logout
from tests.helpers.factories import page, path_of, post, writer
from tests.helpers.html import parse
from tests.helpers.media import fetch, upload

IMAGE_POST = """A walk by the sea.

![The harbour at dawn](https://images.example.org/harbour.jpg "Dawn")

![Second picture](https://images.example.org/second.jpg)
"""


def meta(doc) -> dict[str, list[str]]:
    """Every <meta property|name> in the head: name -> contents in order."""
    found: dict[str, list[str]] = {}
    for element in doc.xpath("/html/head/meta[@property or @name]"):
        key = element.get("property") or element.get("name")
        found.setdefault(key, []).append(element.get("content"))
    return found


def json_ld(doc) -> dict:
    (block,) = doc.xpath("//script[@type='application/ld+json']")
    assert block.getparent().tag == "head"
    return json.loads(block.text)


def test_a_post_tells_previews_its_title_description_picture_and_date(app, client):
    when = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
    shared = post(app, "Harbour at dawn", IMAGE_POST, tags=["sea", "walks"],
                  excerpt="Early light on the water.", published_at=when)  # fmt: skip
    doc = parse(client.get(path_of(shared)))
    url = f"http://localhost{path_of(shared)}"
    assert doc.xpath("/html/head/link[@rel='canonical']/@href") == [url]
    tags = meta(doc)
    assert tags["og:type"] == ["article"]
    assert tags["og:title"] == ["Harbour at dawn"]
    assert tags["og:url"] == [url]
    assert tags["og:description"] == ["Early light on the water."]
    assert tags["description"] == ["Early light on the water."]
    assert tags["og:image"] == ["https://images.example.org/harbour.jpg"]  # the first one
    assert tags["og:site_name"] == ["Field Notes"]
    assert tags["article:published_time"] == ["2026-05-04T09:30:00+00:00"]
    assert tags["article:tag"] == ["sea", "walks"]
    assert tags["twitter:card"] == ["summary_large_image"]
    assert tags["twitter:title"] == ["Harbour at dawn"]
    assert tags["twitter:description"] == ["Early light on the water."]
    assert tags["twitter:image"] == ["https://images.example.org/harbour.jpg"]
    data = json_ld(doc)
    assert data["@context"] == "https://schema.org" and data["@type"] == "BlogPosting"
    assert data["headline"] == "Harbour at dawn"
    assert data["url"] == url and data["mainEntityOfPage"]["@id"] == url
    assert data["datePublished"] == "2026-05-04T09:30:00+00:00"
    assert data["author"] == {"@type": "Person", "name": "Nell Carrow"}
    assert data["image"] == ["https://images.example.org/harbour.jpg"]
    assert data["keywords"] == ["sea", "walks"]
    assert data["description"] == "Early light on the water."


def test_times_carry_the_blogs_offset(app, client):
    with app.app_context():
        settings = SiteSettings.defaults()
        settings.timezone = "Europe/Paris"
        settings.save()
        db.session.commit()
    shared = post(app, "Summer", "Warm.", published_at=datetime(2026, 7, 1, 10, 0, tzinfo=UTC))
    doc = parse(client.get("/2026/07/summer/"))
    assert meta(doc)["article:published_time"] == ["2026-07-01T12:00:00+02:00"]
    assert json_ld(doc)["datePublished"] == "2026-07-01T12:00:00+02:00"
    assert shared.slug == "summer"


def test_without_a_picture_a_small_card(app, client):
    shared = post(app, "Plain", "No picture here, only words.")
    tags = meta(parse(client.get(path_of(shared))))
    assert "og:image" not in tags and "twitter:image" not in tags
    assert tags["twitter:card"] == ["summary"]
    assert tags["og:description"] == ["No picture here, only words."]  # the excerpt made


def test_a_relative_picture_is_made_absolute(app, client):
    shared = post(app, "Local", '<img src="/static/x.png" alt="A cross">\n\nText.')
    with app.app_context():
        assert 'src="/static/x.png"' in db.session.get(Post, shared.id).body_html
    tags = meta(parse(client.get(path_of(shared))))
    assert tags["og:image"] == tags["twitter:image"] == ["http://localhost/static/x.png"]
    assert tags["og:image:alt"] == ["A cross"] and "og:image:width" not in tags


def test_an_uploaded_picture_is_shared_at_its_largest_size(app, client):
    """blog.media.library.first_image: the upload's largest size (at most 1600 wide), with its
    pixel size, type and alternative text, in OpenGraph, the Twitter card and the JSON-LD."""
    writer(app)
    login(client)
    heron = upload(client, images.phone_photo(2400, 1800), "heron.jpg").get_json()["url"]
    shared = post(app, "Dawn", f"Morning.\n\n![A grey heron]({heron})\n\n{IMAGE_POST}")
    logout(client)
    doc = parse(client.get(path_of(shared)))
    tags = meta(doc)
    largest = "http://localhost" + heron.replace(".jpg", "-1600.jpg")
    assert tags["og:image"] == tags["twitter:image"] == [largest]  # before the linked ones
    assert (tags["og:image:width"], tags["og:image:height"]) == (["1600"], ["2133"])
    assert tags["og:image:type"] == ["image/jpeg"]
    assert tags["og:image:alt"] == tags["twitter:image:alt"] == ["A grey heron"]
    assert tags["twitter:card"] == ["summary_large_image"]
    assert json_ld(doc)["image"] == [largest]
    assert fetch(client, largest.removeprefix("http://localhost")).status_code == 200


TITLE = '</script><script>alert("t")</script> & <!-- "quotes"'


def test_a_title_cannot_break_out_of_the_json_ld(app, client):
    shared = post(app, TITLE, "Body.")
    response = client.get(path_of(shared))
    raw = response.get_data(as_text=True)
    block = raw.split('<script type="application/ld+json">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block and ">" not in block  # escaped as \u003c, \u003e
    doc = parse(response)
    assert json_ld(doc)["headline"] == TITLE
    scripts = doc.xpath("//script")
    assert all(s.get("src") or s.get("type") == "application/ld+json" for s in scripts)
    assert meta(doc)["og:title"] == [TITLE]


def test_a_page_is_a_web_page(app, client):
    about = page(app, "About", "Who writes here.")
    doc = parse(client.get(path_of(about)))
    tags = meta(doc)
    assert doc.xpath("/html/head/link[@rel='canonical']/@href") == ["http://localhost/about/"]
    assert tags["og:type"] == ["website"]
    assert tags["og:url"] == ["http://localhost/about/"]
    assert "article:published_time" not in tags
    data = json_ld(doc)
    assert data["@type"] == "WebPage" and data["name"] == "About"
    assert "datePublished" not in data


def test_listings_past_page_one_are_not_indexed(app, client):
    for n in range(12):
        post(app, f"Post {n}", "Text.", tags=["t"],
             published_at=datetime(2025, 3, 1, tzinfo=UTC) + timedelta(hours=n))  # fmt: skip
    for base in ("/", "/tags/t/", "/2025/", "/2025/03/"):
        first = meta(parse(client.get(base)))
        assert "robots" not in first, base
        second = meta(parse(client.get(f"{base}?page=2")))
        assert second["robots"] == ["noindex, follow"], base
    assert meta(parse(client.get("/search?q=post")))["robots"] == ["noindex"]
