"""The image library's rows: storing an upload, looking images up for posts, where they are used.

Storing is two steps so that no database transaction stays open while Pillow works:
prepare() decodes, cleans and writes the files (no database), record() adds the row (and, when
the sizes are left to the worker, its job) in the caller's transaction. An upload that is
refused stops in prepare(), before any file is written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin

import sqlalchemy as sa
from flask import current_app, has_request_context, request, url_for

from blog.extensions import db
from blog.jobs import outbox
from blog.media import images, markup, storage
from blog.media.models import MediaFile, media_use
from blog.media.names import file_name
from blog.models import Post

SIZES_JOB = "media.sizes"


def content_key(data: bytes) -> str:
    """Return the name stem of an upload: 128 bits of its SHA-256, in hex."""
    return hashlib.sha256(data).hexdigest()[:32]


def url_of(key: str, ext: str) -> str:
    """The site-relative URL of an image's original (also outside requests: the import command)."""
    name = file_name(key, ext)
    if has_request_context():
        return url_for("media.file", path=name)
    return current_app.config["APPLICATION_ROOT"].rstrip("/") + "/media/" + name


def find(key: str) -> MediaFile | None:
    return db.session.scalar(sa.select(MediaFile).where(MediaFile.key == key))


def widths_setting() -> tuple[int, ...]:
    return tuple(sorted({int(w) for w in current_app.config["MEDIA_WIDTHS"] if int(w) > 0}))


# --- Storing ----------------------------------------------------------------------------------


@dataclass
class Prepared:
    """An upload cleaned and written to disk, waiting for its row."""

    key: str
    name: str
    original: images.Encoded
    animated: bool
    widths: list[int] = field(default_factory=list)
    sizes_ready: bool = False


def prepare(data: bytes, filename: str, *, sizes_now: bool) -> Prepared:
    """Check, clean and store an upload's files; raise images.Refused for anything else.

    With sizes_now the srcset sizes are made here too; otherwise the worker makes them.
    """
    key = content_key(data)
    image = images.open_upload(data, current_app.config["MEDIA_MAX_PIXELS"], filename)
    cleaned = images.clean(image)
    original = cleaned.original
    storage.write(file_name(key, original.ext), original.data)
    prepared = Prepared(key, _display_name(filename), original, cleaned.animated)
    if cleaned.animated:
        prepared.sizes_ready = True  # an animation is shown as it is: no sizes to wait for
    elif sizes_now and cleaned.pixels is not None:
        prepared.widths = write_sizes(key, original.ext, cleaned.pixels, original.width)
        prepared.sizes_ready = True
    return prepared


def write_sizes(key: str, ext: str, pixels, original_width: int) -> list[int]:
    """Make and store an image's srcset files; return the srcset widths."""
    widths = widths_setting()
    for size in images.make_sizes(pixels, ext, widths, original_width):
        width = None if size.width == original_width else size.width
        storage.write(file_name(key, size.encoded.ext, width), size.encoded.data)
    return images.srcset_widths(original_width, widths)


def _display_name(filename: str) -> str:
    """The uploaded file's name without any folder part, at most 255 characters."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return "".join(c for c in base if c.isprintable())[:255]


def record(prepared: Prepared) -> tuple[MediaFile, bool]:
    """Add the row of a prepared upload to the current transaction; return it and whether it
    is new (the same file may have been stored meanwhile: then that row is returned)."""
    original = prepared.original
    row = MediaFile(
        key=prepared.key,
        ext=original.ext,
        width=original.width,
        height=original.height,
        size=len(original.data),
        animated=prepared.animated,
        name=prepared.name,
        widths=prepared.widths,
        sizes_ready=prepared.sizes_ready,
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except sa.exc.IntegrityError:
        # Two uploads of the same file at once: the other one stored it first.
        return find(prepared.key), False
    if not row.sizes_ready:
        outbox.record(SIZES_JOB, {"media": row.id}, key=f"{SIZES_JOB}:{row.id}")
    return row, True


# --- Posts ------------------------------------------------------------------------------------


def lookup(keys: set[str]) -> Mapping[str, markup.ImageInfo]:
    """Return what post HTML needs about the images with these keys (one query)."""
    if not keys:
        return {}
    rows = db.session.execute(
        sa.select(
            MediaFile.key,
            MediaFile.ext,
            MediaFile.width,
            MediaFile.height,
            MediaFile.widths,
            MediaFile.sizes_ready,
            MediaFile.animated,
            MediaFile.alt,
        ).where(MediaFile.key.in_(sorted(keys)))
    )
    return {row.key: info_of(row) for row in rows}


def info_of(row) -> markup.ImageInfo:
    """An ImageInfo from a MediaFile (or a row with its columns)."""
    return markup.ImageInfo(
        key=row.key,
        ext=row.ext,
        width=row.width,
        height=row.height,
        widths=tuple(row.widths or ()) if row.sizes_ready else (),
        animated=row.animated,
        alt=row.alt,
    )


def with_images(html: str) -> str:
    """Give the uploaded images in a post's sanitized HTML their sizes, srcset and alt."""
    if "/media/" not in html:
        return html
    return markup.enhance(html, lookup, current_app.config["MEDIA_IMAGE_SIZES"])


def sync_post_uses(post: Post, html_before: str) -> None:
    """Record which images a post just rendered uses (html_before: its HTML until now).

    Nothing is written for a post that used no image before or now: saving or importing
    thousands of posts without pictures costs no extra statement.
    """
    if not markup.used_keys(post.body_html) and not markup.used_keys(html_before):
        return
    new = post.id is None
    if new:
        db.session.add(post)
        db.session.flush()
    sync_uses({post.id: post.body_html}, new=new)


def sync_uses(html_by_post: Mapping[int, str], new: bool = False) -> None:
    """Record which images each post's HTML uses (new: the posts had none recorded yet)."""
    if not html_by_post:
        return
    if not new:
        db.session.execute(sa.delete(media_use).where(media_use.c.post_id.in_(list(html_by_post))))
    wanted = {post_id: markup.used_keys(html) for post_id, html in html_by_post.items()}
    keys = set().union(*wanted.values())
    if not keys:
        return
    ids = dict(
        db.session.execute(
            sa.select(MediaFile.key, MediaFile.id).where(MediaFile.key.in_(sorted(keys)))
        ).all()
    )
    rows = [
        {"media_id": ids[key], "post_id": post_id}
        for post_id, post_keys in wanted.items()
        for key in sorted(post_keys)
        if key in ids
    ]
    if rows:
        db.session.execute(sa.insert(media_use), rows)


def users(media_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    """Return, for each image, the (id, title) of the posts that use it (one query)."""
    found: dict[int, list[tuple[int, str]]] = {media_id: [] for media_id in media_ids}
    if not media_ids:
        return found
    rows = db.session.execute(
        sa.select(media_use.c.media_id, Post.id, Post.title)
        .join(Post, Post.id == media_use.c.post_id)
        .where(media_use.c.media_id.in_(media_ids))
        .order_by(media_use.c.media_id, Post.id)
    )
    for media_id, post_id, title in rows:
        found[media_id].append((post_id, title))
    return found


def post_ids_using(media_id: int) -> list[int]:
    return list(
        db.session.scalars(
            sa.select(media_use.c.post_id)
            .where(media_use.c.media_id == media_id)
            .order_by(media_use.c.post_id)
        )
    )


@dataclass(frozen=True)
class SharedImage:
    """The picture a link preview (OpenGraph, Twitter cards) shows for a post."""

    url: str
    alt: str
    width: int | None = None
    height: int | None = None
    media_type: str | None = None


def first_image(post: Post) -> SharedImage | None:
    """Return the first image of a post, with an absolute URL, for og:image (in a request).

    An uploaded image gives its largest size (at most the largest MEDIA_WIDTHS, JPEG or PNG:
    every link preview reads them) with its pixel size; any other image its URL as written.
    """
    found = markup.first_image(post.body_html or "")
    if found is None:
        return None
    src, alt = found
    match = markup.MEDIA_URL.fullmatch(src)
    info = lookup({match.group("key")}).get(match.group("key")) if match else None
    if info is None:
        return SharedImage(urljoin(request.host_url, src), alt)
    width = max(info.widths) if info.widths else info.width
    url = url_for("media.file", path=info.file(width), _external=True)
    height = max(1, round(info.height * width / info.width))
    media_type = "image/png" if info.file(width).endswith(".png") else info.media_type
    return SharedImage(url, alt or info.alt, width, height, media_type)


# --- The library's own changes ----------------------------------------------------------------


class InUse(Exception):
    """An image that posts still show cannot be deleted."""

    def __init__(self, posts: list[tuple[int, str]]) -> None:
        super().__init__(f"used by {len(posts)} post(s)")
        self.posts = posts


def delete(media: MediaFile) -> list[str]:
    """Delete an image's row (refused while a post uses it); return its files, which the
    caller removes once the deletion is committed (a rollback then loses nothing)."""
    posts = users([media.id])[media.id]
    if posts:
        raise InUse(posts)
    files = storage.files_of(media.key)
    db.session.delete(media)
    return files
