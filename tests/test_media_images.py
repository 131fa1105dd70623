"""Pillow's rules for uploads (blog/media/images.py): what is accepted, what is refused and why,
what the stored files hold (no metadata, upright, sRGB) and the sizes made for srcset."""

from __future__ import annotations

import time

import pytest
from PIL import Image

from blog.media import images
from tests.helpers import images as files

LIMIT = 50_000_000


def cleaned(data: bytes) -> images.Cleaned:
    return images.clean(images.open_upload(data, LIMIT, "upload"))


# --- Accepted: every format, nothing of the file's metadata kept ----------------------------

FRIENDLY = {
    "phone JPEG": (files.phone_photo, "jpg"),
    "PNG with alpha": (files.png, "png"),
    "WebP": (files.webp, "webp"),
    "animated GIF": (files.animated_gif, "gif"),
}


@pytest.mark.parametrize("label", FRIENDLY)
def test_each_accepted_format_is_stored_in_its_format_without_metadata(label):
    make, ext = FRIENDLY[label]
    data = make()
    assert files.metadata_left(data), "the test file itself must carry metadata"
    result = cleaned(data)
    assert result.original.ext == ext
    assert files.open_bytes(result.original.data).format == images.PILLOW_FORMATS[ext]
    assert files.metadata_left(result.original.data) == []


def test_a_phone_photo_is_turned_upright_before_anything_else():
    data = files.phone_photo(2400, 1800)
    assert Image.open(__import__("io").BytesIO(data)).size == (2400, 1800)  # as the sensor saw it
    result = cleaned(data)
    stored = files.open_bytes(result.original.data)
    assert (result.original.width, result.original.height) == stored.size == (1800, 2400)
    top, bottom = stored.getpixel((900, 30)), stored.getpixel((900, 2370))
    assert _near(top, files.TOP) and _near(bottom, files.BOTTOM), (top, bottom)


def _near(colour, expected, tolerance=24) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=True))


def test_a_display_p3_photo_is_converted_to_srgb_and_loses_its_profile():
    profile = files.display_p3_profile()
    source = Image.new("RGB", (64, 64), (200, 60, 40))
    tagged = files.save(source, "PNG", icc_profile=profile)
    plain = files.save(source, "PNG")
    converted = files.open_bytes(cleaned(tagged).original.data)
    untouched = files.open_bytes(cleaned(plain).original.data)
    assert "icc_profile" not in converted.info
    assert untouched.getpixel((10, 10)) == (200, 60, 40)
    red, green, blue = converted.getpixel((10, 10))
    # P3's red is more saturated than sRGB's: the same numbers mean a redder red in sRGB.
    assert red > 200 and green < 60, converted.getpixel((10, 10))


def test_an_srgb_profile_is_left_out_without_converting():
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = files.save(Image.new("RGB", (32, 32), (200, 60, 40)), "PNG", icc_profile=srgb)
    stored = files.open_bytes(cleaned(data).original.data)
    assert "icc_profile" not in stored.info
    assert stored.getpixel((5, 5)) == (200, 60, 40)


def test_an_animation_keeps_its_frames_timing_and_loop():
    result = cleaned(files.animated_gif(durations=(100, 250, 400)))
    assert result.animated and result.pixels is None
    stored = files.open_bytes(result.original.data)
    assert stored.n_frames == 3
    durations = []
    colours = []
    for frame in range(3):
        stored.seek(frame)
        durations.append(stored.info["duration"])
        colours.append(stored.convert("RGB").getpixel((5, 5)))
    assert durations == [100, 250, 400]
    assert stored.info.get("loop") == 0
    assert [max(range(3), key=lambda i, c=c: c[i]) for c in colours] == [
        0,
        1,
        2,
    ]  # red, green, blue


def test_a_polyglot_keeps_its_picture_and_loses_what_was_hidden_after_it():
    for data in (files.png_with_html_appended(), files.jpeg_with_html_appended()):
        assert files.HTML_PAYLOAD in data
        result = cleaned(data)
        assert files.HTML_PAYLOAD not in result.original.data
        assert files.metadata_left(result.original.data) == []


# --- Refused: the status and a message a person can act on -----------------------------------

HOSTILE = {
    "SVG with a script": (files.SVG_WITH_SCRIPT, 415, "SVG"),
    "HTML named .jpg": (files.HTML_NAMED_JPG, 415, "web page"),
    "HEIC from an iPhone": (files.heic_like(), 415, "export it as JPEG"),
    "PDF": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj", 415, "PDF"),
    "GIF/JavaScript polyglot": (files.GIF_JS_POLYGLOT, 422, "damaged or cut short"),
    "truncated JPEG": (files.truncated_jpeg(), 422, "damaged or cut short"),
    "0 bytes": (b"", 422, "empty"),
    "decompression bomb": (files.bomb_png(8000, 8000), 422, "64 megapixels"),
    "bomb beyond Pillow's own limit": (files.bomb_header(), 422, "far too many pixels"),
}


@pytest.mark.parametrize("label", HOSTILE)
def test_hostile_files_are_refused_with_a_reason(label):
    data, status, words = HOSTILE[label]
    with pytest.raises(images.Refused) as refused:
        cleaned(data)
    assert refused.value.status == status
    assert words in refused.value.message
    # Every message says what to do, not only what went wrong.
    assert any(
        verb in refused.value.message for verb in ("upload", "export", "choose", "save it")
    ), refused.value.message


def test_an_animation_counts_the_pixels_of_every_frame():
    data = files.animated_gif(100, 100, durations=(100,) * 3)
    assert cleaned(data).animated
    with pytest.raises(images.Refused) as refused:
        images.open_upload(data, 25_000)  # one frame fits, three do not
    assert refused.value.status == 422 and "3 frames" in refused.value.message


def test_a_bomb_is_refused_before_it_is_decoded():
    bomb = files.bomb_png(8000, 8000)  # 64 MB of pixels in 62 KB
    started = time.process_time()
    with pytest.raises(images.Refused):
        images.open_upload(bomb, LIMIT)
    refused_in = time.process_time() - started
    started = time.process_time()
    images.open_upload(bomb, 100_000_000).load()  # what decoding it costs
    decoded_in = time.process_time() - started
    assert refused_in < decoded_in / 20, (refused_in, decoded_in)


# --- Sizes ------------------------------------------------------------------------------------


def test_srcset_widths_are_never_wider_than_the_original():
    widths = (480, 960, 1600)
    assert images.srcset_widths(4000, widths) == [480, 960, 1600]
    assert images.srcset_widths(1600, widths) == [480, 960, 1600]  # the original is the 1600
    assert images.srcset_widths(1200, widths) == [480, 960, 1200]
    assert images.srcset_widths(300, widths) == [300]


@pytest.mark.parametrize(("width", "height"), [(2400, 1800), (1200, 900), (300, 200)])
def test_every_size_is_as_wide_as_it_says_and_the_same_shape(width, height):
    data = files.jpeg(width, height)
    result = cleaned(data)
    made = list(images.make_sizes(result.pixels, "jpg", (480, 960, 1600), width))
    listed = images.srcset_widths(width, (480, 960, 1600))
    for size in made:
        stored = files.open_bytes(size.encoded.data)
        assert stored.width == size.width <= width
        assert abs(stored.height - round(height * size.width / width)) <= 1
        assert stored.format == ("WEBP" if size.webp else "JPEG")
        assert files.metadata_left(size.encoded.data) == []
    # Each listed width below the original in both formats; the original's own WebP if listed.
    assert sorted((s.width, s.webp) for s in made) == sorted(
        [(w, webp) for w in listed if w < width for webp in (False, True)]
        + [(width, True)] * (width in listed)
    )


def test_a_gifs_sizes_are_png_and_a_webps_sizes_webp_only():
    still_gif = files.save(files.scene(1000, 600).convert("P"), "GIF")
    result = cleaned(still_gif)
    assert not result.animated
    formats = {
        (s.width, files.open_bytes(s.encoded.data).format)
        for s in images.make_sizes(result.pixels, "gif", (480, 960), 1000)
    }
    assert formats == {(960, "PNG"), (960, "WEBP"), (480, "PNG"), (480, "WEBP")}
    result = cleaned(files.webp(1100, 800))
    made = list(images.make_sizes(result.pixels, "webp", (480, 960, 1600), 1100))
    assert sorted(s.width for s in made) == [480, 960]  # the 1100 original is the third
    assert all(files.open_bytes(s.encoded.data).format == "WEBP" for s in made)


def test_a_stored_jpeg_is_decoded_in_draft_mode_for_its_sizes():
    result = cleaned(files.jpeg(4000, 3000, quality=80))
    pixels = images.open_stored(result.original.data, (480, 960, 1600))
    assert 1600 <= pixels.width < 4000  # decoded at half scale: 2000 wide
    made = {s.width for s in images.make_sizes(pixels, "jpg", (480, 960, 1600), 4000)}
    assert made == {480, 960, 1600}
    # A JPEG that is itself in the srcset is decoded whole: its WebP twin needs every pixel.
    small = cleaned(files.jpeg(1500, 1000)).original.data
    assert images.open_stored(small, (480, 960, 1600)).width == 1500
