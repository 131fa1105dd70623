"""Uploaded images in posts: the <img> a reader gets (size, srcset, WebP, alt, captions), the
sanitizer's allowlist, feeds, the link-preview image, the editor's alt-text warning, and
`flask rerender`."""

from __future__ import annotations

import feedparser
import pytest
import sqlalchemy as sa
from lxml import etree

from blog import create_app
from blog.content import render_body, render_post
from blog.extensions import db
from blog.media import library
from blog.media.models import MediaFile, media_use
from blog.models import Post
from blog.sanitize import clean_post_html
from blog.security import strip_control_characters
from tests.helpers import factories
from tests.helpers import images as files
from tests.helpers.auth import login
from tests.helpers.hostile import POST_POLICY, load_corpus, violations
from tests.helpers.html import csrf_token, parse, text
from tests.helpers.media import fetch, media_rows, srcset_urls, upload
from tests.helpers.vnu import validate

SIZES = "(max-width: 40rem) calc(100vw - 2.5rem), 37.5rem"


@pytest.fixture
def writer(app, client):
    factories.writer(app)
    login(client)
    return client


@pytest.fixture(scope="module")
def photo() -> bytes:
    return files.phone_photo(2400, 1800)


@pytest.fixture
def heron(writer, photo) -> str:
    """The URL of an uploaded portrait photo (1800 × 2400 once upright)."""
    return upload(writer, photo, "heron.jpg").get_json()["url"]


def body_of(app, post) -> str:
    with app.app_context():
        return db.session.get(Post, post.id).body_html


def test_an_uploaded_image_gets_its_size_srcset_webp_and_lazy_loading(app, writer, heron):
    post = factories.post(app, "Dawn", f"Morning.\n\n![A grey heron]({heron})\n")
    page = parse(writer.get(factories.path_of(post)))
    [picture] = page.xpath("//div[contains(@class, 'post-body')]//picture")
    [source] = picture.xpath("source")
    [img] = picture.xpath("img")
    assert img.get("src") == heron.replace(".jpg", "-960.jpg")
    assert (img.get("width"), img.get("height")) == ("1800", "2400")
    assert img.get("alt") == "A grey heron"
    assert (img.get("loading"), img.get("decoding")) == ("lazy", "async")
    assert img.get("sizes") == source.get("sizes") == SIZES
    assert source.get("type") == "image/webp"
    jpegs, webps = srcset_urls(img.get("srcset")), srcset_urls(source.get("srcset"))
    assert [w for _, w in jpegs] == [w for _, w in webps] == [480, 960, 1600]
    # Sharp at every width: each candidate really is as wide as it says, upright, and clean.
    for url, width in jpegs + webps + [(img.get("src"), 960)]:
        served = fetch(writer, url)
        assert served.status_code == 200, url
        stored = files.open_bytes(served.data)
        assert stored.width == width and stored.height == round(2400 * width / 1800), url
        assert stored.format == ("WEBP" if url.endswith(".webp") else "JPEG")
        assert files.metadata_left(served.data) == []
        red = stored.convert("RGB").getpixel((width // 2, 3))
        assert red[0] > 150 and red[2] < 100, (url, red)  # the red band is on top


def test_a_title_makes_a_captioned_figure(app, heron):
    html = factories.post(app, "Dawn", f'![A grey heron]({heron} "At six, by the pond")')
    root = parse(body_of(app, html))
    [figure] = root.xpath("//figure")
    assert figure.xpath("picture/img/@alt") == ["A grey heron"]
    assert text(figure.xpath("figcaption")[0]) == "At six, by the pond"
    assert figure.xpath("picture/img/@title") == []


def test_captions_are_text_and_only_for_an_image_alone_in_its_paragraph(app, heron):
    post = factories.post(
        app,
        "Dawn",
        f'Inline ![a]({heron} "tip") stays inline.\n\n'
        f'[![linked]({heron} "<b>bold</b> & co")](https://example.org/)\n\n'
        f'- ![in a list]({heron} "list")',
    )
    root = parse(body_of(app, post))
    paragraph_img = root.xpath("//p//img")[0]
    assert paragraph_img.get("title") == "tip"
    [figure] = root.xpath("//figure")
    assert figure.xpath("a/@href") == ["https://example.org/"]
    assert text(figure.xpath("figcaption")[0]) == "<b>bold</b> & co"
    assert root.xpath("//li//img/@title") == ["list"]


def test_an_imported_thumbnail_keeps_its_width(app, heron):
    post = factories.post(app, "Old", f'<p><img src="{heron}" width="320" alt="thumb"></p>')
    [img] = parse(body_of(app, post)).xpath("//img")
    assert (img.get("width"), img.get("height")) == ("320", "427")
    assert img.get("sizes") == "(max-width: 320px) 100vw, 320px"
    assert "480w" in img.get("srcset")


def test_an_empty_alt_takes_the_librarys_and_the_editor_warns_when_there_is_none(
    app, writer, heron
):
    post = factories.post(app, "Dawn", f"![]({heron})")
    assert parse(body_of(app, post)).xpath("//img/@alt") == [""]
    page = parse(writer.get(f"/admin/posts/{post.id}/edit"))
    warning = text(page.xpath("//*[@id='alt-warning']")[0])
    assert "1 image has no alternative text" in warning
    assert heron.rsplit("/", 1)[1].replace(".jpg", "-960.jpg") in warning
    [row] = media_rows(app)
    token = csrf_token(writer, "/admin/media")
    writer.post(f"/admin/media/{row.id}/alt", data={"alt": "A heron", "csrf_token": token})
    assert parse(body_of(app, post)).xpath("//img/@alt") == ["A heron"]
    assert not parse(writer.get(f"/admin/posts/{post.id}/edit")).xpath("//*[@id='alt-warning']")


def test_the_editor_offers_the_uploader_and_the_library(writer):
    page = parse(writer.get("/admin/posts/new"))
    [tools] = page.xpath("//*[@id='media-tools']")
    assert tools.get("hidden") is not None  # shown by static/js/media.js
    assert tools.get("data-upload-url") == "/admin/media"
    assert tools.get("data-max-bytes") == str(20 * 1024 * 1024)
    assert page.xpath("//dialog[@id='image-details']//input[@id='image-alt']")
    assert page.xpath("//script[@src='/static/js/media.js']")
    assert page.xpath("//a[@href='/admin/media']")
    assert not page.xpath("//*[@id='alt-warning']")


def test_the_preview_shows_uploaded_images_as_the_post_will(writer, heron):
    token = csrf_token(writer, "/admin/posts/new")
    response = writer.post(
        "/admin/posts/preview", data={"body": f"![x]({heron})", "csrf_token": token}
    )
    assert "1600w" in parse(response).xpath("//img/@srcset")[0]


# --- The sanitizer accepts what images need, nothing more ------------------------------------


def test_the_enhanced_html_passes_the_sanitizer_unchanged(app, heron):
    post = factories.post(app, "Dawn", f'![A heron]({heron} "Caption")\n\n<img src="{heron}">')
    html = body_of(app, post)

    def attributes(markup: str) -> list[tuple[str, dict]]:
        return [(e.tag, dict(e.attrib)) for e in parse(markup).xpath("//body//*")]

    assert attributes(clean_post_html(html)) == attributes(html)


@pytest.mark.parametrize(
    ("raw", "dropped"),
    [
        ('<img src="/a.jpg" srcset="javascript:alert(1) 1x">', "srcset"),
        ('<img src="/a.jpg" srcset="/a.jpg 480w, data:image/png;base64,AA 960w">', "srcset"),
        ('<img src="/a.jpg" srcset="/a.jpg 480q">', "srcset"),
        ('<img src="/a.jpg" sizes="100vw;background:url(x)">', "sizes"),
        ('<img src="/a.jpg" decoding="javascript">', None),
        ('<img src="/a.jpg" onload="alert(1)">', "onload"),
        ('<picture><source srcset="javascript:alert(1)"><img src="/a.jpg"></picture>', "srcset"),
        ('<picture><source type="text/html" srcset="/a.jpg"><img src="/a.jpg"></picture>', "type"),
        ('<picture><source src="/a.jpg" media="print"><img src="/a.jpg"></picture>', "src"),
    ],
)
def test_hostile_image_attributes_are_dropped(raw, dropped):
    root = parse(render_body(raw))
    for element in root.xpath("//source" if raw.startswith("<picture") else "//img"):
        if dropped:
            assert dropped not in element.attrib, (raw, dict(element.attrib))
        assert "onload" not in element.attrib and "media" not in element.attrib
    assert root.xpath("//img/@decoding") == ["async"]  # forced, whatever was written


def test_allowed_image_attributes_survive():
    raw = (
        '<picture><source type="image/webp" srcset="/a.webp 480w, https://x.example/b.webp 2x"'
        ' sizes="(max-width: 40rem) 100vw, 40rem"><img src="/a.jpg" srcset="/a-480.jpg 480w"'
        ' sizes="40rem" width="4" height="3" alt="A" loading="eager"></picture>'
    )
    root = parse(render_body(raw))
    [source] = root.xpath("//source")
    assert source.get("srcset") == "/a.webp 480w, https://x.example/b.webp 2x"
    assert source.get("type") == "image/webp"
    [img] = root.xpath("//img")
    assert (img.get("srcset"), img.get("sizes"), img.get("width")) == (
        "/a-480.jpg 480w",
        "40rem",
        "4",
    )
    assert img.get("loading") == "lazy"  # every image in a post loads lazily


# --- Feeds and link previews -------------------------------------------------------------------


def test_feeds_carry_absolute_image_urls(app, writer, heron):
    factories.post(app, "Dawn", f"![A heron]({heron})\n\n[Another post](/2026/01/x/)")
    namespaces = {
        "atom": "http://www.w3.org/2005/Atom",
        "content": "http://purl.org/rss/1.0/modules/content/",
    }
    for feed, path in (
        ("/feeds/posts.atom", "//atom:entry/atom:content"),
        ("/feeds/posts.rss", "//item/content:encoded"),
    ):
        response = writer.get(feed)
        assert feedparser.parse(response.data).bozo == 0
        # The entry's HTML as the feed carries it (feedparser would strip srcset itself).
        [element] = etree.fromstring(response.data).xpath(path, namespaces=namespaces)
        content = element.text
        root = parse(content)
        [img] = root.xpath("//img")
        assert img.get("src") == "http://localhost" + heron.replace(".jpg", "-960.jpg")
        candidates = srcset_urls(img.get("srcset")) + srcset_urls(root.xpath("//source/@srcset")[0])
        assert len(candidates) == 6
        assert all(url.startswith("http://localhost/media/") for url, _ in candidates)
        assert root.xpath("//a/@href") == ["http://localhost/2026/01/x/"]
        assert 'src="/' not in content and 'srcset="/' not in content


def test_a_posts_first_image_is_its_link_preview(app, heron):
    post = factories.post(app, "Dawn", f"Text.\n\n![A heron]({heron})\n\n![Second](/other.png)")
    bare = factories.post(app, "Words", "No picture here.")
    elsewhere = factories.post(app, "Linked", "![Far](https://img.example.org/far.jpg)")
    with app.test_request_context(base_url="https://blog.example.org"):
        shared = library.first_image(db.session.get(Post, post.id))
        assert shared.url == "https://blog.example.org" + heron.replace(".jpg", "-1600.jpg")
        assert (shared.width, shared.height, shared.alt) == (1600, 2133, "A heron")
        assert shared.media_type == "image/jpeg"
        assert library.first_image(db.session.get(Post, bare.id)) is None
        far = library.first_image(db.session.get(Post, elsewhere.id))
        assert (far.url, far.alt, far.width) == ("https://img.example.org/far.jpg", "Far", None)


# --- Where images are used, and re-rendering ---------------------------------------------------


def uses(app) -> set[tuple[int, int]]:
    with app.app_context():
        return set(db.session.execute(sa.select(media_use.c.media_id, media_use.c.post_id)).all())


def test_every_save_records_which_images_a_post_uses(app, writer, heron):
    second = upload(writer, files.png(300, 200), "b.png").get_json()["url"]
    post = factories.post(app, "Dawn", f"![a]({heron})")
    heron_id, png_id = (row.id for row in media_rows(app))
    assert uses(app) == {(heron_id, post.id)}
    with app.app_context():
        row = db.session.get(Post, post.id)
        row.body = f"[the big one]({heron}) and ![b]({second})"  # a link counts as a use too
        render_post(row)
        db.session.commit()
    assert uses(app) == {(heron_id, post.id), (png_id, post.id)}
    with app.app_context():
        row = db.session.get(Post, post.id)
        row.body = "Nothing."
        render_post(row)
        db.session.commit()
    assert uses(app) == set()


def test_rerender_applies_a_new_sizes_setting_and_keeps_the_uses(app, app_config, runner, heron):
    post = factories.post(app, "Dawn", f"![a]({heron})")
    before = uses(app)
    changed = create_app(
        {**app_config, "MEDIA_FOLDER": app.config["MEDIA_FOLDER"], "MEDIA_IMAGE_SIZES": "50vw"}
    )
    with changed.app_context():  # as `flask` runs a command
        result = changed.test_cli_runner().invoke(args=["rerender"])
    assert result.exit_code == 0, result.output
    assert "Re-rendered 1 of 1 posts" in result.output
    assert parse(body_of(app, post)).xpath("//img/@sizes") == ["50vw"]
    assert uses(app) == before
    with changed.app_context():
        db.engine.dispose()


def test_export_keeps_the_markdown_and_an_import_brings_it_back(app, runner, tmp_path, heron):
    factories.post(app, "Dawn", f'![A heron]({heron} "At six")')
    path = tmp_path / "blog.txt"
    with app.app_context():  # as `flask` runs a command
        assert runner.invoke(args=["export", str(path)]).exit_code == 0
    exported = path.read_text()
    assert f'![A heron]({heron} "At six")' in exported
    with app.app_context():
        db.session.execute(sa.delete(Post))
        db.session.commit()
    with app.app_context():
        assert runner.invoke(args=["import", str(path)]).exit_code == 0
    with app.app_context():
        post = db.session.scalars(sa.select(Post)).one()
        assert text(parse(post.body_html).xpath("//figcaption")[0]) == "At six"
        assert "1600w" in parse(post.body_html).xpath("//img/@srcset")[0]


def test_hostile_alt_text_and_captions_around_an_uploaded_image_stay_inert(app, writer, heron):
    """Every payload of the corpus as the library's alt text, as a Markdown alt and caption,
    and as raw HTML next to the image: the enhanced HTML breaks no rule of the post policy."""
    [row] = media_rows(app)
    payloads = load_corpus()
    with app.app_context():
        media = db.session.get(MediaFile, row.id)
        for payload in payloads:
            # As the alt text form stores it: control characters are stripped from every form.
            alt = strip_control_characters(payload)[:500]
            media.alt = alt
            title = payload.replace('"', "'").replace("\n", " ")
            shown = render_body(f"![]({heron})")  # the library's alt fills the empty one
            assert violations(shown, POST_POLICY) == [], (payload, shown)
            [img] = [img for img in parse(shown, "div").iter("img") if img.get("srcset")]
            if alt.isprintable():
                assert img.get("alt") == alt  # shown as text, exactly
            for source in (
                f'![{payload}]({heron} "{title}")',
                f"{payload}\n\n<img src=\"{heron}\" alt='{payload}'>",
            ):
                html = render_body(source)
                assert violations(html, POST_POLICY) == [], (payload, html)
        db.session.rollback()


def test_the_pages_images_appear_on_are_valid_html(app, writer, heron, tmp_path):
    post = factories.post(app, "Dawn", f'![]({heron} "A caption")\n\n![A heron]({heron})')
    upload(writer, files.animated_gif(), "wave.gif")
    [row, _] = media_rows(app)
    pages = {
        "post": writer.get(factories.path_of(post)),
        "editor with the alt warning": writer.get(f"/admin/posts/{post.id}/edit"),
        "media library": writer.get("/admin/media"),
        "delete (refused)": writer.get(f"/admin/media/{row.id}/delete"),
        "upload refused, no JavaScript": upload(writer, b"<svg/>", "x.svg", as_json=False),
    }
    assert parse(pages["editor with the alt warning"]).xpath("//*[@id='alt-warning']")
    html = {name: response.get_data(as_text=True) for name, response in pages.items()}
    assert validate(html, tmp_path) == []
