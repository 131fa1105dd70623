"""Images in Chromium: a writer drops a phone photo (EXIF GPS, taken sideways) into the editor,
describes it, publishes; readers get it upright and sharp at every screen width, and no file
they can load carries the GPS position. Pasting and the "Add image" button too."""

from __future__ import annotations

import base64
import re
import urllib.request

import pytest
import sqlalchemy as sa

from blog.extensions import db
from blog.media.models import MediaFile
from blog.models import Post
from tests.helpers import factories
from tests.helpers import images as files
from tests.helpers.factories import PASSWORD
from tests.helpers.media import srcset_urls

PHOTO_NAME = "PXL_20261128_074210.jpg"


@pytest.fixture
def errors(page):
    """JavaScript errors and console errors (a CSP violation shows up here too)."""
    seen: list[str] = []
    page.on("pageerror", lambda exc: seen.append(str(exc)))
    page.on(
        "console",
        lambda msg: (
            seen.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    return seen


@pytest.fixture(scope="module")
def phone() -> bytes:
    return files.phone_photo(2400, 1800)


def log_in(page, live_server) -> None:
    page.goto(f"{live_server}/login")
    page.fill("#username", "nell")
    page.fill("#password", PASSWORD)
    page.click("input[type=submit][value='Log in'], button[type=submit]")
    page.wait_for_url(f"{live_server}/admin/")


DROP = """([selector, name, type, b64]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type }));
  const target = document.querySelector(selector);
  const options = { bubbles: true, cancelable: true, dataTransfer: transfer };
  target.dispatchEvent(new DragEvent("dragenter", options));
  target.dispatchEvent(new DragEvent("dragover", options));
  return target.dispatchEvent(new DragEvent("drop", options));
}"""

PASTE = """([selector, name, type, b64]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type }));
  const target = document.querySelector(selector);
  const options = { bubbles: true, cancelable: true, clipboardData: transfer };
  return target.dispatchEvent(new ClipboardEvent("paste", options));
}"""

# Remember every upload progress value shown, whatever the speed of the upload.
WATCH_PROGRESS = """() => {
  window.__progress = [];
  new MutationObserver(() => {
    const bar = document.querySelector("#media-progress progress");
    if (bar) window.__progress.push(Number(bar.value));
  }).observe(document.getElementById("media-progress"), { childList: true, subtree: true });
}"""


def drop(page, data: bytes, name: str, media_type: str = "image/jpeg") -> None:
    page.evaluate(DROP, ["#body", name, media_type, base64.b64encode(data).decode()])


def test_a_phone_photo_dropped_into_the_editor_is_published_upright_sharp_and_without_gps(
    app, live_server, page, browser, errors, phone
):
    factories.writer(app)
    log_in(page, live_server)
    page.goto(f"{live_server}/admin/posts/new")
    assert page.locator("#media-tools").is_visible()  # the uploader shows itself (JavaScript)
    page.fill("#title", "The heron at dawn")
    page.fill("#body", "Before the picture.\n\nAfter the picture.")
    page.evaluate("document.getElementById('body').setSelectionRange(19, 19)")  # after "picture."
    page.evaluate(WATCH_PROGRESS)
    drop(page, phone, PHOTO_NAME)

    dialog = page.locator("#image-details")
    dialog.wait_for(state="visible")
    assert page.evaluate("window.__progress.length") >= 1  # the progress bar was shown
    preview = page.locator("#image-details-picture img")
    assert preview.get_attribute("width") == "1800" and preview.get_attribute("height") == "2400"
    assert page.locator("#image-alt").evaluate("el => el === document.activeElement")
    page.fill("#image-alt", "A grey heron standing in the reeds")
    page.fill("#image-caption", "At six in the morning, by the pond")
    # The first alternative text typed for an image is saved as the library's suggestion.
    with page.expect_response(re.compile(r".*/admin/media/\d+/alt$")) as saved:
        page.click("#image-insert")
    assert saved.value.status == 200
    dialog.wait_for(state="hidden")

    with app.app_context():
        media = db.session.scalars(sa.select(MediaFile)).one()
        key = media.key
        assert media.alt == "A grey heron standing in the reeds"  # the library's suggestion now
    url = f"/media/{key[:2]}/{key}.jpg"
    body = page.input_value("#body")
    assert body == (
        "Before the picture.\n\n"
        f'![A grey heron standing in the reeds]({url} "At six in the morning, by the pond")'
        "\n\nAfter the picture."
    )
    # The live preview shows it as the post will.
    page.wait_for_selector("#preview figure picture img[srcset]")
    assert "Inserted PXL_20261128_074210.jpg." in page.locator("#media-progress").inner_text()
    page.click("input[name=publish]")
    page.wait_for_url(re.compile(r".*/admin/posts/\d+/edit$"))
    assert not page.locator("#alt-warning").count()
    with app.app_context():
        post = db.session.scalars(sa.select(Post)).one()
        path = factories.path_of(post)

    # What a reader gets, in Chromium.
    page.goto(f"{live_server}{path}")
    figure = page.locator(".post-body figure")
    assert figure.locator("figcaption").inner_text() == "At six in the morning, by the pond"
    img = figure.locator("picture img")
    attributes = img.evaluate(
        "el => Object.fromEntries([...el.attributes].map((a) => [a.name, a.value]))"
    )
    assert attributes["width"] == "1800" and attributes["height"] == "2400"
    assert attributes["alt"] == "A grey heron standing in the reeds"
    assert attributes["loading"] == "lazy" and attributes["decoding"] == "async"
    assert attributes["sizes"] == "(max-width: 40rem) calc(100vw - 2.5rem), 37.5rem"
    assert [w for _, w in srcset_urls(attributes["srcset"])] == [480, 960, 1600]
    webp = figure.locator("picture source").get_attribute("srcset")
    assert [w for _, w in srcset_urls(webp)] == [480, 960, 1600]

    # Sharp at every width: whatever the screen, the file loaded has at least as many pixels
    # as the image is shown with (up to the largest size there is), upright (taller than wide).
    for width, scale in ((360, 1), (360, 3), (800, 1), (800, 2), (1280, 1), (1280, 2)):
        context = browser.new_context(
            viewport={"width": width, "height": 900}, device_scale_factor=scale
        )
        reader = context.new_page()
        reader.goto(f"{live_server}{path}")
        shown = reader.locator(".post-body picture img")
        shown.scroll_into_view_if_needed()
        reader.wait_for_function(
            "el => el.complete && el.naturalWidth > 0", arg=shown.element_handle()
        )
        # The pixels of the file the browser chose (naturalWidth is in CSS pixels, divided
        # by the candidate's density), and how many device pixels the image covers.
        seen = shown.evaluate(
            """async (el) => {
              const file = new Image();
              file.src = el.currentSrc;
              await file.decode();
              return {src: el.currentSrc, pixels: file.naturalWidth, tall: file.naturalHeight,
                      shown: el.getBoundingClientRect().width, scale: window.devicePixelRatio};
            }"""
        )
        needed = min(seen["shown"] * seen["scale"], 1600)
        assert seen["pixels"] >= needed - 1, (width, scale, seen)
        assert seen["tall"] > seen["pixels"], seen  # upright: portrait
        assert seen["src"].endswith(".webp"), seen  # Chromium takes the WebP
        context.close()

    # No file a reader can load carries the GPS position (or any other metadata).
    candidates = [u for u, _ in srcset_urls(attributes["srcset"]) + srcset_urls(webp)]
    for candidate in candidates + [attributes["src"], url]:
        with urllib.request.urlopen(f"{live_server}{candidate}") as response:
            data = response.read()
            assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert files.metadata_left(data) == [], candidate
        top = files.open_bytes(data).convert("RGB").getpixel((10, 5))
        assert top[0] > 150 and top[2] < 100, (candidate, top)  # the red band is on top
    assert errors == []


def test_paste_and_the_add_image_button_insert_images_and_a_refusal_is_explained(
    app, live_server, page, errors, tmp_path
):
    factories.writer(app)
    log_in(page, live_server)
    page.goto(f"{live_server}/admin/posts/new")
    page.fill("#body", "Text.")
    page.evaluate("document.getElementById('body').setSelectionRange(5, 5)")

    # Paste: a screenshot from the clipboard.
    png = files.png(640, 400)
    page.evaluate(PASTE, ["#body", "image.png", "image/png", base64.b64encode(png).decode()])
    page.locator("#image-details").wait_for(state="visible")
    page.fill("#image-alt", "A chart of the tides")
    page.click("#image-insert")
    # The dialog hides at once; its "close" event, which edits the text, comes a task later:
    # the status line is written in the same handler, after the text.
    page.locator("#media-progress", has_text="Inserted image.png").wait_for()
    assert re.fullmatch(
        r"Text\.\n\n!\[A chart of the tides\]\(/media/[0-9a-f]{2}/[0-9a-f]{32}\.png\)",
        page.input_value("#body"),
    )

    # The button: choose a file; leave it out at the dialog: nothing inserted, the text intact.
    gif = tmp_path / "wave.gif"
    gif.write_bytes(files.animated_gif())
    page.set_input_files("#add-image-file", str(gif))
    page.locator("#image-details").wait_for(state="visible")
    page.click("#image-details button[value=cancel]")
    page.locator("#media-progress", has_text="stays in the media library").wait_for()
    assert page.locator("#image-details").is_hidden()
    assert "gif" not in page.input_value("#body")

    # A refusal: an SVG dropped in is explained where the progress was, nothing inserted.
    before = page.input_value("#body")
    drop(page, files.SVG_WITH_SCRIPT, "logo.svg", "image/svg+xml")
    page.wait_for_selector("#media-progress.field-error")
    assert "logo.svg: “logo.svg” is an SVG drawing" in page.locator("#media-progress").inner_text()
    assert page.input_value("#body") == before
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(MediaFile.id))) == 2
    assert errors == []


def test_without_javascript_the_library_uploads_and_gives_the_markdown(
    app, live_server, browser, tmp_path
):
    factories.writer(app)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    log_in(page, live_server)
    page.goto(f"{live_server}/admin/media")
    photo = tmp_path / "harbour.jpg"
    photo.write_bytes(files.jpeg(1200, 800))
    page.set_input_files("#file", str(photo))
    page.click(".media-upload button[type=submit]")
    page.wait_for_selector("#upload-done")
    assert "Uploaded: harbour.jpg (1,200 × 800 pixels)" in page.locator("#upload-done").inner_text()
    markdown = page.locator(".media-card input[id^=markdown-]").first.input_value()
    assert re.fullmatch(r"!\[\]\(/media/[0-9a-f]{2}/[0-9a-f]{32}\.jpg\)", markdown)
    context.close()


def test_the_library_edits_alt_text_in_place_and_copies_markdown(app, live_server, page, errors):
    factories.writer(app)
    log_in(page, live_server)
    page.goto(f"{live_server}/admin/media")
    page.set_input_files("#file", _png_file(page))
    page.click(".media-upload button[type=submit]")
    page.wait_for_selector("#upload-done")
    page.evaluate("window.__stillHere = true")
    card = page.locator(".media-card").first
    card.locator("input[name=alt]").fill("A chart of the tides")
    card.locator(".media-alt button[type=submit]").click()
    page.wait_for_selector(".media-card .media-done")
    assert page.evaluate("window.__stillHere") is True  # swapped in place by htmx
    assert page.locator(".media-card input[name=alt]").first.input_value() == "A chart of the tides"
    markdown = page.locator(".media-card input[id^=markdown-]").first
    assert markdown.input_value().startswith("![A chart of the tides](/media/")
    copy = page.locator(".media-card [data-copy]").first
    assert copy.is_visible()
    copy.click()
    # A locator, not wait_for_function: polling a string predicate needs eval, which the page's
    # CSP refuses whenever the text has not changed by the first look (a race).
    page.locator(".media-card [data-copy]", has_text="Copied").first.wait_for()
    assert errors == []


def _png_file(page) -> dict:
    return {"name": "tides.png", "mimeType": "image/png", "buffer": files.png(320, 200)}
