"""POST /admin/media and /media/: real files made with Pillow, through the real endpoint; what
is stored (files and rows), what readers are served, and every refusal with its message."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from blog import create_app
from blog.extensions import db
from blog.jobs import heartbeat, queue, runner
from blog.jobs.models import Job
from blog.media.models import MediaFile
from blog.models import Post, Setting, utcnow
from tests.helpers import factories
from tests.helpers import images as files
from tests.helpers.auth import login
from tests.helpers.html import csrf_token, errors_by_field, parse, text
from tests.helpers.media import fetch, media_rows, multipart, stored_files, upload

CACHE = "public, max-age=31536000, immutable"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def writer(app, client):
    factories.writer(app)
    login(client)
    return client


@pytest.fixture(scope="module")
def photo() -> bytes:
    """One phone photo for the module (the same bytes each time: its name is its hash)."""
    return files.phone_photo(2400, 1800)


def path_of(location: str) -> str:
    return "/" + location.split("/", 3)[3]


# --- Storing ----------------------------------------------------------------------------------


def test_an_upload_is_stored_cleaned_and_answers_201_with_its_location(app, writer, photo):
    response = upload(writer, photo, "IMG_2041.JPG")
    assert response.status_code == 201
    body = response.get_json()
    location = response.headers["Location"]
    assert location.startswith("http://localhost/media/") and location.endswith(body["url"])
    assert body["created"] is True
    assert (body["width"], body["height"], body["name"]) == (1800, 2400, "IMG_2041.JPG")
    assert body["markdown"] == f"![]({body['url']})"
    [row] = media_rows(app)
    assert (row.ext, row.width, row.height, row.sizes_ready) == ("jpg", 1800, 2400, True)
    assert row.widths == [480, 960, 1600]
    key = row.key
    assert stored_files(app) == sorted(
        [f"{key[:2]}/{key}.jpg"]
        + [f"{key[:2]}/{key}-{w}.{ext}" for w in (480, 960, 1600) for ext in ("jpg", "webp")]
    )
    served = fetch(writer, path_of(location))
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Cache-Control"] == CACHE
    assert files.metadata_left(served.data) == []
    assert files.open_bytes(served.data).size == (1800, 2400)


@pytest.mark.parametrize(
    ("make", "name", "media_type"),
    [
        (files.png, "chart.png", "image/png"),
        (files.webp, "shot.webp", "image/webp"),
        (files.animated_gif, "wave.gif", "image/gif"),
    ],
)
def test_each_format_is_served_with_its_type_and_no_metadata(app, writer, make, name, media_type):
    response = upload(writer, make(), name)
    assert response.status_code == 201
    [row] = media_rows(app)
    for relative in stored_files(app):
        served = fetch(writer, f"/media/{relative}")
        assert served.status_code == 200
        expected = "image/webp" if relative.endswith(".webp") else media_type
        if relative.endswith(".png"):
            expected = "image/png"
        assert served.headers["Content-Type"] == expected
        assert served.headers["Cache-Control"] == CACHE
        assert files.metadata_left(served.data) == [], relative
    assert row.animated == (name == "wave.gif")


def test_the_same_file_twice_is_stored_once(app, writer, photo):
    first = upload(writer, photo, "a.jpg")
    before = stored_files(app)
    second = upload(writer, photo, "copy of a.jpg")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.headers["Location"] == first.headers["Location"]
    assert second.get_json()["created"] is False
    assert len(media_rows(app)) == 1 and stored_files(app) == before


def test_without_javascript_the_librarys_form_uploads_and_shows_the_markdown(app, writer):
    response = upload(writer, files.png(300, 200), "diagram.png", as_json=False)
    assert response.status_code == 201
    page = parse(response)
    assert "Uploaded: diagram.png (300 × 200 pixels)" in text(
        page.xpath("//*[@id='upload-done']")[0]
    )
    [row] = media_rows(app)
    markdown = page.xpath(f"//input[@id='markdown-{row.id}']/@value")
    assert markdown == [f"![](/media/{row.key[:2]}/{row.key}.png)"]
    assert response.headers["Location"].endswith(f"/media/{row.key[:2]}/{row.key}.png")


# --- Refused ----------------------------------------------------------------------------------

HOSTILE = {
    "svg": (files.SVG_WITH_SCRIPT, "drawing.svg", 415, "SVG"),
    "html named .jpg": (files.HTML_NAMED_JPG, "cat.jpg", 415, "web page"),
    "gif/js polyglot": (files.GIF_JS_POLYGLOT, "x.gif", 422, "damaged"),
    "truncated": (files.truncated_jpeg(), "half.jpg", 422, "cut short"),
    "empty": (b"", "empty.jpg", 422, "empty"),
    "bomb": (files.bomb_png(8000, 8000), "bomb.png", 422, "megapixels"),
}


@pytest.mark.parametrize("label", HOSTILE)
def test_hostile_uploads_are_refused_and_nothing_is_stored(app, writer, label):
    data, name, status, words = HOSTILE[label]
    response = upload(writer, data, name)
    assert response.status_code == status
    assert words in response.get_json()["error"]
    assert "Location" not in response.headers
    assert stored_files(app) == [] and media_rows(app) == []
    # The same through the library's plain form: the message next to the file field.
    page = upload(writer, data, name, as_json=False)
    assert page.status_code == status
    assert words in errors_by_field(page)["file"]
    assert stored_files(app) == [] and media_rows(app) == []


def test_a_polyglot_is_stored_as_its_picture_alone(app, writer):
    response = upload(writer, files.png_with_html_appended(), "innocent.png")
    assert response.status_code == 201
    served = fetch(writer, path_of(response.headers["Location"]))
    assert files.HTML_PAYLOAD not in served.data
    assert served.headers["Content-Type"] == "image/png"


def test_a_request_without_a_file_is_refused(writer):
    token = csrf_token(writer, "/admin/media")
    response = writer.post(
        "/admin/media", data={}, headers={"Accept": "application/json", "X-CSRFToken": token}
    )
    assert response.status_code == 422
    assert response.get_json()["error"] == "Choose an image file to upload."


@pytest.fixture
def small_limit_app(app_config, tmp_path):
    """The same blog with a 64 KB upload limit (and the usual 1 MB for everything else)."""
    app = create_app(
        {**app_config, "MEDIA_MAX_UPLOAD": 64 * 1024, "MEDIA_FOLDER": str(tmp_path / "media")}
    )
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("extra", [10_000, 400_000])
def test_a_file_over_the_limit_gets_413_saying_the_limit(small_limit_app, extra):
    app = small_limit_app
    factories.writer(app)
    client = app.test_client()
    login(client)
    # Just over (our own check after reading) and far over (werkzeug stops reading).
    data = files.jpeg(16, 16) + b"\x00" * (64 * 1024 + extra)
    response = upload(client, data, "big.jpg")
    assert response.status_code == 413
    assert "an image may be at most 64 KB" in response.get_json()["error"]
    page = upload(client, data, "big.jpg", as_json=False)
    assert page.status_code == 413
    assert "at most 64 KB" in errors_by_field(page)["file"]
    assert stored_files(app) == []


def test_only_the_upload_may_be_larger_than_max_content_length(app, writer):
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    big = files.jpeg(1600, 1200, quality=100) + b"\x00" * (1100 * 1024)
    assert len(big) > app.config["MAX_CONTENT_LENGTH"]
    assert upload(writer, big, "big.jpg").status_code == 201
    token = csrf_token(writer, "/admin/posts/new")
    preview = writer.post(
        "/admin/posts/preview", data={"body": "x" * len(big), "csrf_token": token}
    )
    assert preview.status_code == 413


def test_uploading_needs_the_writers_session_and_token(app, client, photo):
    def post(token: str = ""):
        body, content_type = multipart({"file": FileStorage(io.BytesIO(photo), filename="a.jpg")})
        headers = {"Accept": "application/json"}
        if token:
            headers["X-CSRFToken"] = token
        return client.post("/admin/media", data=body, content_type=content_type, headers=headers)

    factories.writer(app)
    forged = post()
    assert forged.status_code == 400
    assert "reload the page" in forged.get_json()["error"]
    anonymous = post(csrf_token(client, "/login"))
    assert anonymous.status_code == 401
    assert "log in" in anonymous.get_json()["error"]
    page = client.get("/admin/media")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    assert login(client).status_code == 303
    assert post().status_code == 400
    assert media_rows(app) == [] and stored_files(app) == []
    assert post(csrf_token(client, "/admin/media")).status_code == 201


# --- Serving ----------------------------------------------------------------------------------


def test_only_image_names_are_served(app, writer, tmp_path):
    response = upload(writer, files.png(64, 64), "a.png")
    path = path_of(response.headers["Location"])
    (tmp_path / "secret.txt").write_text("secret")
    key_dir = path.split("/")[2]
    (tmp_path / "media" / key_dir / ".half.png.tmp").write_bytes(b"half")
    for bad in (
        "/media/../secret.txt",
        "/media/%2e%2e/secret.txt",
        f"/media/{key_dir}/..%2f..%2fsecret.txt",
        f"/media/{key_dir}/.half.png.tmp",
        path.replace(".png", ".svg"),
        path.replace(".png", ".PNG"),
        path[:-4] + "-0.png",
        "/media/zz/" + "z" * 32 + ".png",
        f"/media/{key_dir}/" + "0" * 32 + ".png",  # a valid name that is not there
    ):
        assert fetch(writer, bad).status_code == 404, bad


def test_conditional_and_head_requests(writer):
    response = upload(writer, files.png(64, 64), "a.png")
    path = path_of(response.headers["Location"])
    full = fetch(writer, path)
    again = fetch(writer, path, headers={"If-None-Match": full.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    head = fetch(writer, path, method="HEAD")
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(full.data))
    assert head.headers["Cache-Control"] == CACHE


# --- Who makes the sizes: the worker when one runs, the upload otherwise -----------------------


def test_with_no_worker_running_the_upload_makes_the_sizes_at_once(app, writer, photo):
    with app.app_context():
        assert not heartbeat.worker_running()
    upload(writer, photo, "a.jpg")
    [row] = media_rows(app)
    assert row.sizes_ready and row.widths == [480, 960, 1600]
    assert len(stored_files(app)) == 7
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 0


def _beat(app, ago: timedelta = timedelta(0)) -> None:
    with app.app_context():
        heartbeat.beat()
        if ago:
            value = dict(Setting.get(heartbeat.SETTING))
            value["at"] = (utcnow() - ago).isoformat()
            Setting.put(heartbeat.SETTING, value)
            db.session.commit()


def test_with_a_worker_running_the_sizes_are_its_job(app, writer, photo):
    _beat(app)
    response = upload(writer, photo, "a.jpg")
    assert response.status_code == 201
    [row] = media_rows(app)
    assert not row.sizes_ready and row.widths == []
    assert stored_files(app) == [f"{row.key[:2]}/{row.key}.jpg"]  # the original only, so far
    url = response.get_json()["url"]
    post = factories.post(app, "Dawn", f"![A heron]({url})")
    with app.app_context():
        job = db.session.scalars(sa.select(Job)).one()
        assert (job.kind, job.payload, job.status) == ("media.sizes", {"media": row.id}, "pending")
        waiting = db.session.get(Post, post.id)
        revision = waiting.revision
        img = parse(waiting.body_html).xpath("//img")[0]
        # Until the sizes exist: the original, with its size (no layout shift), no srcset.
        assert (img.get("src"), img.get("width"), img.get("height")) == (url, "1800", "2400")
        assert img.get("srcset") is None
        assert runner.run_due() == 1  # what `flask worker` runs
    [row] = media_rows(app)
    assert row.sizes_ready and row.widths == [480, 960, 1600]
    assert len(stored_files(app)) == 7
    with app.app_context():
        assert db.session.scalars(sa.select(Job.status)).one() == "done"
        shown = db.session.get(Post, post.id)
        assert shown.revision > revision  # caches and feeds see the change
        img = parse(shown.body_html).xpath("//img")[0]
        assert "1600w" in img.get("srcset") and img.get("src").endswith("-960.jpg")


def test_a_worker_silent_for_long_counts_as_stopped(app, writer, photo):
    _beat(app, ago=heartbeat.STALE_AFTER + timedelta(seconds=5))
    with app.app_context():
        assert not heartbeat.worker_running()
    upload(writer, photo, "a.jpg")
    assert media_rows(app)[0].sizes_ready
    _beat(app, ago=heartbeat.STALE_AFTER - timedelta(seconds=5))
    with app.app_context():
        assert heartbeat.worker_running()


def test_the_worker_beats_every_minute(app):
    jobs = queue.of(app)
    due = jobs.huey.read_periodic(utcnow().replace(second=0, microsecond=0))
    [task] = [t for t in due if t.name == "heartbeat"]
    with app.app_context():
        assert heartbeat.last_seen() is None
    jobs.huey.execute(task)
    with app.app_context():
        assert utcnow() - heartbeat.last_seen() < timedelta(seconds=5)
        assert heartbeat.worker_running()


def test_a_sizes_job_whose_original_is_gone_fails_with_a_reason(app, writer, tmp_path, photo):
    _beat(app)
    upload(writer, photo, "a.jpg")
    [row] = media_rows(app)
    (tmp_path / "media" / row.key[:2] / f"{row.key}.jpg").unlink()
    with app.app_context():
        runner.run_due()
        job = db.session.scalars(sa.select(Job)).one()
        assert job.status == "failed"
        assert "is missing; upload the image again" in job.last_error


# --- The library ------------------------------------------------------------------------------


def test_the_library_shows_each_image_with_its_facts_and_uses(app, writer, photo):
    response = upload(writer, photo, "heron.jpg")
    url = response.get_json()["url"]
    post = factories.post(app, "Dawn at the pond", f"![A heron]({url})")
    upload(writer, files.png(300, 200), "unused.png")
    page = parse(writer.get("/admin/media"))
    cards = page.xpath("//li[contains(@class, 'media-card')]")
    assert [text(c.xpath(".//*[@class='media-name']")[0]) for c in cards] == [
        "unused.png",
        "heron.jpg",
    ]
    heron = cards[1]
    assert text(heron.xpath(".//*[@class='media-dimensions']")[0]) == "1,800 × 2,400"
    assert text(heron.xpath(".//*[@class='media-size']")[0]).endswith(("KB", "MB"))
    assert heron.xpath(".//time/@datetime")
    assert heron.xpath(".//*[@class='media-uses']//a/@href") == [f"/admin/posts/{post.id}/edit"]
    assert heron.xpath(".//input[starts-with(@id, 'markdown-')]/@value") == [f"![]({url})"]
    assert text(cards[0].xpath(".//*[@class='media-uses']")[0]) == "Not used in any post."
    thumb = heron.xpath(".//img")[0]
    assert thumb.get("src").endswith("-480.jpg") and thumb.get("loading") == "lazy"


def test_alt_text_edited_in_the_library_reaches_the_posts_that_left_it_empty(
    app, writer, photo, hx
):
    url = upload(writer, photo, "heron.jpg").get_json()["url"]
    post = factories.post(app, "Dawn", f"![]({url})\n\nAnd ![my own words]({url}).")
    [row] = media_rows(app)
    token = csrf_token(writer, "/admin/media")
    response = writer.post(
        f"/admin/media/{row.id}/alt",
        data={"alt": "  A grey heron   in the reeds ", "csrf_token": token},
        headers=hx,
    )
    assert response.status_code == 200
    card = parse(response)
    assert card.xpath(f"//input[@id='alt-{row.id}']/@value") == ["A grey heron in the reeds"]
    assert "1 post(s) using it updated" in text(card.xpath("//*[@class='media-done']")[0])
    with app.app_context():
        html = db.session.get(Post, post.id).body_html
    assert [img.get("alt") for img in parse(html).xpath("//img")] == [
        "A grey heron in the reeds",
        "my own words",
    ]
    plain = writer.post(f"/admin/media/{row.id}/alt", data={"alt": "x" * 501, "csrf_token": token})
    assert plain.status_code == 303
    assert media_rows(app)[0].alt == "A grey heron in the reeds"
    refused = writer.post(
        f"/admin/media/{row.id}/alt", data={"alt": "x" * 501, "csrf_token": token}, headers=hx
    )
    assert refused.status_code == 422
    assert "at most 500 characters" in text(parse(refused).xpath("//*[@class='field-error']")[0])


def test_an_image_in_use_is_not_deleted(app, writer, photo):
    url = upload(writer, photo, "heron.jpg").get_json()["url"]
    post = factories.post(app, "Dawn", f"![A heron]({url})")
    [row] = media_rows(app)
    before = stored_files(app)
    page = writer.get(f"/admin/media/{row.id}/delete")
    refusal = parse(page).xpath("//*[@id='delete-refused']")[0]
    assert "Dawn" in text(refusal) and not parse(page).xpath("//form[contains(@action, 'delete')]")
    token = csrf_token(writer, "/admin/media")
    response = writer.post(f"/admin/media/{row.id}/delete", data={"csrf_token": token})
    assert response.status_code == 409
    assert len(media_rows(app)) == 1 and stored_files(app) == before
    # Once the post no longer shows it, it goes, with every size.
    with app.app_context():
        from blog.content import render_post

        edited = db.session.get(Post, post.id)
        edited.body = "No picture after all."
        render_post(edited)
        db.session.commit()
    response = writer.post(f"/admin/media/{row.id}/delete", data={"csrf_token": token})
    assert response.status_code == 303
    assert media_rows(app) == [] and stored_files(app) == []


def test_deleting_a_post_frees_its_images(app, writer, photo):
    url = upload(writer, photo, "heron.jpg").get_json()["url"]
    post = factories.post(app, "Dawn", f"![A heron]({url})")
    with app.app_context():
        db.session.delete(db.session.get(Post, post.id))
        db.session.commit()
    [row] = media_rows(app)
    token = csrf_token(writer, "/admin/media")
    assert (
        writer.post(f"/admin/media/{row.id}/delete", data={"csrf_token": token}).status_code == 303
    )


def _many_images(app, count: int) -> None:
    rows = [
        {
            "key": f"{n:032x}",
            "ext": "jpg",
            "width": 1200,
            "height": 800,
            "size": 100_000 + n,
            "animated": False,
            "name": f"photo-{n}.jpg",
            "alt": "",
            "widths": [480, 960, 1200],
            "sizes_ready": True,
            "created_at": utcnow(),
        }
        for n in range(1, count + 1)
    ]
    with app.app_context():
        db.session.execute(sa.insert(MediaFile), rows)
        db.session.commit()


def test_the_library_pages_through_10000_images_by_key(app, writer, queries):
    _many_images(app, 10_000)
    seen: list[str] = []
    url = "/admin/media"
    pages = 0
    statements_per_page = []
    while url and pages < 5:
        with app.app_context(), queries() as statements:
            page = parse(writer.get(url))
        statements_per_page.append(statements)
        names = [text(n) for n in page.xpath("//*[@class='media-name']")]
        assert len(names) == 48
        seen += names
        older = page.xpath("//a[@rel='next']/@href")
        url = older[0] if older else ""
        pages += 1
    assert seen == [f"photo-{n}.jpg" for n in range(10_000, 10_000 - 5 * 48, -1)]
    assert "10,000 images" in text(page.xpath("//*[@class='media-intro']")[0])
    # Page 5 costs what page 2 costs: the same statements, the older ones found by key
    # (id < the last one shown), never by skipping rows.
    for statements in statements_per_page[1:]:
        assert len(statements) == len(statements_per_page[1])
        assert any("media_file.id <" in s for s in statements)
    # The far end: the oldest page, then back to newer ones.
    oldest = parse(writer.get("/admin/media?before=49"))
    assert [text(n) for n in oldest.xpath("//*[@class='media-name']")][-1] == "photo-1.jpg"
    assert not oldest.xpath("//a[@rel='next']")
    newer = parse(writer.get(oldest.xpath("//a[@rel='prev']/@href")[0]))
    names = [text(n) for n in newer.xpath("//*[@class='media-name']")]
    assert names == [f"photo-{n}.jpg" for n in range(96, 48, -1)]


@pytest.mark.sqlite_only
def test_library_queries_use_the_primary_key(app):
    _many_images(app, 2000)
    with app.app_context():
        plan = db.session.execute(
            sa.text(
                "EXPLAIN QUERY PLAN "
                "SELECT * FROM media_file WHERE id < 1500 ORDER BY id DESC LIMIT 49"
            )
        ).all()
    detail = " ".join(row[-1] for row in plan)
    assert "USING INTEGER PRIMARY KEY" in detail and "TEMP B-TREE" not in detail, detail


def test_a_real_worker_process_makes_the_sizes(app_config, tmp_path, photo):
    """`flask --app wsgi worker` in its own process, sharing the database and huey's queue:
    the upload records the job, huey hands it over, the worker makes the sizes."""
    queue_file = tmp_path / "jobs-queue.sqlite"
    media = tmp_path / "media"
    config = {
        **app_config,
        "MEDIA_FOLDER": str(media),
        "JOBS_STORAGE_URL": f"sqlite:///{queue_file}",
    }
    app = create_app(config)
    factories.writer(app)
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "BLOG_SQLALCHEMY_DATABASE_URI": config["SQLALCHEMY_DATABASE_URI"],
        "BLOG_SECRET_KEY": "test-secret-key",
        "BLOG_MEDIA_FOLDER": str(media),
        "BLOG_JOBS_STORAGE_URL": f"sqlite:///{queue_file}",
        "BLOG_JOBS_POLL_SECONDS": "0.1",
        "BLOG_MAIL_FILE_PATH": str(tmp_path / "mail"),
    }
    flask = str(Path(sys.executable).parent / "flask")
    with log.open("w") as out:
        worker = subprocess.Popen(
            [flask, "--app", "wsgi", "worker", "--threads", "1"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait(lambda: "Worker ready" in log.read_text(), worker, log)
        _beat(app)  # the worker writes this every minute; do not wait for the minute
        client = app.test_client()
        login(client)
        assert upload(client, photo, "a.jpg").status_code == 201
        assert not media_rows(app)[0].sizes_ready
        _wait(lambda: media_rows(app)[0].sizes_ready, worker, log)
        [row] = media_rows(app)
        assert row.widths == [480, 960, 1600]
        assert len([p for p in media.rglob("*") if p.is_file()]) == 7
        with app.app_context():
            assert db.session.scalars(sa.select(Job.status)).one() == "done"
    finally:
        worker.send_signal(signal.SIGINT)  # lets a running job finish
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        with app.app_context():
            db.engine.dispose()


def _wait(condition, process, log, timeout: float = 60) -> None:
    """Wait for condition, at most timeout seconds, failing at once if the process ended."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the worker exited ({process.returncode}):\n{log.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout} s; the worker said:\n{log.read_text()}")
        time.sleep(0.1)
