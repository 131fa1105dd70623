"""Where image files live: instance/media/<2 hex>/<32 hex>[-<width>].<ext>, written atomically.

A name is the first 128 bits of the SHA-256 of the uploaded bytes, so the same file uploaded
twice is stored once, and a name never changes what it holds: readers and proxies may cache
it for a year. The two-character folders keep any one directory small (10,000 images with
their sizes are 80,000 files; 256 folders hold about 300 each).

Every file is written to a hidden temporary file in its own folder and renamed into place:
a reader, nginx or a crash never sees half a file under a real name.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from flask import Flask, current_app

from blog.media.names import NAME, file_name


def init_app(app: Flask) -> None:
    """Settle MEDIA_FOLDER: the configured folder, instance/media, or (tests) a temporary one."""
    folder = app.config.get("MEDIA_FOLDER") or ""
    if not folder and app.testing:
        # Tests never fill the checkout's instance/ with uploads (as JOBS_STORAGE_URL does).
        folder = tempfile.mkdtemp(prefix="blog-media-")
        atexit.register(shutil.rmtree, folder, True)
    app.config["MEDIA_FOLDER"] = str(Path(folder or Path(app.instance_path) / "media").resolve())


def folder() -> Path:
    return Path(current_app.config["MEDIA_FOLDER"])


def path(key: str, ext: str, width: int | None = None) -> Path:
    return folder() / file_name(key, ext, width)


def write(relative: str, data: bytes) -> bool:
    """Write data under the media folder atomically; False (and nothing written) if it exists.

    Names are content-addressed: an existing file already holds these bytes.
    """
    target = folder() / relative
    if target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    try:
        with open(temporary, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return True


def remove(relatives: list[str]) -> None:
    """Delete files (a deleted image's), ignoring those already gone."""
    for relative in relatives:
        (folder() / relative).unlink(missing_ok=True)


def files_of(key: str) -> list[str]:
    """Every stored file of an image: its original and all its sizes."""
    directory = folder() / key[:2]
    if not directory.is_dir():
        return []
    return sorted(
        f"{key[:2]}/{entry.name}"
        for entry in directory.iterdir()
        if entry.name.startswith(key) and NAME.fullmatch(f"{key[:2]}/{entry.name}")
    )


def every_file() -> Iterator[Path]:
    """Yield every stored image file (backups), temporary files left out."""
    root = folder()
    if not root.is_dir():
        return
    for directory in sorted(root.iterdir()):
        if not directory.is_dir():
            continue
        for entry in sorted(directory.iterdir()):
            if NAME.fullmatch(f"{directory.name}/{entry.name}"):
                yield entry


def copy_to(destination: Path) -> tuple[int, int]:
    """Copy every image file into destination (same layout); return (copied, already there).

    A file already there under its name is skipped: names are content hashes, so it holds the
    same bytes. Each copy is written under a temporary name and renamed, like the originals.
    """
    root = folder()
    copied = kept = 0
    for source in every_file():
        relative = source.relative_to(root)
        target = destination / relative
        if target.exists() and target.stat().st_size == source.stat().st_size:
            kept += 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            shutil.copyfile(source, temporary)
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
        copied += 1
    return copied, kept
