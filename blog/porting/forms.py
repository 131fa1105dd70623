"""Forms of the Import page."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField, ValidationError
from wtforms.validators import DataRequired

from blog.porting.importer import zone_named


class UploadForm(FlaskForm):
    """Choose an export file and how to read it; submitting it runs a dry run."""

    export = FileField(
        "Export file", validators=[FileRequired("Choose the export file to import.")]
    )
    # The pictures saved from the old site, zipped (blog.media.importing matches them).
    media = FileField("Pictures saved from the old site (a .zip, optional)")
    timezone = StringField("Time zone of the old blog", default="UTC", validators=[DataRequired()])
    author = SelectField("Posts go to the account", coerce=int)
    old_urls = FileField("The old blog's addresses (optional)")

    def validate_timezone(self, field: StringField) -> None:
        try:
            zone_named(field.data.strip())
        except ValueError as error:
            raise ValidationError(str(error).capitalize() + ".") from None


class ConfirmForm(FlaskForm):
    """The button that runs the real import of the file just dry-run (CSRF only)."""
