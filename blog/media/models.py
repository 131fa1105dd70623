"""Uploaded images and which posts use them."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from blog.extensions import db
from blog.models import UTCDateTime, utcnow

# Which posts show (or link to) which image: written whenever a post's HTML is rendered, so
# the library can say where an image is used and refuse to delete it while it is.
media_use = sa.Table(
    "media_use",
    db.metadata,
    sa.Column("media_id", sa.ForeignKey("media_file.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("post_id", sa.ForeignKey("post.id", ondelete="CASCADE"), primary_key=True),
    sa.Index("ix_media_use_post_id", "post_id", "media_id"),
)


class MediaFile(db.Model):
    """One uploaded image: its stored original (instance/media) and the sizes made from it."""

    __tablename__ = "media_file"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # The first 32 hex digits of the SHA-256 of the uploaded bytes: the file names' stem.
    key: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True)
    # The stored original's extension: jpg, png, gif or webp.
    ext: so.Mapped[str] = so.mapped_column(sa.String(4))
    # Upright, in pixels (after the EXIF orientation is applied).
    width: so.Mapped[int]
    height: so.Mapped[int]
    # Bytes of the stored original.
    size: so.Mapped[int]
    animated: so.Mapped[bool] = so.mapped_column(default=False)
    # The file name it was uploaded (or imported) under, for the writer's eyes only.
    name: so.Mapped[str] = so.mapped_column(sa.String(255), default="")
    # The text alternative the library suggests, and fills in where a post leaves it empty.
    alt: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    # The srcset widths made so far (the original's own width included when it is listed);
    # empty and not ready until the sizes exist, made by the worker or during the upload.
    widths: so.Mapped[list[int]] = so.mapped_column(sa.JSON, default=list)
    sizes_ready: so.Mapped[bool] = so.mapped_column(default=False)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<MediaFile {self.id} {self.key}.{self.ext}>"
