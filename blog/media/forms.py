"""Forms of the media library: upload, alternative text, delete."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import Length


def _strip(value: str | None) -> str | None:
    return " ".join(value.split()) if isinstance(value, str) else value


class UploadForm(FlaskForm):
    """POST /admin/media: one image in the multipart field `file`."""

    file = FileField(
        "Image",
        validators=[FileRequired("Choose an image file to upload.")],
        description="A JPEG, PNG, GIF or WebP image.",
    )


class AltForm(FlaskForm):
    """The text a screen reader says instead of the image, suggested wherever it is inserted."""

    alt = StringField(
        "Alternative text",
        filters=[_strip],
        validators=[Length(max=500, message="Alternative text has at most 500 characters.")],
        description="What the picture shows, for readers who cannot see it.",
    )


class DeleteForm(FlaskForm):
    """The delete button (CSRF only)."""
