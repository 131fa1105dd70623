"""Pillow's side of an upload: tell a real image from anything else, clean it, make its sizes.

No Flask and no database in here: bytes in, bytes out, so every rule is testable on its own.

- Only real JPEG, PNG, GIF and WebP files are opened, by their first bytes (never by the name
  or the type the browser claims) and with Pillow told to try that one format only. Anything
  else (SVG, which can carry scripts; HTML named .jpg; HEIC from a phone) is refused with a
  message that says what it is and what to do instead.
- The pixel count is read from the header and checked before anything is decoded: a
  decompression bomb (a small file that unpacks into gigabytes) is refused at once.
- The stored image is always a new encoding of the decoded pixels: orientation applied first,
  colours converted to sRGB, and nothing else of the file kept. EXIF (GPS!), XMP, comments,
  ICC profiles and whatever a polyglot hid after the image data never reach a reader.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import (
    GifImagePlugin,
    Image,
    ImageCms,
    ImageOps,
    ImageSequence,
    JpegImagePlugin,
    UnidentifiedImageError,
)

from blog.media.names import SIZE_EXTENSIONS

# Pillow format name -> the extension stored files get.
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
PILLOW_FORMATS = {ext: name for name, ext in EXTENSIONS.items()}
ACCEPTED_WORDS = "JPEG, PNG, GIF or WebP"

# Encoder settings. JPEG at 85 (4:2:0, optimized, progressive) is the web's usual trade. WebP at
# 80 beside it: on bench/bench_media.py's 12-megapixel test photo the WebP sizes came out 58-77%
# smaller than the JPEGs. method=4 is libwebp's default; method=6 made the 1600-wide WebP 28%
# smaller again for 70% more CPU (196 -> 336 ms) on that synthetic, noisy picture, and the
# sizes may be made inside an upload request.
JPEG_OPTIONS = {"quality": 85, "optimize": True, "progressive": True}
WEBP_OPTIONS = {"quality": 80, "method": 4}
# The re-encoded original: close to what the camera wrote (its own quantization tables when
# Pillow can read them), so a full-size download loses as little as a re-encode can.
ORIGINAL_JPEG_QUALITY = 92
ORIGINAL_WEBP_QUALITY = 90

# Every GIF frame after the first is read as RGB(A), so frames with their own palettes come
# out right (Pillow's default too; set here so the rule is visible).
GifImagePlugin.LOADING_STRATEGY = GifImagePlugin.LoadingStrategy.RGB_AFTER_FIRST


class Refused(Exception):
    """A refused upload: the HTTP status and a message a person can act on."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Encoded:
    """One file to store: its bytes, extension and pixel size."""

    data: bytes
    ext: str
    width: int
    height: int


@dataclass
class Cleaned:
    """An accepted upload: the original to store and, for a still image, its decoded pixels."""

    original: Encoded
    animated: bool
    # The upright sRGB pixels the original was encoded from, for making the sizes at once
    # without decoding again; None for an animation (it gets no sizes).
    pixels: Image.Image | None


# --- Recognising the file -------------------------------------------------------------------


def sniff(data: bytes) -> str | None:
    """Return the Pillow format name of an accepted image, by its first bytes; else None."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


_ISO_BOX = re.compile(rb"^....ftyp(heic|heix|hevc|heim|heis|mif1|msf1|avif|avis)", re.DOTALL)


def what_else(data: bytes, filename: str = "") -> str:
    """Say what a refused file is and what to upload instead (415 message)."""
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    named = f"“{filename}” " if filename else "This file "
    box = _ISO_BOX.match(data[:32])
    if box and box.group(1).startswith(b"avi"):
        return f"{named}is an AVIF image, which this blog does not take yet: export it as JPEG."
    if box:
        return (
            f"{named}is a HEIC photo (the iPhone's format), which browsers cannot show: "
            "export it as JPEG (on an iPhone: Settings → Camera → Formats → Most Compatible)."
        )
    if b"<svg" in head or (head.startswith(b"<?xml") and b"svg" in head):
        return (
            f"{named}is an SVG drawing. SVG files can carry scripts, so only {ACCEPTED_WORDS} "
            "images are accepted: export the drawing as PNG and upload that."
        )
    if head.startswith((b"<!doctype", b"<html", b"<head", b"<body", b"<script", b"<")):
        return (
            f"{named}is a web page or other text, not an image, whatever its name says. "
            f"Upload a {ACCEPTED_WORDS} image."
        )
    kinds = {
        b"%pdf": "a PDF document",
        b"ii*\x00": "a TIFF image",
        b"mm\x00*": "a TIFF image",
        b"bm": "a BMP image",
        b"pk\x03\x04": "a ZIP archive",
    }
    for magic, kind in kinds.items():
        if head.startswith(magic):
            return f"{named}is {kind}, not a picture this blog takes: upload {ACCEPTED_WORDS}."
    return f"{named}is not an image this blog takes: upload a {ACCEPTED_WORDS} image."


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.0f}" if pixels >= 10e6 else f"{pixels / 1e6:.1f}"


def _too_many_pixels(size: tuple[int, int], frames: int, limit: int) -> Refused:
    width, height = size
    frames_text = f" in each of {frames} frames" if frames > 1 else ""
    return Refused(
        422,
        f"This image is {width:,} × {height:,} pixels{frames_text}, "
        f"{_megapixels(width * height * frames)} megapixels to unpack; the most this blog "
        f"takes is {_megapixels(limit)} megapixels. Scale it down (2,000 pixels wide is plenty "
        "on the web) and upload it again.",
    )


BROKEN = (
    "This {kind} file is damaged or cut short (was the upload or the download interrupted?): "
    "open it in an image editor, save it again and upload the new copy."
)


def open_upload(data: bytes, max_pixels: int, filename: str = "") -> Image.Image:
    """Open an upload as one of the accepted formats, refusing anything else and bombs.

    Nothing is decoded yet: the header gives the size, and the pixel count of every frame is
    checked against max_pixels before any pixel data is unpacked.
    """
    if not data:
        raise Refused(422, "The file is empty (0 bytes): choose the image again and upload it.")
    kind = sniff(data)
    if kind is None:
        raise Refused(415, what_else(data, filename))
    try:
        with warnings.catch_warnings():
            # Pillow's own limit (about 89 megapixels) is only a warning: make it a refusal.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[kind])
            if image.width * image.height > max_pixels:
                raise _too_many_pixels(image.size, 1, max_pixels)
            frames = getattr(image, "n_frames", 1)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused(
            422,
            f"This image has far too many pixels to unpack safely; the most this blog takes is "
            f"{_megapixels(max_pixels)} megapixels. Scale it down and upload it again.",
        ) from None
    except Refused:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as error:
        raise Refused(422, BROKEN.format(kind=_word(kind))) from error
    if image.width * image.height * frames > max_pixels:
        raise _too_many_pixels(image.size, frames, max_pixels)
    return image


def _word(kind: str) -> str:
    return {"WEBP": "WebP"}.get(kind, kind)


# --- Cleaning ---------------------------------------------------------------------------------


def clean(image: Image.Image) -> Cleaned:
    """Decode an opened upload and encode the original to store: upright, sRGB, no metadata."""
    kind = image.format or "JPEG"
    ext = EXTENSIONS[kind]
    try:
        if getattr(image, "n_frames", 1) > 1:
            return Cleaned(_encode_animation(image, ext), animated=True, pixels=None)
        pixels = upright_srgb(image)
        return Cleaned(_encode_original(pixels, image, ext), animated=False, pixels=pixels)
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        # Truncated data, a corrupt chunk, a broken palette: only decoding finds them.
        raise Refused(422, BROKEN.format(kind=_word(kind))) from error


def upright_srgb(image: Image.Image) -> Image.Image:
    """Decode image with its EXIF orientation applied, in sRGB, in a mode the web formats take."""
    profile = image.info.get("icc_profile")
    upright = ImageOps.exif_transpose(image)  # decodes; a new image, never the file object
    upright = _web_mode(upright)
    if profile:
        upright = _to_srgb(upright, profile)
    # Nothing of the file's metadata travels on: encoders read some of it from .info
    # (a JPEG's comment, a GIF's extensions), so only what the pixels need is kept.
    upright.info = {k: v for k, v in upright.info.items() if k == "transparency"}
    return upright


def _web_mode(image: Image.Image) -> Image.Image:
    """Convert odd modes (16-bit, CMYK, 1-bit, LA-palettes) to ones every web format stores."""
    if image.mode in ("RGB", "RGBA", "L", "LA", "P"):
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale PNG: keep the top 8 bits.
        return image.point(lambda value: value / 256).convert("L")
    if image.mode == "1":
        return image.convert("L")
    if image.mode in ("PA", "RGBa", "La"):
        return image.convert("RGBA")
    return image.convert("RGB")  # CMYK, YCbCr, F...


def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


_SRGB = _srgb_profile()


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """Convert pixels from their embedded profile to sRGB, the colours browsers assume.

    A Display P3 photo shown without its profile looks washed out; converted, it looks right
    everywhere and carries no profile. A profile LittleCMS cannot read is dropped (the pixels
    are then taken as sRGB), never a reason to refuse the photo.
    """
    if image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in ImageCms.getProfileDescription(source).lower():
            return image  # already sRGB: converting would only cost time
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(image, source, _SRGB, outputMode=mode) or image
    except (ImageCms.PyCMSError, OSError, TypeError, ValueError):
        return image


def _encode_original(pixels: Image.Image, source: Image.Image, ext: str) -> Encoded:
    options: dict = {}
    if ext == "jpg":
        pixels = pixels.convert("RGB") if pixels.mode not in ("RGB", "L") else pixels
        options = {"optimize": True, "progressive": True}
        sampling = JpegImagePlugin.get_sampling(source)
        tables = getattr(source, "quantization", None)
        if tables and sampling != -1 and pixels.mode == "RGB":
            # The camera's own tables: the new encoding is as close to the old as it gets.
            options.update(qtables=tables, subsampling=sampling)
        else:
            options["quality"] = ORIGINAL_JPEG_QUALITY
    elif ext == "webp":
        options = {"quality": ORIGINAL_WEBP_QUALITY, "method": WEBP_OPTIONS["method"]}
    elif ext == "png":
        options = {"optimize": False}
    return Encoded(_save(pixels, PILLOW_FORMATS[ext], **options), ext, *pixels.size)


def _encode_animation(image: Image.Image, ext: str) -> Encoded:
    """Re-encode every frame, keeping timing and looping, with no metadata."""
    frames: list[Image.Image] = []
    durations: list[int] = []
    for frame in ImageSequence.Iterator(image):
        durations.append(int(frame.info.get("duration", 100) or 100))
        pixels = frame.convert("RGBA")
        pixels.info = {}
        frames.append(pixels)
    options: dict = {
        "save_all": True,
        "append_images": frames[1:],
        "duration": durations,
        "loop": int(image.info.get("loop", 0) or 0),
    }
    if ext == "gif":
        options["disposal"] = 2  # each frame is a whole picture: clear before the next
    elif ext == "webp":
        options.update(quality=ORIGINAL_WEBP_QUALITY, method=WEBP_OPTIONS["method"])
    data = _save(frames[0], PILLOW_FORMATS[ext], **options)
    return Encoded(data, ext, *image.size)


def _save(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


# --- Sizes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Size:
    """One file of an image's srcset: a width in the fallback format or in WebP."""

    width: int
    webp: bool
    encoded: Encoded


def srcset_widths(width: int, widths: tuple[int, ...]) -> list[int]:
    """Return the widths a srcset lists: the configured ones below the original, then the
    original itself when it is no wider than the largest (never upscaled)."""
    chosen = sorted({w for w in widths if 0 < w < width})
    if not widths or width <= max(widths):
        chosen.append(width)
    return chosen


def make_sizes(
    pixels: Image.Image, ext: str, widths: tuple[int, ...], original_width: int
) -> Iterator[Size]:
    """Yield the files of every srcset width below the original, largest first, each in the
    original's size format and in WebP, plus the original's own WebP when it is in the srcset.

    pixels may be smaller than the original (decoded in draft mode) but never narrower than
    the widths it is resized to. Each width is resized from the one before (4000 → 1600 → 960
    → 480): Lanczos from less than twice the size looks the same and costs a fraction of
    resizing from the full photo every time.
    """
    ext_for_sizes = SIZE_EXTENSIONS[ext]
    work = pixels if pixels.mode in ("RGB", "RGBA", "L", "LA") else pixels.convert("RGBA")
    for width in sorted(srcset_widths(original_width, widths), reverse=True):
        if width == original_width:
            if ext != "webp":
                yield Size(width, True, _encode(work, "webp"))
            continue
        height = max(1, round(pixels.height * width / pixels.width))
        if work.size != (width, height):
            work = work.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        yield Size(width, ext_for_sizes == "webp", _encode(work, ext_for_sizes))
        if ext_for_sizes != "webp":
            yield Size(width, True, _encode(work, "webp"))


def _encode(image: Image.Image, ext: str) -> Encoded:
    if ext == "jpg":
        rgb = image if image.mode in ("RGB", "L") else image.convert("RGB")
        return Encoded(_save(rgb, "JPEG", **JPEG_OPTIONS), ext, *image.size)
    if ext == "webp":
        return Encoded(_save(image, "WEBP", **WEBP_OPTIONS), ext, *image.size)
    return Encoded(_save(image, "PNG"), ext, *image.size)


def open_stored(data: bytes, widths: tuple[int, ...]) -> Image.Image:
    """Decode a stored original for making its sizes, as small as the largest size allows.

    A JPEG is decoded at 1/2, 1/4 or 1/8 scale when that still covers the largest width
    (Image.draft: libjpeg skips the detail instead of decoding and then throwing it away).
    """
    image = Image.open(io.BytesIO(data))
    # Only when the original is wider than every size: otherwise its own WebP is in the srcset
    # and needs every pixel.
    if image.format == "JPEG" and widths and image.width > max(widths):
        largest = max(widths)
        image.draft(image.mode, (largest, max(1, round(image.height * largest / image.width))))
    image.load()
    return image
