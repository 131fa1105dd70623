"""Images in post HTML: what an uploaded image's <img> says, found and rewritten in clean HTML.

Runs on the sanitizer's output (nh3 writes every attribute as name="value", with `"` always
escaped), after rendering and before storing, so pages and feeds never do this work. No Flask
and no database here: the caller passes a lookup from file keys to ImageInfo.

An <img> whose src is one of ours becomes

    <picture>
      <source type="image/webp" srcset="….webp 480w, … 1600w" sizes="…">
      <img src="…-960.jpg" srcset="….jpg 480w, … 1600w" sizes="…" width="4000" height="3000"
           alt="…" loading="lazy" decoding="async">
    </picture>

width and height are the upright original's, so the browser reserves the right box before a
byte arrives (no layout shift); every width in the srcset really is that many pixels wide.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from blog.media.names import NAME_PATTERN, SIZE_EXTENSIONS, file_name

# What <img src> gets (feed readers and anything else that ignores srcset): the smallest
# size at least this wide, a fair picture in a reading column.
FALLBACK_WIDTH = 960

_TAG = re.compile(
    r"<(?P<name>[a-zA-Z][a-zA-Z0-9-]*)(?P<attrs>(?:\s+[^\s\"'>/=]+(?:\s*=\s*(?:\"[^\"]*\""
    r"|'[^']*'|[^\s\"'=<>`]+))?)*)\s*/?>"
)
_ATTRIBUTE = re.compile(
    r"([^\s\"'>/=]+)(?:\s*=\s*(?:\"(?P<dq>[^\"]*)\"|'(?P<sq>[^']*)'|(?P<bare>[^\s\"'=<>`]+)))?"
)
MEDIA_URL = re.compile(r"(?P<base>(?:https?://[^/\s\"]+)?(?:/[^\s\"?#]*)?/media/)" + NAME_PATTERN)
_ANY_KEY = re.compile(r"/media/[0-9a-f]{2}/(?P<key>[0-9a-f]{32})")
_DIGITS = re.compile(r"[1-9][0-9]{0,4}")


@dataclass(frozen=True)
class ImageInfo:
    """What post HTML needs to know about an uploaded image (a MediaFile row, detached)."""

    key: str
    ext: str
    width: int
    height: int
    widths: tuple[int, ...] = ()
    animated: bool = False
    alt: str = ""

    def file(self, width: int | None = None, webp: bool = False) -> str:
        """The name of the file for a srcset width (None: the original) below /media/."""
        if width is None or width == self.width:
            return file_name(self.key, "webp" if webp else self.ext)
        return file_name(self.key, "webp" if webp else SIZE_EXTENSIONS[self.ext], width)

    @property
    def media_type(self) -> str:
        return {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif"}.get(
            self.ext, "image/webp"
        )

    def fallback_width(self) -> int | None:
        """The width <img src> points at: FALLBACK_WIDTH or the next one up (None: original)."""
        if not self.widths:
            return None
        return min((w for w in self.widths if w >= FALLBACK_WIDTH), default=max(self.widths))


Lookup = Callable[[set[str]], Mapping[str, ImageInfo]]
Attributes = list[tuple[str, str | None]]


def _attributes(text: str) -> Attributes:
    """Parse a tag's attributes into (name, raw value as written) pairs, in order."""
    pairs: Attributes = []
    for match in _ATTRIBUTE.finditer(text):
        value = next((v for v in match.group("dq", "sq", "bare") if v is not None), None)
        pairs.append((match.group(1).lower(), value))
    return pairs


def _get(attributes: Attributes, name: str) -> str | None:
    return next((value for key, value in attributes if key == name), None)


def _write(name: str, attributes: Attributes) -> str:
    """Write a tag back; values are raw (already escaped) text."""
    parts = [name]
    for key, value in attributes:
        parts.append(key if value is None else f'{key}="{value}"')
    return "<" + " ".join(parts) + ">"


def _media_src(attributes: Attributes) -> re.Match | None:
    src = _get(attributes, "src")
    return MEDIA_URL.fullmatch(html.unescape(src.strip())) if src else None


def _images(text: str) -> Iterable[re.Match]:
    return (tag for tag in _TAG.finditer(text) if tag.group("name").lower() == "img")


def image_keys(text: str) -> set[str]:
    """Return the keys of the uploaded images that <img> tags in text show."""
    keys = set()
    for tag in _images(text):
        found = _media_src(_attributes(tag.group("attrs")))
        if found:
            keys.add(found.group("key"))
    return keys


def used_keys(text: str) -> set[str]:
    """Return the keys of every uploaded image text shows or links to (for the library)."""
    return {match.group("key") for match in _ANY_KEY.finditer(text)}


def enhance(text: str, lookup: Lookup, sizes: str) -> str:
    """Give every <img> of an uploaded image its size, srcset, WebP twin and alternative text.

    sizes is the <img sizes> of an image as wide as the reading column; an image the writer
    gave a width of its own (an imported thumbnail) keeps it and gets a sizes saying so.
    """
    keys = image_keys(text)
    if not keys:
        return text
    infos = lookup(keys)
    if not infos:
        return text

    def rewrite(tag: re.Match) -> str:
        if tag.group("name").lower() != "img":
            return tag.group(0)
        attributes = _attributes(tag.group("attrs"))
        found = _media_src(attributes)
        info = infos.get(found.group("key")) if found else None
        if info is None:
            return tag.group(0)
        return _picture(attributes, info, found.group("base"), sizes)

    return _TAG.sub(rewrite, text)


_OURS = frozenset({"src", "srcset", "sizes", "width", "height", "alt", "loading", "decoding"})


def _box(attributes: Attributes, info: ImageInfo) -> tuple[int, int, bool]:
    """Return the width and height to show, and whether the writer chose them."""
    width, height = _get(attributes, "width"), _get(attributes, "height")
    ratio = info.height / info.width
    if width and _DIGITS.fullmatch(width):
        w = int(width)
        h = int(height) if height and _DIGITS.fullmatch(height) else max(1, round(w * ratio))
        return w, h, True
    if height and _DIGITS.fullmatch(height):
        h = int(height)
        return max(1, round(h / ratio)), h, True
    return info.width, info.height, False


def _picture(attributes: Attributes, info: ImageInfo, base: str, sizes: str) -> str:
    width, height, chosen = _box(attributes, info)
    if chosen:
        sizes = f"(max-width: {width}px) 100vw, {width}px"
    alt = (_get(attributes, "alt") or "").strip() or html.escape(info.alt, quote=True)
    widths = () if info.animated else info.widths
    ours: Attributes = [("src", base + info.file(info.fallback_width()))]
    if widths:
        srcset = ", ".join(f"{base}{info.file(w)} {w}w" for w in widths)
        ours += [("srcset", srcset), ("sizes", sizes)]
    ours += [("width", str(width)), ("height", str(height)), ("alt", alt)]
    rest = [(key, value) for key, value in attributes if key not in _OURS]
    img = _write("img", ours + rest + [("loading", "lazy"), ("decoding", "async")])
    if not widths or info.ext == "webp":
        return img
    webp = ", ".join(f"{base}{info.file(w, webp=True)} {w}w" for w in widths)
    source = _write("source", [("type", "image/webp"), ("srcset", webp), ("sizes", sizes)])
    return f"<picture>{source}{img}</picture>"


def missing_alt(text: str) -> list[str]:
    """Return the file names of the images in text that have no alternative text."""
    names = []
    for tag in _images(text):
        attributes = _attributes(tag.group("attrs"))
        if not (_get(attributes, "alt") or "").strip():
            src = html.unescape(_get(attributes, "src") or "")
            names.append(src.rstrip("/").rsplit("/", 1)[-1] or src or "(an image without a src)")
    return names


def first_image(text: str) -> tuple[str, str] | None:
    """Return the src and alt of the first <img> in text (raw URL, unescaped), or None."""
    for tag in _images(text):
        attributes = _attributes(tag.group("attrs"))
        src = _get(attributes, "src")
        if src:
            return html.unescape(src), html.unescape(_get(attributes, "alt") or "")
    return None


_URL_ATTRIBUTES = frozenset({"src", "href", "cite", "poster"})


def absolute_urls(text: str, origin: str) -> str:
    """Prefix every site-relative URL in tags (src, href, cite, srcset) with origin.

    For feeds: a feed reader resolves "/media/…" against its own address, if at all.
    origin is "https://blog.example.org" (no trailing slash).
    """

    def absolute(url: str) -> str:
        stripped = url.strip()
        if stripped.startswith("/") and not stripped.startswith("//"):
            return origin + stripped
        return url

    def rewrite(tag: re.Match) -> str:
        attributes = _attributes(tag.group("attrs"))
        changed = False
        for index, (key, value) in enumerate(attributes):
            if value is None:
                continue
            if key in _URL_ATTRIBUTES:
                new = absolute(value)
            elif key == "srcset":
                new = ", ".join(absolute(part.strip()) for part in value.split(","))
            else:
                continue
            if new != value:
                attributes[index] = (key, new)
                changed = True
        return _write(tag.group("name"), attributes) if changed else tag.group(0)

    return _TAG.sub(rewrite, text)
