"""Benchmark images: what an upload costs, and what serving one costs.

    .venv/bin/python bench/bench_media.py                # all three parts
    .venv/bin/python bench/bench_media.py --skip-serving # CPU of uploads and the library only

1. Upload of a 12-megapixel phone photo (4000 × 3000, EXIF orientation 6, GPS, a Display P3
   profile), through POST /admin/media in-process: CPU time (time.process_time) with no worker
   running (stored and every size made in the request), with a worker running (the request
   stores the original; the "media.sizes" job makes the sizes), and the parts of the work.
2. Serving one image (the 960-wide JPEG) with wrk: from /media/ through gunicorn, the same bytes
   as a static file through gunicorn (/static/), and from /media/ through nginx with the
   README's location block.
3. The media library's page at 10,000 images: the first page and one in the middle (keyset).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers import images as files  # noqa: E402 (after the path is set)

# The README's block, with its paths filled in by the benchmark.
NAME_PATTERN = r"^/media/[0-9a-f]{2}/[0-9a-f]{32}(-[1-9][0-9]{0,4})?\.(jpg|png|gif|webp)$"
NGINX = """
worker_processes 1;
daemon off;
{user}
pid {scratch}/nginx.pid;
error_log {scratch}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    sendfile on;
    server {{
        listen 127.0.0.1:{port};
        location /media/ {{
            root {instance};
            location ~ "{name_pattern}" {{
                add_header Cache-Control "public, max-age=31536000, immutable";
                add_header X-Content-Type-Options nosniff;
                try_files $uri =404;
            }}
            return 404;
        }}
    }}
}}
"""


def make_app(scratch: Path, **config):
    from blog import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{scratch / 'blog.sqlite'}",
            "SECRET_KEY": "bench",
            "MEDIA_FOLDER": str(scratch / "instance" / "media"),
            "RATELIMIT_ENABLED": False,
            **config,
        }
    )


def logged_in(app):
    from tests.helpers.auth import login

    client = app.test_client()
    assert login(client).status_code == 303
    return client


def upload(client, data: bytes) -> tuple[int, float]:
    from tests.helpers.media import upload as post_upload

    started = time.process_time()
    response = post_upload(client, data, "PXL_4000x3000.jpg")
    return response.status_code, time.process_time() - started


def bench_uploads(scratch: Path, count: int) -> list[tuple[str, float, float]]:
    """Return (what, mean CPU seconds, max CPU seconds) for each way of storing a photo."""
    from blog.extensions import db, upgrade_database
    from blog.jobs import heartbeat, runner
    from blog.media import images, library
    from tests.helpers import factories

    app = make_app(scratch)
    upgrade_database(app)
    factories.writer(app)
    client = logged_in(app)
    profile = files.display_p3_profile()
    photos = [files.phone_photo(4000, 3000, icc=profile, quality=92 - n) for n in range(count * 3)]
    print(
        f"Photos: {count * 3} of 4000 × 3000, {sum(map(len, photos)) / len(photos) / 1e6:.1f} MB "
        "each on average."
    )
    rows = []

    at_once = []
    for data in photos[:count]:
        status, cpu = upload(client, data)
        assert status == 201, status
        at_once.append(cpu)
    rows.append(("upload, no worker: original and every size in the request", at_once))

    with app.app_context():
        heartbeat.beat()
    request_only, job = [], []
    for data in photos[count : 2 * count]:
        status, cpu = upload(client, data)
        assert status == 201, status
        request_only.append(cpu)
        with app.app_context():
            started = time.process_time()
            assert runner.run_due() == 1
            job.append(time.process_time() - started)
    rows.append(("upload, worker running: the request (original only)", request_only))
    rows.append(("the worker's job: sizes from the stored original (draft decode)", job))
    with app.app_context():
        db.session.execute(db.text("DELETE FROM setting"))
        db.session.commit()

    # The parts, with the library's own functions.
    parts = {
        "open and decode, upright, to sRGB": [],
        "encode the original": [],
        "make the sizes": [],
    }
    with app.app_context():
        for data in photos[2 * count :]:
            started = time.process_time()
            image = images.open_upload(data, 50_000_000)
            pixels = images.upright_srgb(image)
            parts["open and decode, upright, to sRGB"].append(time.process_time() - started)
            started = time.process_time()
            original = images._encode_original(pixels, image, "jpg")
            parts["encode the original"].append(time.process_time() - started)
            started = time.process_time()
            sizes = list(images.make_sizes(pixels, "jpg", library.widths_setting(), pixels.width))
            parts["make the sizes"].append(time.process_time() - started)
        print(
            "Sizes of one photo: original "
            f"{len(original.data) / 1e6:.2f} MB; "
            + ", ".join(
                f"{s.width}{' WebP' if s.webp else ' JPEG'} {len(s.encoded.data) / 1e3:.0f} KB"
                for s in sizes
            )
        )
        db.engine.dispose()
    rows += [(f"  part: {name}", values) for name, values in parts.items()]
    return [(name, sum(v) / len(v), max(v)) for name, v in rows]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=10).read()
            return
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"server exited with {process.returncode}") from None
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within 60 s")


def server_cpu_seconds(master: int) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if master in (int(stat.parent.name), int(fields[1])):
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def run_wrk(url: str, args, master: int) -> tuple[float, str, float]:
    command = ["wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds}s", url]
    cpu = server_cpu_seconds(master)
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    cpu = server_cpu_seconds(master) - cpu
    if "Non-2xx or 3xx" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = re.search(r"Latency\s+(\S+)", out).group(1)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return rate, latency, cpu / requests * 1000


def bench_serving(scratch: Path, args) -> list[tuple]:
    """wrk on one image: /media/ and /static/ through gunicorn, /media/ through nginx."""
    from blog.extensions import db
    from blog.media.models import MediaFile

    app = make_app(scratch)
    with app.app_context():
        media = db.session.scalars(db.select(MediaFile)).first()
        name = f"{media.key[:2]}/{media.key}-960.jpg"
        db.engine.dispose()
    instance = scratch / "instance"
    data = (instance / "media" / name).read_bytes()
    static_copy = ROOT / "static" / "bench-media" / "photo-960.jpg"
    static_copy.parent.mkdir(exist_ok=True)
    static_copy.write_bytes(data)
    rows = []
    try:
        port = free_port()
        env = {
            **os.environ,
            "BLOG_SQLALCHEMY_DATABASE_URI": f"sqlite:///{scratch / 'blog.sqlite'}",
            "BLOG_SECRET_KEY": "bench",
            "BLOG_MEDIA_FOLDER": str(instance / "media"),
            "BLOG_RATELIMIT_ENABLED": "false",
            "GUNICORN_ACCESSLOG": "",
        }
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        # gunicorn.conf.py as in production, but no worker recycling during the measurement
        # (a recycled worker's CPU time leaves /proc with it).
        command = [
            gunicorn,
            "-c",
            "gunicorn.conf.py",
            "-w",
            str(args.workers),
            "--max-requests",
            "0",
        ]
        server = subprocess.Popen(
            command + ["-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(f"{base}/media/{name}", server)
            lines = (
                ("gunicorn: /media/ (the blog's route)", f"/media/{name}"),
                ("gunicorn: the same bytes as /static/", "/static/bench-media/photo-960.jpg"),
            )
            for _, path in lines:
                with urllib.request.urlopen(base + path) as response:
                    assert response.read() == data
                    assert response.headers["Content-Type"] == "image/jpeg"
            # Alternate the two lines, round after round: the machine's load drifts.
            measured: dict[str, list] = {label: [] for label, _ in lines}
            for _ in range(args.rounds):
                for label, path in lines:
                    measured[label].append(run_wrk(base + path, args, server.pid))
            for label, _ in lines:
                rows.append((label, len(data), *median_of(measured[label])))
        finally:
            server.terminate()
            server.wait(10)
        if shutil.which("nginx"):
            rows.append(bench_nginx(scratch, instance, name, data, args))
        else:
            print("nginx is not installed (apt-get install nginx-light): its line is left out.")
    finally:
        static_copy.unlink(missing_ok=True)
        static_copy.parent.rmdir()
    return rows


def median_of(runs: list[tuple[float, str, float]]) -> tuple[float, str, float]:
    """The median requests/s and CPU per request of several wrk runs (latency of the median)."""
    ordered = sorted(runs)
    middle = ordered[len(ordered) // 2]
    return middle[0], middle[1], statistics.median(run[2] for run in runs)


def bench_nginx(scratch: Path, instance: Path, name: str, data: bytes, args) -> tuple:
    port = free_port()
    config = scratch / "nginx.conf"
    user = "user root;" if os.geteuid() == 0 else ""
    config.write_text(
        NGINX.format(
            user=user, scratch=scratch, port=port, instance=instance, name_pattern=NAME_PATTERN
        )
    )
    nginx = subprocess.Popen(["nginx", "-c", str(config), "-e", str(scratch / "nginx-error.log")])
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/media/{name}", nginx)
        with urllib.request.urlopen(f"{base}/media/{name}") as response:
            assert response.read() == data
            assert response.headers["Content-Type"] == "image/jpeg"
            assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
        for refused in ("/media/../blog.sqlite", f"/media/{name[:3]}.{name[3:]}.tmp", "/media/x"):
            try:
                urllib.request.urlopen(base + refused)
                raise SystemExit(f"nginx served {refused}")
            except urllib.error.HTTPError as error:
                assert error.code in (400, 404), (refused, error.code)
        return (
            "nginx: /media/ (the README's block)",
            len(data),
            *run_wrk(f"{base}/media/{name}", args, nginx.pid),
        )
    finally:
        nginx.terminate()
        nginx.wait(10)


def bench_library(scratch: Path, count: int) -> list[tuple[str, float]]:
    """CPU ms of the library's first page and of a page in the middle, at count images."""
    from blog.extensions import db
    from blog.media.models import MediaFile
    from blog.models import utcnow

    app = make_app(scratch)
    with app.app_context():
        have = db.session.scalar(db.select(db.func.count(MediaFile.id)))
        rows = [
            {
                "key": f"{n:032x}",
                "ext": "jpg",
                "width": 4000,
                "height": 3000,
                "size": 4_000_000,
                "name": f"photo-{n}.jpg",
                "widths": [480, 960, 1600],
                "sizes_ready": True,
                "created_at": utcnow(),
                "animated": False,
                "alt": "",
            }
            for n in range(1, count - have + 1)
        ]
        db.session.execute(db.insert(MediaFile), rows)
        db.session.commit()
        middle = db.session.scalar(
            db.select(MediaFile.id).order_by(MediaFile.id).offset(count // 2)
        )
        db.engine.dispose()
    client = logged_in(app)
    results = []
    for label, url in (
        (f"first page of {count:,} images", "/admin/media"),
        (f"a page in the middle (?before={middle})", f"/admin/media?before={middle}"),
    ):
        assert client.get(url).status_code == 200
        started, runs = time.process_time(), 30
        for _ in range(runs):
            client.get(url)
        results.append((label, (time.process_time() - started) / runs * 1000))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=3, help="photos per way of uploading")
    parser.add_argument("--images", type=int, default=10_000, help="images in the library")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="wrk runs per line (median)")
    parser.add_argument("--skip-serving", action="store_true")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-media-"))
    try:
        load = os.getloadavg()[0]
        print(f"{os.cpu_count()} CPUs, load average {load:.1f}.\n")
        uploads = bench_uploads(scratch, args.photos)
        print("\n| upload of a 12-megapixel photo | CPU s (mean) | CPU s (max) |")
        print("|---|---:|---:|")
        for what, mean, most in uploads:
            print(f"| {what} | {mean:.2f} | {most:.2f} |")
        if not args.skip_serving:
            if not shutil.which("wrk"):
                raise SystemExit("wrk is not installed (apt-get install wrk)")
            print(
                f"\nwrk -t2 -c{args.connections} -d{args.seconds}s, gunicorn -w {args.workers}:\n"
            )
            print(
                "| one image (960 px JPEG) | bytes | requests/s | latency | server CPU ms/request |"
            )
            print("|---|---:|---:|---:|---:|")
            for label, size, rate, latency, cpu in bench_serving(scratch, args):
                print(f"| {label} | {size:,} | {rate:,.0f} | {latency} | {cpu:.2f} |")
        print("\n| the media library | CPU ms/request |")
        print("|---|---:|")
        for label, ms in bench_library(scratch, args.images):
            print(f"| {label} | {ms:.1f} |")
        print(f"\nLoad average after: {os.getloadavg()[0]:.1f}.")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
