"""The names of image files, shared by the store, the /media/ route and post HTML.

<2 hex>/<32 hex>.<ext>         the cleaned original
<2 hex>/<32 hex>.webp          its WebP, when the original is narrow enough to be in a srcset
<2 hex>/<32 hex>-<width>.<ext> a size (a GIF's sizes are PNG), and its -<width>.webp twin
"""

from __future__ import annotations

import re

MEDIA_TYPES = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}
# Sizes keep the original's format, but a GIF's sizes are PNG: resizing mixes colours that a
# 256-colour palette would band.
SIZE_EXTENSIONS = {"jpg": "jpg", "png": "png", "gif": "png", "webp": "webp"}

NAME_PATTERN = (
    r"(?P<dir>[0-9a-f]{2})/(?P<key>[0-9a-f]{32})(?:-(?P<width>[1-9][0-9]{0,4}))?"
    r"\.(?P<ext>jpg|png|gif|webp)"
)
NAME = re.compile(NAME_PATTERN)


def file_name(key: str, ext: str, width: int | None = None) -> str:
    """Return a file's path below the media folder (and below /media/ in URLs)."""
    suffix = f"-{width}" if width else ""
    return f"{key[:2]}/{key}{suffix}.{ext}"
