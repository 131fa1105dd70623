"""The "media.sizes" job: make an uploaded image's srcset files, then show them in its posts.

An upload leaves this job when a worker is running (blog.jobs.heartbeat): the writer gets the
image back as soon as its original is stored, and the worker decodes it again (a JPEG in
draft mode, at the smallest scale that still covers the largest width) to make the sizes.
Running it twice is harmless: the files are named by content and the row is checked first.
"""

from __future__ import annotations

from blog.extensions import db, write_transaction
from blog.jobs.models import Job
from blog.jobs.registry import PermanentError
from blog.media import images, library, refresh, storage
from blog.media.models import MediaFile


def run(job: Job) -> None:
    """Make the sizes of the image job.payload["media"], then render its posts again."""
    media = db.session.get(MediaFile, job.payload["media"])
    if media is None or media.sizes_ready:
        db.session.commit()
        return
    media_id, key, ext, width = media.id, media.key, media.ext, media.width
    db.session.commit()  # no transaction open while Pillow works
    try:
        data = storage.path(key, ext).read_bytes()
    except FileNotFoundError:
        raise PermanentError(
            f"the original file {storage.path(key, ext)} is missing; upload the image again"
        ) from None
    pixels = images.open_stored(data, library.widths_setting())
    widths = library.write_sizes(key, ext, pixels, width)
    with write_transaction():
        media = db.session.get(MediaFile, media_id)
        if media is None:
            return
        media.widths = widths
        media.sizes_ready = True
        refresh.posts_using(media_id)


def describe(job: Job) -> str:
    """Say which image a job is about, for the back office's list of jobs."""
    media = db.session.get(MediaFile, job.payload.get("media"))
    if media is None:
        return f"Image sizes for an image since deleted (#{job.payload.get('media')})"
    return f"Image sizes for {media.name or media.key} ({media.width} × {media.height})"
