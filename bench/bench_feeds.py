"""Benchmark the feeds: full responses and 304s, side by side, in one run.

    .venv/bin/python bench/bench_feeds.py                 # wrk against gunicorn (2 workers)
    .venv/bin/python bench/bench_feeds.py --in-process    # Flask's test client, no server

It builds a scratch SQLite blog (posts, and one post with --comments approved comments), then
measures /feeds/posts.atom and that post's comments.atom: a full response built every time
(FEED_CACHE_SIZE=0), a full response from the per-process cache (the default), and a 304
answered from If-None-Match. Results go to stdout as a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers.servers import free_port  # noqa: E402

BODY = (
    """A paragraph of an ordinary post, with *emphasis*, a [link](https://example.org/) and
`a bit of code`, long enough to look like real writing rather than a placeholder line.

- a list item
- another one

> A quotation, because posts have those.

"""
    * 4
)


def build_database(path: Path, posts: int, comments: int) -> str:
    """Create a migrated SQLite blog at path; return the busy post's URL path."""
    from blog import create_app
    from blog.comments.store import add_comment
    from blog.content import save_post
    from blog.extensions import db, upgrade_database
    from blog.models import Post, PostStatus, User, utcnow
    from blog.permalinks import post_url

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "bench", "TESTING": True}
    )
    upgrade_database(app)
    with app.app_context(), app.test_request_context():
        author = User(username="bench", display_name="Bench Writer", password_hash="")
        db.session.add(author)
        db.session.flush()
        now = utcnow()
        busy = None
        for n in range(posts):
            post = save_post(
                Post(),
                title=f"Post number {n}",
                body=BODY,
                author_id=author.id,
                tags=["bench", f"tag-{n % 10}"],
                status=PostStatus.PUBLISHED,
                published_at=now - timedelta(hours=posts - n),
            )
            busy = busy or post
        db.session.flush()
        for n in range(comments):
            add_comment(
                busy,
                author_name=f"Reader {n}",
                author_email=f"reader{n}@example.org",
                body=f"Comment {n}: I agree with most of this, and here is why: " + "words " * 40,
                created_at=now - timedelta(minutes=comments - n),
                ip="192.0.2.1",
            )
        db.session.commit()
        url = post_url(busy) + "comments.atom"
        db.engine.dispose()
    return url


def start_gunicorn(database: Path, cache_size: int, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "BLOG_SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        "BLOG_SECRET_KEY": "bench",
        "BLOG_FEED_CACHE_SIZE": str(cache_size),
        "BLOG_RATELIMIT_ENABLED": "false",
    }
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    command = [gunicorn, "-w", str(workers), "-b", f"127.0.0.1:{port}", "wsgi:app"]
    server = subprocess.Popen(
        command + ["--log-level", "warning"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/feeds/posts.atom", timeout=10).read()
            return server, base
        except OSError:  # refused while booting, or a timeout on a busy machine
            time.sleep(0.2)
    server.terminate()
    server.wait(10)
    raise SystemExit("gunicorn did not start within 60 s")


def fetch(url: str, etag: str | None = None) -> tuple[int, str, int]:
    """Return status, ETag and body size of one GET."""
    request = urllib.request.Request(url, headers={"If-None-Match": etag} if etag else {})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.headers["ETag"], len(response.read())
    except urllib.error.HTTPError as error:  # urllib raises on 304
        return error.code, error.headers["ETag"], 0


def server_cpu_seconds(master: int) -> float:
    """Return the CPU time (user + system) used so far by gunicorn's master and workers."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if master in (pid, ppid):
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def run_wrk(url: str, args, etag: str | None, master: int) -> tuple[float, str, float]:
    """Return requests/s, average latency and server CPU milliseconds per request."""
    command = ["wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds}s", url]
    if etag:
        command[1:1] = ["-H", f"If-None-Match: {etag}"]
    cpu = server_cpu_seconds(master)
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    cpu = server_cpu_seconds(master) - cpu
    if "Non-2xx or 3xx" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = re.search(r"Latency\s+(\S+)", out).group(1)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return rate, latency, cpu / requests * 1000


def bench_wrk(database: Path, urls: dict[str, str], args) -> list[tuple]:
    rows = []
    for cache_size, label in ((0, "full, built every time"), (64, "full, from the cache")):
        server, base = start_gunicorn(database, cache_size, args.workers)
        try:
            for name, path in urls.items():
                status, etag, size = fetch(base + path)
                assert status == 200, (path, status)
                rows.append((name, label, size, *run_wrk(base + path, args, None, server.pid)))
                if cache_size:
                    assert fetch(base + path, etag)[0] == 304
                    measured = run_wrk(base + path, args, etag, server.pid)
                    rows.append((name, "304 (If-None-Match)", 0, *measured))
        finally:
            server.terminate()
            server.wait(10)
    return rows


def bench_in_process(database: Path, urls: dict[str, str], args) -> list[tuple]:
    from blog import create_app

    rows = []
    for cache_size, label in ((0, "full, built every time"), (64, "full, from the cache")):
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
                "SECRET_KEY": "bench",
                "FEED_CACHE_SIZE": cache_size,
            }
        )
        client = app.test_client()
        for name, path in urls.items():
            first = client.get(path)
            cases = [(label, {})]
            if cache_size:
                cases.append(("304 (If-None-Match)", {"If-None-Match": first.headers["ETag"]}))
            for case, headers in cases:
                count, start, cpu = 0, time.perf_counter(), time.process_time()
                while time.perf_counter() - start < args.seconds:
                    client.get(path, headers=headers)
                    count += 1
                elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
                size = len(first.data) if not headers else 0
                latency = f"{elapsed / count * 1000:.2f}ms"
                rows.append((name, case, size, count / elapsed, latency, cpu / count * 1000))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--comments", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--in-process", action="store_true", help="test client, no gunicorn/wrk")
    args = parser.parse_args()
    if not args.in_process and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk), or use --in-process")

    scratch = Path(tempfile.mkdtemp(prefix="bench-feeds-"))
    try:
        database = scratch / "blog.sqlite"
        started = time.perf_counter()
        busy = build_database(database, args.posts, args.comments)
        print(
            f"Built {args.posts} posts and {args.comments} comments on one post "
            f"in {time.perf_counter() - started:.1f} s.\n"
        )
        urls = {
            "/feeds/posts.atom": "/feeds/posts.atom",
            f"comments.atom of a post with {args.comments} comments": busy,
        }
        how = (
            "test client, in-process"
            if args.in_process
            else (f"gunicorn -w {args.workers}, wrk -t2 -c{args.connections} -d{args.seconds}s")
        )
        load = os.getloadavg()[0]
        rows = (bench_in_process if args.in_process else bench_wrk)(database, urls, args)
        print(
            f"Measured with {how}, SQLite, {os.cpu_count()} CPUs; load average "
            f"{load:.1f} before and {os.getloadavg()[0]:.1f} after (other work shares the CPUs: "
            "CPU ms per request is the steadier figure).\n"
        )
        print("| feed | response | bytes | requests/s | latency (avg) | server CPU ms/request |")
        print("|---|---|---:|---:|---:|---:|")
        for name, label, size, rate, latency, cpu in rows:
            print(f"| {name} | {label} | {size or '—'} | {rate:,.0f} | {latency} | {cpu:.2f} |")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
