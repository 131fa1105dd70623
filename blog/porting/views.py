"""The back office's Import page: upload an export, see a dry run, then import it."""

from __future__ import annotations

import io
import secrets
import time
from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, render_template, request, session
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from blog.extensions import db
from blog.media.importing import ZipSource
from blog.models import User
from blog.porting.entries import FormatError
from blog.porting.exporter import export_blog
from blog.porting.forms import ConfirmForm, UploadForm
from blog.porting.importer import run_import, zone_named
from blog.porting.rescue import rescue_report

bp = Blueprint("porting", __name__, url_prefix="/admin")

SESSION_KEY = "porting_upload"
STALE_AFTER = 24 * 3600


@bp.url_value_preprocessor
def allow_large_upload(endpoint: str | None, _values: dict | None) -> None:
    # Runs before every before_request function, CSRFProtect's included: that one reads
    # the form, so the upload limit of this page must be raised before it.
    if endpoint == "porting.upload" and request.method == "POST":
        # The export, and beside it a zip of the old site's pictures (each checked below).
        config = current_app.config
        request.max_content_length = config["IMPORT_MAX_UPLOAD"] + config["IMPORT_MEDIA_MAX_UPLOAD"]


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error):
    """Explain the upload limit instead of a bare 413."""
    # The body is not read again: formdata=None keeps the form empty.
    form = _upload_form(formdata=None)
    limit = _limit_text()
    message = (
        f"That file is larger than {limit}, the most this page takes. Import it from a shell "
        "instead: flask --app wsgi import FILE (no size limit)."
    )
    return render_template("porting/import.html", form=form, limit=limit, error=message), 413


def _limit_text(key: str = "IMPORT_MAX_UPLOAD") -> str:
    size = current_app.config[key]
    return f"{size / 1024 / 1024:g} MB" if size >= 1024 * 1024 else f"{size // 1024} KB"


def _size(upload) -> int:
    upload.stream.seek(0, 2)
    size = upload.stream.tell()
    upload.stream.seek(0)
    return size


def _upload_folder() -> Path:
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _forget_upload() -> None:
    """Delete the files kept for this session's pending import, and stale ones."""
    pending = session.pop(SESSION_KEY, None)
    folder = _upload_folder()
    if pending:
        (folder / pending["file"]).unlink(missing_ok=True)
        for name in ("urls", "media"):
            if pending.get(name):
                (folder / pending[name]).unlink(missing_ok=True)
    for pattern in ("*.export", "*.urls", "*.zip"):
        for path in folder.glob(pattern):
            if path.stat().st_mtime < time.time() - STALE_AFTER:
                path.unlink(missing_ok=True)


def _upload_form(**kwargs) -> UploadForm:
    form = UploadForm(**kwargs)
    form.author.choices = [
        (u.id, f"{u.display_name} ({u.username})")
        for u in db.session.scalars(sa.select(User).order_by(User.id))
    ]
    if form.author.data is None:
        form.author.data = current_user.id
    return form


@bp.route("/import", methods=["GET", "POST"])
@login_required
def upload():
    """Show the import form; on upload, dry-run the file and show what importing would do."""
    form = _upload_form()
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("porting/import.html", form=form, limit=_limit_text()), status
    if _size(form.export.data) > current_app.config["IMPORT_MAX_UPLOAD"]:
        raise RequestEntityTooLarge()
    pictures = form.media.data if form.media.data and form.media.data.filename else None
    if pictures is not None and _size(pictures) > current_app.config["IMPORT_MEDIA_MAX_UPLOAD"]:
        message = (
            f"That zip of pictures is larger than {_limit_text('IMPORT_MEDIA_MAX_UPLOAD')}, the "
            "most this page takes. Import from a shell instead, with the pictures in a folder: "
            "flask --app wsgi import FILE --media DIR."
        )
        return render_template(
            "porting/import.html", form=form, limit=_limit_text(), error=message
        ), 413
    _forget_upload()
    token = secrets.token_hex(16)
    name = token + ".export"
    path = _upload_folder() / name
    form.export.data.save(path)
    urls = None
    if form.old_urls.data:
        # A list of the old blog's addresses: matched to the posts, then kept for the import.
        urls = token + ".urls"
        form.old_urls.data.save(_upload_folder() / urls)
    media_name = ""
    if pictures is not None:
        media_name = token + ".zip"
        pictures.save(_upload_folder() / media_name)
    timezone = form.timezone.data.strip()
    try:
        report = _run(
            path,
            media_name,
            pictures.filename if pictures else "",
            timezone=timezone,
            author_id=form.author.data,
            dry_run=True,
            old_urls=_upload_folder() / urls if urls else None,
        )
    except (FormatError, ValueError) as error:
        path.unlink(missing_ok=True)
        for name in (urls, media_name):
            if name:
                (_upload_folder() / name).unlink(missing_ok=True)
        message = f"This file cannot be imported: {error}. Nothing was changed."
        return render_template(
            "porting/import.html", form=form, limit=_limit_text(), error=message
        ), 422
    session[SESSION_KEY] = {
        "file": name,
        "filename": form.export.data.filename or "export",
        "timezone": timezone,
        "author_id": form.author.data,
        "urls": urls,
        "media": media_name,
        "media_filename": pictures.filename if pictures else "",
    }
    return render_template(
        "porting/import.html",
        form=form,
        limit=_limit_text(),
        report=report,
        pending=session[SESSION_KEY],
        confirm=ConfirmForm(),
    )


@bp.route("/import/run", methods=["POST"])
@login_required
def apply():
    """Import the file that was just dry-run, for real, in one transaction."""
    form = ConfirmForm()
    pending = session.get(SESSION_KEY)
    path = _upload_folder() / pending["file"] if pending else None
    if not form.validate_on_submit() or path is None or not path.exists():
        message = "There is no dry-run file waiting to be imported: upload it again."
        return render_template(
            "porting/import.html", form=_upload_form(), limit=_limit_text(), error=message
        ), 409
    try:
        urls = pending.get("urls")
        report = _run(
            path,
            pending.get("media", ""),
            pending.get("media_filename", ""),
            timezone=pending["timezone"],
            author_id=pending["author_id"],
            old_urls=_upload_folder() / urls if urls else None,
        )
    except (FormatError, ValueError) as error:
        message = f"This file cannot be imported: {error}. Nothing was changed."
        return render_template(
            "porting/import.html", form=_upload_form(), limit=_limit_text(), error=message
        ), 422
    finally:
        _forget_upload()
    return render_template(
        "porting/import.html", form=_upload_form(), limit=_limit_text(), report=report, done=True
    )


@bp.route("/old-addresses.csv")
@login_required
def old_addresses():
    """Download the rescue report: every known old address and where it leads now."""
    out = io.StringIO()
    rescue_report().write_csv(out)
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="old-addresses.csv"'},
    )


def _run(path: Path, media_name: str, media_label: str, **options):
    """Run the import, with the zip of pictures kept beside the export when there is one."""
    if not media_name:
        return run_import(path, **options)
    pictures = ZipSource(_upload_folder() / media_name, media_label or "the zip")
    try:
        return run_import(path, media=pictures, **options)
    finally:
        pictures.close()


@bp.route("/export.txt")
@login_required
def download():
    """Download the whole blog as a Movable Type export."""
    out = io.StringIO()
    export_blog(out, zone_named("UTC"))
    return Response(
        out.getvalue(),
        mimetype="text/plain",
        headers={"Content-Disposition": 'attachment; filename="blog-export-movable-type.txt"'},
    )
