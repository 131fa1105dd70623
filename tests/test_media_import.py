"""Moving in with the pictures: `flask --app wsgi import FILE --media DIR`, the Import page with
a zip (zip slip and zip bombs refused), and `flask --app wsgi backup PATH` keeping the images."""

from __future__ import annotations

import io
import sqlite3
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from blog import create_app
from blog.extensions import db
from blog.media.importing import Index
from blog.media.models import media_use
from blog.models import Post
from tests.helpers import factories
from tests.helpers import images as files
from tests.helpers.auth import login
from tests.helpers.html import csrf_token, parse, text
from tests.helpers.media import fetch, media_rows, multipart, stored_files

BOXES = "6a00d8341c5f0953ef0120a5e8d7a4970c"  # a TypePad asset id: the moving boxes
LOST = "6a00d8341c5f0953ef0120a5e8d7a4970d"  # one whose file nobody saved
OLD = "http://nell.typepad.com"

EXPORT = f"""AUTHOR: Nell
TITLE: Moving house
BASENAME: moving_house
STATUS: Publish
ALLOW COMMENTS: 1
CONVERT BREAKS: 0
DATE: 03/15/2009 09:30:00 PM
-----
BODY:
<p><a href="{OLD}/.a/{BOXES}-pi"><img src="{OLD}/.a/{BOXES}-320wi" width="320"
alt="Boxes in the hall" /></a></p>
<p>And the cat: <img src="{OLD}/blog/images/2009/03/cat.jpg?w=300&amp;h=200" /></p>
<p><img src="{OLD}/.a/{LOST}-800wi" alt="Lost" /></p>
<p><img src="{OLD}/blog/images/evil.jpg" alt="Not a picture" /></p>
<p>A recipe: <a href="{OLD}/files/recipe.pdf">recipe.pdf</a>.
From elsewhere: <img src="https://photos.example.com/sunset.jpg" alt="Sunset" /></p>
-----
--------
AUTHOR: Nell
TITLE: The cat again
BASENAME: the_cat_again
STATUS: Publish
CONVERT BREAKS: markdown
DATE: 03/16/2009 08:00:00 AM
-----
BODY:
![The cat, asleep]({OLD}/blog/images/2009/03/cat.jpg "Asleep on the boxes")
-----
--------
"""


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    """What Nell saved from TypePad before it closed: a folder of files, some extensionless."""
    root = tmp_path_factory.mktemp("saved")
    (root / ".a").mkdir()
    (root / ".a" / f"{BOXES}-pi").write_bytes(files.phone_photo(2400, 1800))  # no extension
    images = root / "blog" / "images" / "2009" / "03"
    images.mkdir(parents=True)
    (images / "cat.jpg").write_bytes(files.png(900, 600))  # a PNG, whatever its name says
    (root / "blog" / "images" / "evil.jpg").write_bytes(files.HTML_NAMED_JPG)
    (root / "notes.txt").write_text("not a picture, and nobody asked for it")
    return root


def export(tmp_path: Path) -> Path:
    path = tmp_path / "typepad.txt"
    path.write_text(EXPORT, encoding="utf-8")
    return path


def command(app, *args: str):
    """Run a command as `flask` does: in an app context of its own."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def post_titled(app, title: str) -> Post:
    with app.app_context():
        post = db.session.scalars(sa.select(Post).where(Post.title == title)).one()
        db.session.expunge(post)
        return post


def test_an_mt_export_and_a_folder_of_pictures_move_in_with_one_command(app, tmp_path, saved):
    factories.writer(app)
    result = command(app, "import", str(export(tmp_path)), "--media", str(saved))
    assert result.exit_code == 0, result.output
    output = result.output
    assert (
        f"Pictures from {saved} (4 files): 4 references were pointed at this blog's copies "
        "(2 new images, 0 already in the library)." in output
    )
    assert "Not stored: blog/images/evil.jpg: “blog/images/evil.jpg” is a web page" in output
    assert f"{OLD}/.a/{LOST}-800wi  (in Moving house: no saved file has this name)" in output
    assert "sunset.jpg  (in Moving house: no saved file has this name)" in output
    # Still on the old site: what was not matched; no longer what was.
    still = output.split("save them before it closes:")[1]
    assert f"{OLD}/files/recipe.pdf" in still and f"{LOST}-800wi" in still
    assert BOXES not in still and "cat.jpg" not in still

    boxes, cat = media_rows(app)
    assert (boxes.ext, boxes.width, boxes.height, boxes.name) == (
        "jpg",
        1800,
        2400,
        f"{BOXES}-pi",
    )
    assert (cat.ext, cat.width, cat.height) == ("png", 900, 600)

    moving = post_titled(app, "Moving house")
    # The source now names this blog's copies; the unmatched references are left as they were.
    assert f"{OLD}/.a/{BOXES}" not in moving.body and "cat.jpg" not in moving.body
    assert f"{OLD}/.a/{LOST}-800wi" in moving.body and f"{OLD}/blog/images/evil.jpg" in moving.body
    page = parse(app.test_client().get(factories.path_of(moving)))
    body = page.xpath("//div[contains(@class, 'post-body')]")[0]
    link = body.xpath(".//a[img or picture]")[0]
    assert link.get("href") == f"/media/{boxes.key[:2]}/{boxes.key}.jpg"
    thumb = link.xpath(".//img")[0]
    assert (thumb.get("width"), thumb.get("height"), thumb.get("alt")) == (
        "320",
        "427",
        "Boxes in the hall",
    )
    assert thumb.get("sizes") == "(max-width: 320px) 100vw, 320px" and "480w" in thumb.get("srcset")
    cat_img = [img for img in body.xpath(".//img") if cat.key in (img.get("src") or "")][0]
    assert (cat_img.get("width"), cat_img.get("height")) == ("900", "600")
    # The stored photo is upright and carries no GPS.
    served = fetch(app.test_client(), link.get("href"))
    assert files.metadata_left(served.data) == [] and files.open_bytes(served.data).size == (
        1800,
        2400,
    )

    again = post_titled(app, "The cat again")
    root = parse(again.body_html)
    assert text(root.xpath("//figcaption")[0]) == "Asleep on the boxes"
    assert root.xpath("//img/@alt") == ["The cat, asleep"]
    with app.app_context():
        uses = set(db.session.execute(sa.select(media_use.c.media_id, media_use.c.post_id)))
    assert uses == {(boxes.id, moving.id), (cat.id, moving.id), (cat.id, again.id)}


def test_importing_again_with_the_pictures_adds_nothing(app, tmp_path, saved):
    factories.writer(app)
    path = export(tmp_path)
    assert command(app, "import", str(path), "--media", str(saved)).exit_code == 0
    files_before, rows_before = stored_files(app), media_rows(app)
    result = command(app, "import", str(path), "--media", str(saved))
    assert result.exit_code == 0, result.output
    assert "posts: 0 new" in result.output
    assert "0 new images" in result.output
    assert stored_files(app) == files_before and len(media_rows(app)) == len(rows_before)


def test_a_dry_run_with_pictures_stores_nothing(app, tmp_path, saved):
    factories.writer(app)
    result = command(app, "import", str(export(tmp_path)), "--media", str(saved), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "4 references would be pointed at this blog's copies (2 new images" in result.output
    assert "Dry run: nothing was changed." in result.output
    assert stored_files(app) == [] and media_rows(app) == []


def test_a_media_folder_that_is_not_there_is_refused(app, tmp_path):
    result = command(app, "import", str(export(tmp_path)), "--media", str(tmp_path / "nope"))
    assert result.exit_code == 2 and "does not exist" in result.output


def test_how_references_find_their_files():
    index = Index(
        [
            "nell.typepad.com/blog/images/2009/cat.jpg",
            "old/images/cat.jpg",
            ".a/6a00d8341c5f0953ef0120a5e8d7a4970c-pi.jpg",
            ".a/6a00d8341c5f0953ef0120a5e8d7a4970c-320wi",
            "uploads/2019/05/harbour.jpg",
            "uploads/2019/05/harbour-scaled-more.jpg",
            "Sunset.JPG",
        ]
    )
    assert index.match("http://nell.typepad.com/blog/images/2009/cat.jpg") == (
        "nell.typepad.com/blog/images/2009/cat.jpg",
        "",
    )
    assert index.match("http://x.example/old/images/cat.jpg")[0] == "old/images/cat.jpg"
    assert index.match("http://x.example/cat.jpg") == (None, "2 saved files are called cat.jpg")
    assert index.match("http://nell.typepad.com/.a/6a00d8341c5f0953ef0120a5e8d7a4970c-pi")[0] == (
        ".a/6a00d8341c5f0953ef0120a5e8d7a4970c-pi.jpg"  # the same name with an extension added
    )
    assert index.match("http://nell.typepad.com/.a/6a00d8341c5f0953ef0120a5e8d7a4970c-800wi")[
        0
    ] == (
        ".a/6a00d8341c5f0953ef0120a5e8d7a4970c-pi.jpg"  # another size of it: the original
    )
    assert index.match("https://blog.example/wp-content/uploads/2019/05/harbour-1024x768.jpg")[
        0
    ] == ("uploads/2019/05/harbour.jpg")
    assert index.match("https://blog.example/sunset.jpg")[0] == "Sunset.JPG"
    assert index.match("https://blog.example/")[0] is None


# --- The Import page, with a zip -------------------------------------------------------------


def zipped(members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return out.getvalue()


def zip_of(folder: Path) -> bytes:
    return zipped(
        {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    )


@pytest.fixture
def imports(app):
    """The Import page keeps uploads in instance/imports (the checkout's): remove this test's."""
    folder = Path(app.instance_path) / "imports"
    before = set(folder.glob("*")) if folder.exists() else set()
    yield folder
    for path in set(folder.glob("*")) - before:
        path.unlink(missing_ok=True)


@pytest.fixture
def writer(app, imports):
    factories.writer(app)
    client = app.test_client()
    login(client)
    return client


def import_page(client, pictures: bytes | None, name: str = "pictures.zip"):
    fields = {
        "export": FileStorage(io.BytesIO(EXPORT.encode()), filename="typepad.txt"),
        "timezone": "UTC",
        "author": "1",
        "csrf_token": csrf_token(client, "/admin/import"),
    }
    if pictures is not None:
        fields["media"] = FileStorage(io.BytesIO(pictures), filename=name)
    body, content_type = multipart(fields)
    return client.post("/admin/import", data=body, content_type=content_type)


def test_the_import_page_takes_a_zip_of_pictures(app, writer, saved, imports):
    before = set(imports.glob("*.zip"))
    dry = import_page(writer, zip_of(saved))
    [kept] = set(imports.glob("*.zip")) - before  # the zip waits beside the export
    assert dry.status_code == 200
    page = parse(dry)
    assert "4 picture references would point at this blog's copies (2 new images" in text(
        page.xpath("//*[@id='report-pictures']")[0]
    )
    unmatched = text(page.xpath("//*[@id='report-pictures-unmatched']")[0])
    assert f"{LOST}-800wi" in unmatched
    assert stored_files(app) == [] and media_rows(app) == []
    token = csrf_token(writer, "/admin/import")
    done = writer.post("/admin/import/run", data={"csrf_token": token})
    assert done.status_code == 200
    assert "now point at this blog's copies (2 new images" in text(
        parse(done).xpath("//*[@id='report-pictures']")[0]
    )
    assert len(media_rows(app)) == 2
    assert not kept.exists()  # once imported, the zip is deleted


def test_zip_slip_names_are_skipped_and_nothing_is_written_outside(app, writer, tmp_path):
    photo = files.jpeg(400, 300)
    archive = zipped(
        {
            "../../../escaped.jpg": photo,
            "/etc/absolute.jpg": photo,
            "C:/windows/drive.jpg": photo,
            "blog/images/2009/03/cat.jpg": files.png(200, 100),
        }
    )
    response = import_page(writer, archive)
    assert response.status_code == 200
    notes = text(parse(response).xpath("//*[@id='report-pictures-refused']")[0])
    for name in ("../../../escaped.jpg", "/etc/absolute.jpg", "C:/windows/drive.jpg"):
        assert f"skipped '{name}' in the zip: an unsafe name" in notes
    summary = text(parse(response).xpath("//*[@id='report-pictures']")[0])
    assert "2 picture references would point at this blog's copies (1 new image" in summary
    root = Path(app.instance_path).parent
    assert not list(root.rglob("escaped.jpg")) and not list(tmp_path.rglob("escaped.jpg"))
    assert not Path("/etc/absolute.jpg").exists()


def test_a_zip_bomb_member_is_refused_unread(app, writer):
    bomb = b"\x00" * (12 * 1024 * 1024)  # 12 MB that deflate into about 12 KB
    archive = zipped({f".a/{BOXES}-pi": bomb}, zipfile.ZIP_DEFLATED)
    assert len(archive) < 100_000
    response = import_page(writer, archive)
    assert response.status_code == 200
    refused = text(parse(response).xpath("//*[@id='report-pictures-refused']")[0])
    assert (
        f"Not stored: .a/{BOXES}-pi: claims to unpack" in refused and "like a zip bomb" in refused
    )


def test_a_member_over_the_upload_limit_is_refused(app_config, tmp_path, imports):
    app = create_app(
        {**app_config, "MEDIA_FOLDER": str(tmp_path / "m"), "MEDIA_MAX_UPLOAD": 50_000}
    )
    factories.writer(app)
    client = app.test_client()
    login(client)
    big = files.jpeg(1600, 1200, quality=95)
    assert len(big) > 50_000
    response = import_page(client, zipped({f".a/{BOXES}-pi": big}))
    refused = text(parse(response).xpath("//*[@id='report-pictures-refused']")[0])
    assert f"Not stored: .a/{BOXES}-pi: larger than 49 KB, the upload limit" in refused
    with app.app_context():
        db.engine.dispose()


def test_something_that_is_not_a_zip_is_refused_with_a_message(app, writer):
    response = import_page(writer, b"PK\x03\x04 not really a zip", "pictures.zip")
    assert response.status_code == 422
    assert "pictures.zip is not a zip file that can be read" in response.get_data(as_text=True)


# --- Backups keep the images ------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_backup_copies_the_database_then_the_images(app, tmp_path, saved):
    factories.writer(app)
    assert command(app, "import", str(export(tmp_path)), "--media", str(saved)).exit_code == 0
    target = tmp_path / "backups" / "blog-2026-11-30.sqlite"
    target.parent.mkdir()
    result = command(app, "backup", str(target))
    assert result.exit_code == 0, result.output
    media = target.with_name(target.name + ".media")
    assert f"Images: {len(stored_files(app))} copied to {media}, 0 already there." in result.output
    live = Path(app.config["MEDIA_FOLDER"])
    copied = sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file())
    assert copied == stored_files(app)
    for relative in copied:
        assert (media / relative).read_bytes() == (live / relative).read_bytes()
    keys = {key for (key,) in sqlite3.connect(target).execute("SELECT key FROM media_file")}
    assert keys == {row.key for row in media_rows(app)}
    # A second backup into the same image folder copies only what is new.
    shared = tmp_path / "backups" / "media"
    assert (
        command(
            app, "backup", str(target.with_name("one.sqlite")), "--media", str(shared)
        ).exit_code
        == 0
    )
    factories.post(app, "Later", "A later post.")
    client = app.test_client()
    login(client)
    from tests.helpers.media import upload

    upload(client, files.png(120, 80), "later.png")
    result = command(app, "backup", str(target.with_name("two.sqlite")), "--media", str(shared))
    assert result.exit_code == 0, result.output
    assert f"Images: 2 copied to {shared}, {len(copied)} already there." in result.output
