"""Moving in with the pictures: match the images an imported post shows (or links to) to the
files saved from the old site, store each as an upload, and point the post at its new address.

The files come from a folder (`flask --app wsgi import FILE --media DIR`) or a zip (the Import
page, or --media photos.zip). A reference is matched, in this order, by
  1. its path: the longest tail of the URL's path that is a file's path in the folder
     (http://nell.typepad.com/blog/images/cat.jpg finds images/cat.jpg, or
     nell.typepad.com/blog/images/cat.jpg in a mirror made with wget);
  2. its file name, with or without an extension (TypePad's /.a/6a00…-800wi names have none,
     and whoever saved them may have added one);
  3. TypePad's asset id: /.a/6a00d8341c…-320wi is the same picture as 6a00d8341c…-pi, the
     original, which is what people saved;
  4. WordPress's resized copies: photo-1024x768.jpg is photo.jpg (or photo-scaled.jpg).
Pillow then says what each file is: no extension is needed, and a file that is not a real
image is reported, never stored. What matches nothing is reported with the post it is in.

A zip is read in place, never unpacked to disk by its names: a member called ../../x (zip
slip) is skipped, and one whose declared size is over the upload limit or that claims to
compress more than 100 to 1 (a zip bomb; photos barely compress) is refused unread.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html import escape
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import lxml.html
from flask import current_app

from blog import content
from blog.jobs import heartbeat
from blog.media import images, library, markup
from blog.models import Post

# Files a reference to the old site may name: pictures and what was saved of them.
_IMAGE_PATH = re.compile(r"\.(?:jpe?g|png|gif|webp)$|/\.a/|/wp-content/uploads/", re.IGNORECASE)
_TYPEPAD_ASSET = re.compile(r"(6a[0-9a-f]{32})", re.IGNORECASE)
_WORDPRESS_SIZE = re.compile(r"^(?P<stem>.+?)(?:-\d+x\d+|-scaled|-rotated)(?P<ext>\.\w+)?$")
# A member that claims to unpack to more than this many times its size is no photo.
ZIP_MAX_RATIO = 100
ZIP_MAX_MEMBERS = 100_000


class Source:
    """Files saved from the old site: relative POSIX paths, and their bytes on request."""

    label = ""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def paths(self) -> list[str]:
        raise NotImplementedError

    def read(self, path: str, limit: int) -> bytes:
        """Return the file's bytes; raise images.Refused when it is over limit or unsafe."""
        raise NotImplementedError

    def close(self) -> None:
        """Let go of what the source holds open."""


class FolderSource(Source):
    """A folder on this machine (the command's --media DIR); symbolic links are not followed."""

    def __init__(self, root: str | Path) -> None:
        super().__init__()
        self.root = Path(root).resolve()
        self.label = str(root)

    def paths(self) -> list[str]:
        found = []
        for directory, folders, names in os.walk(self.root):
            folders[:] = [f for f in folders if not (Path(directory) / f).is_symlink()]
            for name in names:
                path = Path(directory) / name
                if not path.is_symlink() and path.is_file():
                    found.append(path.relative_to(self.root).as_posix())
        return sorted(found)

    def read(self, path: str, limit: int) -> bytes:
        target = self.root / path
        if target.stat().st_size > limit:
            raise images.Refused(413, f"larger than {_megabytes(limit)}, the upload limit")
        return target.read_bytes()


class ZipSource(Source):
    """A zip of the saved files, read member by member (never extracted by name)."""

    def __init__(self, path: str | Path, label: str = "") -> None:
        super().__init__()
        self.label = label or Path(path).name
        try:
            self.zip = zipfile.ZipFile(path)
            members = self.zip.infolist()
        except (zipfile.BadZipFile, OSError) as error:
            raise ValueError(f"{self.label} is not a zip file that can be read ({error})") from None
        if len(members) > ZIP_MAX_MEMBERS:
            raise ValueError(f"{self.label} holds more than {ZIP_MAX_MEMBERS:,} files")
        self.members: dict[str, zipfile.ZipInfo] = {}
        for member in members:
            if member.is_dir():
                continue
            name = _safe_member_name(member.filename)
            if name is None:
                self.notes.append(f"skipped {member.filename!r} in the zip: an unsafe name")
                continue
            self.members.setdefault(name, member)

    def paths(self) -> list[str]:
        return sorted(self.members)

    def read(self, path: str, limit: int) -> bytes:
        member = self.members[path]
        if member.file_size > limit:
            raise images.Refused(413, f"larger than {_megabytes(limit)}, the upload limit")
        if member.compress_size and member.file_size / member.compress_size > ZIP_MAX_RATIO:
            raise images.Refused(
                422,
                f"claims to unpack {member.file_size / member.compress_size:.0f} times its "
                "size in the zip, like a zip bomb: not read",
            )
        with self.zip.open(member) as fh:
            data = fh.read(limit + 1)  # the declared size can lie: never read past the limit
        if len(data) > limit:
            raise images.Refused(413, f"larger than {_megabytes(limit)}, the upload limit")
        return data

    def close(self) -> None:
        self.zip.close()


def _safe_member_name(name: str) -> str | None:
    """A zip member's name as a relative POSIX path, or None for ../, absolute or odd names."""
    name = name.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or "\x00" in name:
        return None
    parts = [part for part in PurePosixPath(name).parts if part not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def _megabytes(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.0f} MB"
    return f"{size / 1024:.0f} KB"


def open_source(path: str | Path, label: str = "") -> Source:
    """A FolderSource for a folder, a ZipSource for a zip file."""
    return FolderSource(path) if Path(path).is_dir() else ZipSource(path, label)


# --- Matching ---------------------------------------------------------------------------------


class Index:
    """The saved files, looked up by path tail, name, stem and TypePad asset id."""

    def __init__(self, paths: list[str]) -> None:
        self.by_path: dict[str, str] = {}
        self.by_name: dict[str, list[str]] = {}
        self.by_stem: dict[str, list[str]] = {}
        self.by_asset: dict[str, list[str]] = {}
        for path in paths:
            lowered = path.lower()
            self.by_path.setdefault(lowered, path)
            name = lowered.rsplit("/", 1)[-1]
            self.by_name.setdefault(name, []).append(path)
            stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
            self.by_stem.setdefault(stem, []).append(path)
            asset = _TYPEPAD_ASSET.search(name)
            if asset:
                self.by_asset.setdefault(asset.group(1).lower(), []).append(path)

    def match(self, url: str) -> tuple[str | None, str]:
        """Return (the file for url, "") or (None, why it matched nothing)."""
        parts = urlsplit(url)
        path = unquote(parts.path)
        segments = [s for s in path.lower().split("/") if s]
        if not segments:
            return None, "no file name in the address"
        host = (parts.hostname or "").lower()
        candidates = [host, *segments] if host else segments
        # 1. The longest tail of the path (with the host, for a wget mirror) that is a file.
        for start in range(len(candidates)):
            found = self.by_path.get("/".join(candidates[start:]))
            if found and start < len(candidates) - 1:
                return found, ""
        name = segments[-1]
        # 2. The file name alone, or its stem (an extension added or taken away).
        for table, key in ((self.by_name, name), (self.by_stem, _stem(name))):
            found = table.get(key, [])
            if len(found) == 1:
                return found[0], ""
            if len(found) > 1:
                return None, f"{len(found)} saved files are called {found[0].rsplit('/', 1)[-1]}"
        # 3. TypePad: any saved variant of the same asset, the original (-pi) first.
        asset = _TYPEPAD_ASSET.search(name)
        if asset:
            variants = self.by_asset.get(asset.group(1).lower(), [])
            if variants:
                return sorted(variants, key=lambda p: ("-pi" not in p.lower(), len(p), p))[0], ""
        # 4. WordPress: photo-1024x768.jpg was made from photo.jpg.
        resized = _WORDPRESS_SIZE.match(name)
        if resized:
            original = resized.group("stem") + (resized.group("ext") or "")
            for key in (original, resized.group("stem") + "-scaled" + (resized.group("ext") or "")):
                found = self.by_name.get(key, [])
                if len(found) == 1:
                    return found[0], ""
        return None, "no saved file has this name"


def _stem(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name


def image_references(html: str) -> Iterator[str]:
    """Yield the URLs of the images a post's HTML shows (src) or links to (href to a picture)."""
    if not html.strip():
        return
    for element in lxml.html.fragment_fromstring(html, create_parent="div").iter():
        if not isinstance(element.tag, str):
            continue
        for attribute in ("src", "href"):
            url = (element.get(attribute) or "").strip()
            if not url or urlsplit(url).scheme not in ("", "http", "https"):
                continue
            if attribute == "src" or _IMAGE_PATH.search(urlsplit(url).path):
                yield url


# --- Attaching --------------------------------------------------------------------------------


@dataclass
class Report:
    """What bringing the pictures along did (or, in a dry run, would do)."""

    source: str = ""
    files: int = 0
    dry_run: bool = False
    attached: dict[str, str] = field(default_factory=dict)  # old URL -> new URL
    stored: int = 0  # new images in the library
    already: int = 0  # files that were in the library already
    sizes_left_to_worker: bool = False
    unmatched: dict[str, tuple[str, str]] = field(default_factory=dict)  # URL -> (title, why)
    refused: dict[str, str] = field(default_factory=dict)  # file -> why
    notes: list[str] = field(default_factory=list)

    def lines(self) -> Iterator[str]:
        verb = "would be" if self.dry_run else "were"
        yield (
            f"Pictures from {self.source} ({self.files:,} files): {len(self.attached)} "
            f"references {verb} pointed at this blog's copies ({self.stored} new images, "
            f"{self.already} already in the library)."
        )
        if self.sizes_left_to_worker and self.stored:
            yield "  Their sizes for small screens are being made by the worker."
        for path, why in self.refused.items():
            yield f"  Not stored: {path}: {why}"
        for note in self.notes:
            yield f"  Note: {note}"
        if self.unmatched:
            yield f"Picture references no saved file matched ({len(self.unmatched)}):"
            for url, (title, why) in self.unmatched.items():
                yield f"  {url}  (in {title or '(no title)'}: {why})"


class Attacher:
    """Matches, stores and rewrites, post by post, within the import's transaction."""

    def __init__(self, source: Source, *, dry_run: bool = False) -> None:
        self.source = source
        paths = source.paths()
        self.index = Index(paths)
        self.dry_run = dry_run
        self.limit = int(current_app.config["MEDIA_MAX_UPLOAD"])
        self.sizes_now = not heartbeat.worker_running()
        self.report = Report(source.label, len(paths), dry_run, notes=list(source.notes))
        self.report.sizes_left_to_worker = not self.sizes_now
        self._stored: dict[str, str | None] = {}  # file -> its new URL (None: refused)

    def attach(self, post: Post, is_old: Callable[[str], bool]) -> int:
        """Point the post's old picture references at stored copies; return how many."""
        replacements: dict[str, str] = {}
        for url in dict.fromkeys(image_references(post.body_html or "")):
            if not urlsplit(url).netloc and markup.MEDIA_URL.fullmatch(url):
                continue  # already one of ours
            if not is_old(url):
                continue
            path, why = self.index.match(url)
            if path is None:
                self.report.unmatched.setdefault(url, (post.title, why))
                continue
            new = self._store(path)
            if new is None:
                self.report.unmatched.setdefault(url, (post.title, f"{path} was not stored"))
                continue
            replacements[url] = new
            self.report.attached[url] = new
            self.report.unmatched.pop(url, None)
        if replacements and not self.dry_run:
            post.body = rewrite(post.body, replacements)
            content.render_post(post)
        return len(replacements)

    def _store(self, path: str) -> str | None:
        if path in self._stored:
            return self._stored[path]
        url: str | None = None
        try:
            data = self.source.read(path, self.limit)
            key = library.content_key(data)
            existing = library.find(key)
            if existing is not None:
                self.report.already += 1
                url = library.url_of(existing.key, existing.ext)
            elif self.dry_run:
                image = images.open_upload(data, current_app.config["MEDIA_MAX_PIXELS"], path)
                self.report.stored += 1
                url = library.url_of(key, images.EXTENSIONS[image.format])
            else:
                prepared = library.prepare(data, path, sizes_now=self.sizes_now)
                media, created = library.record(prepared)
                self.report.stored += created
                self.report.already += not created
                url = library.url_of(media.key, media.ext)
        except images.Refused as refused:
            self.report.refused[path] = refused.message
        except OSError as error:
            self.report.refused[path] = f"could not be read ({error.strerror or error})"
        self._stored[path] = url
        return url


def rewrite(body: str, replacements: dict[str, str]) -> str:
    """Replace each old URL in a post's source by its new one, as written or HTML-escaped."""
    for old in sorted(replacements, key=len, reverse=True):
        new = replacements[old]
        for written in dict.fromkeys((old, escape(old, quote=True), old.replace("&", "&amp;"))):
            body = re.sub(re.escape(written) + r"(?=[\"'\s)<>]|$)", new, body)
    return body
