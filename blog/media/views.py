"""Images over HTTP: /media/ files for readers; upload, the library, alt text and delete for
the writer (/admin/media, behind the login)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import RequestEntityTooLarge

from blog import errors
from blog.extensions import db, login_manager
from blog.htmx import is_htmx
from blog.jobs import heartbeat
from blog.media import images, library, refresh, storage
from blog.media.forms import AltForm, DeleteForm, UploadForm
from blog.media.models import MediaFile
from blog.media.names import MEDIA_TYPES, NAME, file_name

bp = Blueprint("media", __name__)

# A stored file never changes (its name is its content's hash): caches keep it for a year.
YEAR = 365 * 24 * 3600
PER_PAGE = 48
# Room for the multipart envelope around the file itself (boundaries, headers, the token).
ENVELOPE = 64 * 1024


# --- Readers ----------------------------------------------------------------------------------


@bp.route("/media/<path:path>", endpoint="file")
def file(path: str) -> Response:
    """Serve an image file: the right type, nosniff (every response has it), a year's cache."""
    match = NAME.fullmatch(path)
    if match is None:
        abort(404)
    response = send_from_directory(
        storage.folder(), path, mimetype=MEDIA_TYPES[match.group("ext")], max_age=YEAR
    )
    response.cache_control.public = True
    response.cache_control.immutable = True
    return response


# --- The writer -------------------------------------------------------------------------------


@bp.before_request
def require_login():
    """Every page but the files asks for the writer's session (JSON clients get 401)."""
    if request.endpoint == "media.file" or current_user.is_authenticated:
        return None
    if wants_json():
        return jsonify(error="Your session has ended: log in again, then upload again."), 401
    return login_manager.unauthorized()


@bp.url_value_preprocessor
def allow_image_upload(endpoint: str | None, _values: dict | None) -> None:
    # Before CSRFProtect reads the form (a before_request function): raise the request's size
    # limit for the upload only.
    if endpoint == "media.upload" and request.method == "POST":
        request.max_content_length = current_app.config["MEDIA_MAX_UPLOAD"] + ENVELOPE


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error: RequestEntityTooLarge):
    """Say how large an image may be, and what to do, instead of a bare 413."""
    if request.endpoint != "media.upload":
        return errors.too_large(error)
    return _refused(413, _too_large_message(request.content_length))


@bp.errorhandler(CSRFError)
def refused_token(error: CSRFError):
    """Tell the editor's uploader (JSON) why its upload was refused; pages get the usual page."""
    if not wants_json():
        return errors.csrf_error(error)
    message = (
        "The upload was refused: your session has ended or this page is too old. Copy your "
        "text somewhere safe, reload the page, and add the image again."
    )
    return jsonify(error=message), 400


def _too_large_message(size: int | None) -> str:
    limit = errors.size_words(current_app.config["MEDIA_MAX_UPLOAD"])
    sent = f"This file is about {errors.size_words(size)}; " if size else "This file is larger: "
    return (
        f"{sent}an image may be at most {limit}. Make it smaller (exported at 2,000 pixels "
        "wide, a photo is a few hundred KB) and upload it again."
    )


def wants_json() -> bool:
    """True when the client asked for JSON (the editor's uploader, scripts) over a page.

    Browsers and htmx (whose requests say Accept: */*) get HTML; so does a client that says
    nothing. Asking for application/json, and not for text/html as much, gets JSON.
    """
    accept = request.accept_mimetypes
    return accept["application/json"] > accept["text/html"]


@bp.route("/admin/media", methods=["POST"], endpoint="upload")
def upload():
    """Store an uploaded image (field `file`): 201 with Location, or 200 if it is already here."""
    form = UploadForm()
    if not form.validate_on_submit():
        return _refused(422, " ".join(form.file.errors) or "Choose an image file to upload.")
    upload_file = form.file.data
    limit = current_app.config["MEDIA_MAX_UPLOAD"]
    data = upload_file.read(limit + 1)
    if len(data) > limit:
        return _refused(413, _too_large_message(None))
    name = upload_file.filename or ""
    media = library.find(library.content_key(data))
    created = False
    if media is None:
        sizes_now = not heartbeat.worker_running()
        # End the transaction before Pillow works for a second or more: on SQLite a POST's
        # transaction holds the write lock, and comments would wait behind the upload.
        db.session.commit()
        try:
            prepared = library.prepare(data, name, sizes_now=sizes_now)
        except images.Refused as refused:
            return _refused(refused.status, refused.message)
        media, created = library.record(prepared)
        db.session.commit()
    return _stored(media, created)


def _stored(media: MediaFile, created: bool):
    status = 201 if created else 200
    location = url_for("media.file", path=file_name(media.key, media.ext), _external=True)
    if wants_json():
        response = jsonify({**card_data(media), "created": created})
    else:
        response = Response(
            render_template(
                "media/library.html", **_library(None, None), uploaded=media, created=created
            )
        )
    response.status_code = status
    response.headers["Location"] = location
    return response


def _refused(status: int, message: str):
    if wants_json():
        return jsonify(error=message), status
    context = _library(None, None)
    context["form"].file.errors = [message]
    return render_template("media/library.html", **context), status


def card_data(media: MediaFile) -> dict:
    """What the editor's uploader and the library need about an image."""
    url = url_for("media.file", path=file_name(media.key, media.ext))
    return {
        "id": media.id,
        "url": url,
        "markdown": markdown_for(media, url),
        "alt": media.alt,
        "name": media.name,
        "width": media.width,
        "height": media.height,
        "alt_url": url_for("media.alt", media_id=media.id),
    }


def markdown_for(media: MediaFile, url: str | None = None) -> str:
    """The Markdown that shows the image in a post, with its alternative text."""
    url = url or url_for("media.file", path=file_name(media.key, media.ext))
    alt = media.alt.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    return f"![{alt}]({url})"


# --- The library ------------------------------------------------------------------------------


def _library(before: int | None, after: int | None) -> dict:
    """One page of the library, newest first, by id (keyset: as fast on page 200 as page 1)."""
    select = sa.select(MediaFile)
    if after is not None:
        rows = db.session.scalars(
            select.where(MediaFile.id > after).order_by(MediaFile.id).limit(PER_PAGE + 1)
        ).all()
        newer = len(rows) > PER_PAGE
        items = list(reversed(rows[:PER_PAGE]))
        older = bool(items) and _exists(MediaFile.id < items[-1].id)
    else:
        if before is not None:
            select = select.where(MediaFile.id < before)
        rows = db.session.scalars(select.order_by(MediaFile.id.desc()).limit(PER_PAGE + 1)).all()
        older = len(rows) > PER_PAGE
        items = list(rows[:PER_PAGE])
        newer = before is not None and bool(items) and _exists(MediaFile.id > items[0].id)
    return {
        "items": items,
        "uses": library.users([m.id for m in items]),
        "total": db.session.scalar(sa.select(sa.func.count(MediaFile.id))),
        "older": items[-1].id if older and items else None,
        "newer": items[0].id if newer and items else None,
        # Never bound to this request's body: after a 413 it must not be read again.
        "form": UploadForm(formdata=None),
        "alt_form": AltForm(formdata=None),
        "info_of": library.info_of,
        "markdown_for": markdown_for,
    }


def _exists(condition) -> bool:
    return db.session.scalar(sa.select(MediaFile.id).where(condition).limit(1)) is not None


def _page_argument(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 19 else None


@bp.route("/admin/media", endpoint="library")
def library_page():
    """Show every image, newest first, with its sizes, where it is used and its Markdown."""
    context = _library(_page_argument("before"), _page_argument("after"))
    return render_template("media/library.html", **context)


@bp.route("/admin/media/<int:media_id>/alt", methods=["POST"], endpoint="alt")
def alt(media_id: int):
    """Change an image's alternative text; posts that leave theirs empty show the new one."""
    media = db.get_or_404(MediaFile, media_id)
    form = AltForm()
    if not form.validate_on_submit():
        message = " ".join(form.alt.errors) or "The text was not saved: reload and try again."
        if wants_json():
            return jsonify(error=message), 422
        if is_htmx():
            return _card(media, form, error=message), 422
        flash(message, "error")
        return redirect(url_for("media.library", _anchor=f"media-{media.id}"), 303)
    media.alt = form.alt.data or ""
    rendered = refresh.posts_using(media.id)
    db.session.commit()
    if wants_json():
        return jsonify({**card_data(media), "posts": rendered})
    done = "Saved." if not rendered else f"Saved; {rendered} post(s) using it updated."
    if is_htmx():
        return _card(media, AltForm(formdata=None), done=done)
    flash(f"Alternative text of {media.name or 'the image'}: {done}")
    return redirect(url_for("media.library", _anchor=f"media-{media.id}"), 303)


def _card(media: MediaFile, alt_form: AltForm, error: str = "", done: str = "") -> str:
    return render_template(
        "media/_card.html",
        media=media,
        info=library.info_of(media),
        uses=library.users([media.id])[media.id],
        alt_form=alt_form,
        markdown=markdown_for(media),
        error=error,
        done=done,
    )


@bp.route("/admin/media/<int:media_id>/delete", methods=["GET", "POST"], endpoint="delete")
def delete(media_id: int):
    """Ask before deleting an image and its sizes; refuse while a post uses it."""
    media = db.get_or_404(MediaFile, media_id)
    form = DeleteForm()
    status = 200
    if form.validate_on_submit():
        try:
            files = library.delete(media)
        except library.InUse:
            status = 409
        else:
            name = media.name or "The image"
            db.session.commit()
            storage.remove(files)
            flash(f"Deleted {name} and its sizes.")
            return redirect(url_for("media.library"), 303)
    elif form.is_submitted():
        status = 400
    return render_template(
        "media/delete.html",
        media=media,
        info=library.info_of(media),
        uses=library.users([media.id])[media.id],
        form=form,
    ), status
