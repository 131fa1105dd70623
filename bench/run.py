"""The benchmark: wrk against gunicorn (and nginx for the transport's limit), at two data sizes.

    make bench                      # 1,000 posts / 10,000 comments, then 100,000 / 1,000,000
    .venv/bin/python bench/run.py --sizes 1000:10000 --duration 5

For each size: build (or reuse) a benchmark SQLite database with `flask bench-data`, count
the SQL queries of every page in-process, start gunicorn (gunicorn.conf.py, 2 workers, access
log off), deploy/nginx.conf in front of it, a gunicorn running the code from before the page
cache (BASELINE, for "no slower than today") and nginx serving a saved copy of the post page,
all on free loopback ports; run wrk on every target, sample the workers' RSS meanwhile, and
print one Markdown table, then every goal of issue 13 as met or missed with its figure.
Databases are kept in bench/results/data/ (git-ignored) and reused; --fresh rebuilds them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the blog and tests.helpers (nginx, servers, html)

from tests.helpers.servers import free_port  # noqa: E402

BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
# "Today": the code before pages were cached for anonymous readers (issue 13), run beside the
# new code so that "no slower than today" compares two servers measured in the same run.
BASELINE = "6c04977"


@dataclass
class Target:
    """One thing wrk loads: a path on the app (or on nginx), with optional headers or a script."""

    name: str
    path: str
    # gunicorn; nginx (the saved copy); proxy (deploy/nginx.conf in front of gunicorn);
    # baseline (gunicorn running BASELINE's code)
    server: str = "gunicorn"
    headers: dict[str, str] = field(default_factory=dict)
    lua: str | None = None  # a wrk script, e.g. for POST requests
    method: str = "GET"  # only GET targets are counted and timed in-process
    expect: int | None = None  # with lua: the only status counted as success; others fail the run


def targets(pages: dict[str, str]) -> list[Target]:
    """The targets, in table order. Adding one is one line here (pages has the URLs found)."""
    post200 = pages["post-200"]
    remembered = {"Cookie": pages.get("remembered", "")}
    return [
        Target(CONSTANT, "/_bench/constant"),
        Target(STATIC, "/post-200", "nginx"),
        Target(PROXIED, post200, "proxy"),
        Target("post page, 10 comments", pages["post-10"]),
        Target(POST200, post200),
        Target(POST200_304, post200, headers={"If-None-Match": pages.get("page-etag", "")}),
        Target(REMEMBERED, post200, headers=remembered),
        Target(REMEMBERED_BEFORE, post200, "baseline", headers=remembered),
        Target("post page, 2,000 comments", pages["post-2000"]),
        Target(HOME, "/"),
        Target(ARCHIVE, pages["archive"]),
        Target(TAG, "/tags/writing/"),
        # The same search at both sizes (bench-data's SEARCH_WORD is in 10 posts), and one whose
        # matches grow with the blog (a title word: a ninth of the posts, ranked past the cap).
        Target("search, a word in 10 posts", "/search?q=lighthouse"),
        Target("search, a word in 1 post of 9", "/search?q=notebook"),
        Target("comment feed (site, Atom)", "/feeds/comments.atom"),
        Target("comment feed of a post, full", post200 + "comments.atom"),
        Target(
            FEED_304,
            post200 + "comments.atom",
            headers={"If-None-Match": pages.get("feed-etag", "")},
        ),
        # Last: it adds comments (to a post no other target reads).
        Target(
            POSTING,
            pages["comment-post"],
            lua=pages.get("lua"),
            method="POST",
            expect=303,
        ),
    ]


CONSTANT = "constant route (framework ceiling)"
STATIC = "post page, 200 comments, static copy via nginx"
PROXIED = "post page, 200 comments, via deploy/nginx.conf (cache warm)"
POST200 = "post page, 200 comments"
POST200_304 = "post page, 200 comments, 304 (If-None-Match)"
REMEMBERED = "post page, 200 comments, remembered reader (personal)"
REMEMBERED_BEFORE = f"the same, before the page cache (commit {BASELINE})"
HOME, ARCHIVE, TAG = "home page", "archive (a year)", "tag page"
FEED_304 = "comment feed of a post, 304"
POSTING = "comment posting (plain form, 303)"


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: str = ""
    requests: int = 0
    cpu_ms: float = 0.0  # gunicorn's CPU time (master and workers) per request
    unexpected: int = 0  # answers whose status was not the target's expected one (lua targets)


def flask(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, check=True)


def database(posts: int, comments: int, fresh: bool) -> Path:
    """Return a migrated SQLite database with bench data, building it when missing."""
    path = RESULTS / "data" / f"bench-{posts}-{comments}.sqlite"
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    env = {**os.environ, "BLOG_SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"}
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.sqlite")
        partial.unlink(missing_ok=True)
        env_partial = {**env, "BLOG_SQLALCHEMY_DATABASE_URI": f"sqlite:///{partial}"}
        flask(env_partial, "db", "upgrade")
        started = time.monotonic()
        flask(env_partial, "bench-data", "--posts", str(posts), "--comments", str(comments))
        print(f"bench-data: {time.monotonic() - started:.0f} s", file=sys.stderr)
        subprocess.run(
            [sys.executable, "-c", "import sqlite3,sys; sqlite3.connect(sys.argv[1]).close()"]
            + [str(partial)],
            check=True,
        )  # checkpoints the WAL into the file before it is renamed
        partial.rename(path)
    flask(env, "db", "upgrade")  # a database from an older run gets new migrations
    return path


def working_copy(path: Path, tmp: Path) -> Path:
    """Return a copy of the benchmark database in tmp for this run to write into.

    The posting target adds a thousand comments or more to one post each run: written into
    the kept database, they piled up from run to run (5,269 on that post after a few), and
    reading its comment form rendered a 4 MB page into a worker, whose RSS then stayed 26 MB
    higher. Every run starts from the data bench-data made.
    """
    copy = tmp / path.name
    source, target = sqlite3.connect(path), sqlite3.connect(copy)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return copy


def survey(
    db_path: Path, tmp: Path, static: str, port: int
) -> tuple[dict[str, str], dict[str, int]]:
    """Find the pages' URLs, count each page's SQL queries in-process, save the static copy.

    Requests go to the host gunicorn will serve (127.0.0.1:port): a feed's ETag depends on it.
    """
    import sqlalchemy as sa
    from itsdangerous import URLSafeSerializer

    from blog import create_app, prepared
    from blog.extensions import db
    from blog.models import Post
    from blog.readers import REMEMBER_COOKIE

    app = create_app(settings(db_path))
    pages: dict[str, str] = {}
    with app.app_context():
        for n in (10, 200, 2000):
            post = db.session.scalar(sa.select(Post).where(Post.slug == f"bench-{n}-comments"))
            if post is None:
                raise SystemExit(f"{db_path} has no bench-{n}-comments post: rebuild with --fresh")
            when = post.published_at
            pages[f"post-{n}"] = f"/{when.year}/{when.month:02d}/{post.slug}/"
        pages["archive"] = f"/{when.year}/"
        # Comments are posted to the oldest ordinary open post: no other target reads it.
        oldest = db.session.scalar(
            sa.select(Post)
            .where(Post.slug.not_like("bench-%-comments"), Post.comments_open)
            .where(Post.public_filter())
            .order_by(Post.id)
        )
        when = oldest.published_at
        pages["comment-post"] = f"/{when.year}/{when.month:02d}/{oldest.slug}/comments"
        db.session.remove()

        counts: dict[str, int] = {}
        statements: list[str] = []

        def count(conn, cursor, statement, *args):
            if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
                statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", count)
        prepared.observers.append(statements.append)  # the page keys run below SQLAlchemy
        get = in_process(app, port)
        feed = get(pages["post-200"] + "comments.atom")
        pages["feed-etag"] = feed.headers["ETag"]
        pages["page-etag"] = get(pages["post-200"]).headers["ETag"]
        reader = URLSafeSerializer("bench", salt=REMEMBER_COOKIE)
        name = {"name": "Bench Reader", "email": "reader@example.org", "url": ""}
        pages["remembered"] = f"{REMEMBER_COOKIE}={reader.dumps(name)}"
        db.session.remove()
        for target in targets(pages):
            if target.server != "gunicorn" or target.method != "GET":
                continue
            for _warm in range(2):  # the second: what a reader gets once the page is cached
                statements.clear()
                response = get(target.path, headers=target.headers)
                db.session.remove()
            if target.headers.get("If-None-Match") and response.status_code != 304:
                raise SystemExit(f"{target.path} answered {response.status_code}, not 304")
            if response.status_code >= 400:
                raise SystemExit(f"{target.path} answered {response.status_code}")
            counts[target.name] = len(statements)
        mine = get(pages["post-200"], headers={"Cookie": pages["remembered"]})
        if (
            b'value="Bench Reader"' not in mine.data
            or "private" not in mine.headers["Cache-Control"]
        ):
            raise SystemExit("the remembered reader's page is not their own")
        counts[POSTING] = posting_statements(app, pages, statements)
        sa.event.remove(db.engine, "before_cursor_execute", count)
        prepared.observers.remove(statements.append)
        (tmp / "www").mkdir(exist_ok=True)
        (tmp / "www" / static).write_bytes(get(pages["post-200"]).data)
        db.session.remove()
        db.engine.dispose()
    return pages, counts


def in_process(app, port: int):
    """Return get(path, headers) on the app's test client, as if to gunicorn's host (feed ETags
    depend on it). A Cookie header goes into a client of its own (the test client sends its
    own cookie jar, not the header)."""
    base = f"http://127.0.0.1:{port}"
    clients: dict[str, object] = {}

    def get(path: str, headers: dict[str, str] | None = None):
        headers = dict(headers or {})
        cookie = headers.pop("Cookie", "")
        client = clients.get(cookie)
        if client is None:
            client = clients[cookie] = app.test_client()
            for pair in filter(None, cookie.split("; ")):
                name, value = pair.split("=", 1)
                client.set_cookie(name, value, domain="127.0.0.1")
        return client.get(path, headers=headers, base_url=base)

    return get


def posting_statements(app, pages: dict[str, str], statements: list[str]) -> int:
    """Post one comment in-process as the benchmark does (plain form, fresh stamp); return the
    SQL statements it ran (BEGIN and COMMIT not counted)."""
    from blog.comments import spam
    from blog.extensions import db

    client = app.test_client()
    page = pages["comment-post"].removesuffix("comments")
    with app.test_request_context():
        stamp = spam.form_stamp(time.time() - 60)
    form = {"author_name": "Bench Reader", "body": f"Counted {time.time()}", "issued": stamp}
    client.get(page)
    db.session.remove()
    statements.clear()
    with app.app_context():  # its own, as in a server: nothing read before is reused
        response = client.post(pages["comment-post"], data=form)
        db.session.remove()
    if response.status_code != 303:
        raise SystemExit(f"posting a comment answered {response.status_code}, not 303")
    return len(statements)


def time_in_process(sites: list, rounds: int = 40) -> None:
    """Time every page in-process (test client, no HTTP), the sizes taking turns request by
    request; keep each page's median. Steadier than wrk on a busy machine: no queueing."""
    import statistics

    from blog import create_app

    apps = [create_app(settings(site.db_path)) for site in sites]
    # The host gunicorn serves: feed ETags depend on it.
    gets = [in_process(app, site.port) for app, site in zip(apps, sites, strict=True)]
    samples: dict[tuple[int, str], list[float]] = {}
    for round_ in range(rounds + 2):
        for target in targets(sites[0].pages):
            if target.server != "gunicorn" or target.method != "GET":
                continue
            for site, get in zip(sites, gets, strict=True):
                own = targets(site.pages)[targets(sites[0].pages).index(target)]
                started = time.perf_counter()
                get(own.path, headers=own.headers)
                if round_ >= 2:  # the first two warm templates and caches
                    elapsed = (time.perf_counter() - started) * 1000
                    samples.setdefault((site.posts, target.name), []).append(elapsed)
    for site in sites:
        site.in_process_ms = {
            name: statistics.median(values)
            for (posts, name), values in samples.items()
            if posts == site.posts
        }


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def settings(db_path: Path) -> dict:
    """The app's settings for the benchmark, the same in-process and in gunicorn (BLOG_*): a
    page's ETag covers the settings, and the 304 targets send the ETag read in-process."""
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}",
        "SECRET_KEY": "bench",
        "BENCH_ROUTES": True,
        "RATELIMIT_ENABLED": False,
        "PROXY_FIX_X_FOR": 1,  # readers' addresses, as from nginx (the posting target)
    }


def start_gunicorn(
    db_path: Path, port: int, workers: int, tmp: Path, servers: list, code: Path = ROOT
) -> subprocess.Popen:
    """Start gunicorn on the database, running the checkout at code (this one by default)."""
    env = {
        **os.environ,
        **{f"BLOG_{name}": json.dumps(value) for name, value in settings(db_path).items()},
        "GUNICORN_ACCESSLOG": "",
        "GUNICORN_LOGLEVEL": "warning",
        "PYTHONPATH": str(code),  # its blog package, not the one installed in the virtualenv
    }
    command = [str(BIN / "gunicorn"), "-c", str(code / "gunicorn.conf.py")]
    command += ["-w", str(workers), "-b", f"127.0.0.1:{port}"]
    # Recycling workers mid-run would charge their boot to whatever page was loaded: the
    # recycling is measured apart (gunicorn.conf.py says why its bound costs nothing).
    command += ["--max-requests", "0", "wsgi:app"]
    with (tmp / f"gunicorn-{port}.log").open("w") as log:
        process = subprocess.Popen(command, cwd=code, env=env, stdout=log, stderr=log)
    servers.append(process)
    wait_for(f"http://127.0.0.1:{port}/_bench/constant")
    return process


def baseline_code(tmp: Path) -> Path | None:
    """Check BASELINE's code out into tmp (git archive); None when git or the commit is missing."""
    target = tmp / "baseline"
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", BASELINE],
            capture_output=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"no baseline ({BASELINE}): {error}", file=sys.stderr)
        return None
    target.mkdir()
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def check_baseline(url: str, cookie: str) -> None:
    """Make sure the baseline server runs the old code: its pages carry a CSRF token."""
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=30) as response:
        if b'name="csrf_token"' not in response.read():
            raise SystemExit(f"the baseline at {url} does not serve {BASELINE}'s pages")


COMMENT_LUA = """
-- POST the comment form as one reader without cookies (a first comment); every body differs,
-- across threads too (wrk gives each thread the same math.random sequence unless it is seeded
-- per thread; a repeated body is a duplicate comment, refused with 409). Answers other than
-- {expect} are counted and printed, so the benchmark fails instead of timing refusals.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
if {cookie} ~= "" then wrk.headers["Cookie"] = {cookie} end
local prefix = {prefix}
local threads = {{}}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

local n = 0
unexpected = 0
answered = 0

function init(args)
  math.randomseed(os.time() * 1000 + id)
end

request = function()
  n = n + 1
  -- Each comment from another reader's address, as on a post many people answer (through the
  -- one trusted proxy the server is told about): the duplicate check then looks at that
  -- reader's comments, not at every comment the benchmark ever sent from 127.0.0.1.
  wrk.headers["X-Forwarded-For"] = "10." .. math.random(0, 255) .. "." .. math.random(0, 255)
    .. "." .. math.random(1, 254)
  return wrk.format(nil, nil, nil, prefix .. id .. "-" .. n .. "-" .. math.random(1000000000))
end

response = function(status, headers, body)
  answered = answered + 1
  if status ~= {expect} then unexpected = unexpected + 1 end
end

function done(summary, latency, requests)
  local bad, all = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("unexpected")
    all = all + thread:get("answered")
  end
  io.write(string.format("Unexpected statuses: %d of %d\\n", bad, all))
end
"""


def comment_script(base: str, pages: dict[str, str], tmp: Path) -> str:
    """Read the comment form once as a reader would (cookie, CSRF token, every field the page
    gives, empty ones empty), and write a wrk script that POSTs it; return its path."""

    from tests.helpers.html import form_fields
    from tests.helpers.servers import browser_opener

    opener = browser_opener()
    page_url = base + pages["comment-post"].removesuffix("comments")
    with opener.open(page_url, timeout=30) as response:
        action, fields = form_fields(response.read(), page_url, "//form[@id='comment-form']")
    if urllib.parse.urlsplit(action).path != pages["comment-post"]:
        raise SystemExit(f"the comment form posts to {action}, not {pages['comment-post']}")
    (jar,) = [h.cookiejar for h in opener.handlers if hasattr(h, "cookiejar")]
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    # As static/js/comments.js does when the reader starts writing: a fresh form stamp.
    with opener.open(base + "/comments/stamp", timeout=30) as response:
        stamp = response.read().decode()
    filled = {"author_name": "Bench Reader", "issued": stamp}
    data = [(name, filled.get(name, value)) for name, value in fields if name != "body"]
    prefix = urllib.parse.urlencode(data) + "&body=Benchmark+comment+"
    path = tmp / f"comment-{urllib.parse.urlsplit(base).port}.lua"
    script = COMMENT_LUA.format(cookie=json.dumps(cookie), prefix=json.dumps(prefix), expect=303)
    path.write_text(script)
    return str(path)


NGINX_CONF = """
daemon off;
worker_processes 2;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    types {{ text/html html; }}
    server {{
        listen 127.0.0.1:{port};
        root {tmp}/www;
    }}
}}
"""


def start_nginx(tmp: Path, port: int, servers: list, probe: str) -> subprocess.Popen:
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, port=port))
    tmp.chmod(0o755)  # nginx's workers drop root and read the page as nobody
    command = ["nginx", "-p", str(tmp), "-c", str(conf)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    servers.append(process)
    wait_for(f"http://127.0.0.1:{port}/{probe}")
    return process


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wrk(url: str, target: Target, duration: int, connections: int, threads: int) -> Result:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    command += ["--timeout", "10s"]  # a slow page reports its latency, not a timeout
    for name, value in target.headers.items():
        command += ["-H", f"{name}: {value}"]
    if target.lua:
        command += ["-s", target.lua]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    p50 = _latency(re.search(r"50%\s+([\d.]+\w+)", out).group(1))
    p99 = _latency(re.search(r"99%\s+([\d.]+\w+)", out).group(1))
    errors = []
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors.append(f"{m.group(1)} non-2xx/3xx")
    if m := re.search(r"Socket errors: (.*)", out):
        errors.append(m.group(1))
    unexpected = 0
    if target.expect is not None:
        m = re.search(r"Unexpected statuses: (\d+) of (\d+)", out)
        if m is None:
            raise SystemExit(f"wrk's script for {target.name} printed no status count:\n{out}")
        unexpected = int(m.group(1))
        errors.append(f"{unexpected} of {m.group(2)} not {target.expect}")
    return Result(rps, p50, p99, "; ".join(errors), requests, unexpected=unexpected)


def _latency(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def cpu_seconds(master: int) -> float:
    """Return the user + system CPU time of gunicorn's master and workers so far."""
    total = 0
    for pid in [master, *worker_pids(master)]:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def settle(masters: list[int], timeout: float = 60) -> None:
    """Wait until every gunicorn is idle (under 10 ms of CPU in 0.25 s). wrk stops sending
    when its time is up, but sync workers still answer the requests queued for a slow page:
    without this, the next target's run would pay for them."""
    deadline = time.monotonic() + timeout
    before = sum(cpu_seconds(m) for m in masters)
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = sum(cpu_seconds(m) for m in masters)
        if now - before < 0.01:
            return
        before = now


def measure(url: str, target: Target, master: int | None, args) -> tuple[Result, float]:
    """Run wrk on url; return its result (with the CPU per request of the gunicorn master that
    answers it, if one does) and the largest worker RSS seen meanwhile (MB). CPU per request
    holds steady on a busy machine, where requests per second mostly measure the neighbours."""
    samples: list[float] = [0.0]
    done = threading.Event()

    def sample() -> None:
        while master and not done.wait(0.5):
            samples.extend(rss_mb(pid) for pid in worker_pids(master))

    sampler = threading.Thread(target=sample)
    sampler.start()
    cpu_before = cpu_seconds(master) if master else 0.0
    try:
        result = wrk(url, target, args.duration, args.connections, args.threads)
    finally:
        done.set()
        sampler.join()
    if master and result.requests:
        result.cpu_ms = (cpu_seconds(master) - cpu_before) * 1000 / result.requests
    return result, max(samples)


@dataclass
class Site:
    """One data size under test: its database, page URLs, query counts and gunicorn."""

    posts: int
    comments: int
    db_path: Path
    pages: dict[str, str]
    counts: dict[str, int]
    port: int
    master: int
    proxy_url: str = ""  # deploy/nginx.conf in front of this gunicorn
    baseline_port: int = 0  # gunicorn running BASELINE's code on this database (0: none)
    baseline_master: int = 0
    results: dict[str, list[Result]] = field(default_factory=dict)
    peak_rss: float = 0.0
    in_process_ms: dict[str, float] = field(default_factory=dict)

    def url(self, target: Target, static_port: int) -> str | None:
        """Where wrk sends target's requests for this size (None: not measured here)."""
        if target.server == "nginx":
            return f"http://127.0.0.1:{static_port}{target.path}-{self.posts}.html"
        if target.server == "proxy":
            return self.proxy_url + target.path
        if target.server == "baseline":
            return (
                f"http://127.0.0.1:{self.baseline_port}{target.path}"
                if self.baseline_port
                else None
            )
        return f"http://127.0.0.1:{self.port}{target.path}"

    def master_of(self, target: Target) -> int | None:
        """The gunicorn whose CPU answers target (None: nginx answers it)."""
        return {"gunicorn": self.master, "baseline": self.baseline_master}.get(target.server)


def median(results: list[Result]) -> Result:
    ordered = sorted(results, key=lambda r: r.rps)
    middle = ordered[len(ordered) // 2]
    cpu = sorted(r.cpu_ms for r in results)[len(results) // 2]
    errors = "; ".join(r.errors for r in results if r.errors)
    unexpected = sum(r.unexpected for r in results)
    return Result(
        middle.rps, middle.p50_ms, middle.p99_ms, errors, middle.requests, cpu, unexpected
    )


def run(sizes: list[tuple[int, int]], args) -> list[Site]:
    """Start a gunicorn per size and one nginx; run every target on every size, interleaved.

    The sizes take turns target by target, round after round, so a load spike from other
    work on the machine hits both sizes alike; each cell is the median of the rounds.
    """
    tmp = Path(tempfile.mkdtemp(prefix="blog-bench-"))
    tmp.chmod(0o755)  # nginx's workers drop root and read the saved page as nobody
    servers: list[subprocess.Popen] = []
    proxies: list = []
    try:
        from tests.helpers.nginx import Nginx

        baseline = baseline_code(tmp)
        sites = []
        for posts, comments in sizes:
            db_path = working_copy(database(posts, comments, args.fresh), tmp)
            port = free_port()
            pages, counts = survey(db_path, tmp, f"post-200-{posts}.html", port)
            master = start_gunicorn(db_path, port, args.workers, tmp, servers).pid
            pages["lua"] = comment_script(f"http://127.0.0.1:{port}", pages, tmp)
            site = Site(posts, comments, db_path, pages, counts, port, master)
            proxies.append(Nginx(f"127.0.0.1:{port}", tmp / f"proxy-{posts}"))
            site.proxy_url = proxies[-1].url
            if baseline is not None:
                site.baseline_port = free_port()
                started = start_gunicorn(
                    db_path, site.baseline_port, args.workers, tmp, servers, code=baseline
                )
                site.baseline_master = started.pid
                check_baseline(
                    f"http://127.0.0.1:{site.baseline_port}{pages['post-200']}",
                    pages["remembered"],
                )
            check_304(site)
            sites.append(site)
        time_in_process(sites)
        nginx_port = free_port()
        start_nginx(tmp, nginx_port, servers, f"post-200-{sizes[0][0]}.html")
        masters = [m for s in sites for m in (s.master, s.baseline_master) if m]
        for round_ in range(1, args.rounds + 1):
            for index in range(len(targets(sites[0].pages))):
                for site in sites:
                    target = targets(site.pages)[index]
                    url = site.url(target, nginx_port)
                    if url is None:
                        continue
                    if round_ == 1:  # both workers compile templates, warm caches
                        settle(masters)
                        wrk(url, target, 1, args.connections, args.threads)
                    settle(masters)
                    result, rss = measure(url, target, site.master_of(target), args)
                    site.results.setdefault(target.name, []).append(result)
                    if target.server == "gunicorn":
                        site.peak_rss = max(site.peak_rss, rss)
                    print(
                        f"  round {round_}  {site.posts:>7,} posts  {target.name:<48} "
                        f"{result.rps:>9,.0f} req/s  p50 {result.p50_ms:7.2f} ms  "
                        f"p99 {result.p99_ms:7.2f} ms {result.errors}",
                        file=sys.stderr,
                    )
        for site in sites:  # the 304 targets did get 304s (posting changed neither ETag)
            check_304(site)
        return sites
    finally:
        for proxy in proxies:
            proxy.stop()
        for server in servers:
            stop(server)
        shutil.rmtree(tmp, ignore_errors=True)


def check_304(site: Site) -> None:
    """Make sure the 304 targets are answered 304 by this size's gunicorn."""
    for target in targets(site.pages):
        if "If-None-Match" not in target.headers:
            continue
        request = urllib.request.Request(
            f"http://127.0.0.1:{site.port}{target.path}", headers=target.headers
        )
        try:
            urllib.request.urlopen(request, timeout=30).close()
            raise SystemExit(f"{target.name}: the server answered 200, not 304")
        except urllib.error.HTTPError as error:
            if error.code != 304:
                raise


def table(sites: list[Site]) -> str:
    small, big = sites[0], sites[-1]
    a_n, b_n = f"{small.posts:,}", f"{big.posts:,}"
    head = (
        f"| target | req/s {a_n} | p50 / p99 ms {a_n} | CPU ms/req {a_n} | req/s {b_n} "
        f"| p50 / p99 ms {b_n} | CPU ms/req {b_n} | in-process ms {a_n} / {b_n} "
        f"| cost {b_n} vs {a_n}: CPU, in-process | queries {a_n} / {b_n} |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for name in small.results:
        a, b = median(small.results[name]), median(big.results[name])
        ia, ib = small.in_process_ms.get(name), big.in_process_ms.get(name)
        cpu = lambda r: f"{r.cpu_ms:.2f}" if r.cpu_ms else "–"  # noqa: E731
        cells = [name, f"{a.rps:,.0f}", f"{a.p50_ms:.1f} / {a.p99_ms:.1f}", cpu(a)]
        cells += [f"{b.rps:,.0f}", f"{b.p50_ms:.1f} / {b.p99_ms:.1f}", cpu(b)]
        cells.append(f"{ia:.2f} / {ib:.2f}" if ia and ib else "–")
        ratios = [f"{b.cpu_ms / a.cpu_ms:.2f}x" if a.cpu_ms and b.cpu_ms else "–"]
        ratios.append(f"{ib / ia:.2f}x" if ia and ib else "–")
        cells.append(", ".join(ratios))
        cells.append(f"{small.counts.get(name, '–')} / {big.counts.get(name, '–')}")
        if a.errors or b.errors:
            cells[0] += f" (wrk: {a.errors or b.errors})"
        lines.append("| " + " | ".join(cells) + " |")
    report = head + "\n".join(lines) + "\n"
    for site in sites:
        report += (
            f"\nAt {site.posts:,} posts / {site.comments:,} comments: largest gunicorn worker "
            f"RSS under load {site.peak_rss:.0f} MB; {site.counts.get(POSTING, '–')} SQL "
            "statements to post a comment (plain form)."
        )
    return report + "\n"


def goals(sites: list[Site]) -> str:
    """Every goal of issue 13, met or missed, with its figures at each size (one run)."""
    lines = ["| goal | " + " | ".join(f"{s.posts:,} posts" for s in sites) + " | met |"]
    lines.append("|---|" + "---:|" * len(sites) + ":---:|")

    def cells(verdicts: list[tuple[str, bool | None]]) -> str:
        figures = " | ".join(text for text, _ in verdicts)
        flags = [ok for _, ok in verdicts]
        met = "not measured" if None in flags else ("**met**" if all(flags) else "**missed**")
        return f"{figures} | {met}"

    def result(site: Site, name: str) -> Result | None:
        runs = site.results.get(name)
        return median(runs) if runs else None

    def ratio(site: Site, name: str, of: str, goal: float) -> tuple[str, bool | None]:
        a, b = result(site, name), result(site, of)
        if not a or not b or not b.rps:
            return "–", None
        value = a.rps / b.rps
        text = f"{value:.2f}x ({a.rps:,.0f} / {b.rps:,.0f} req/s)"
        if a.cpu_ms and b.cpu_ms:  # the steadier figure on a shared machine
            text += f"; by CPU {b.cpu_ms / a.cpu_ms:.2f}x ({a.cpu_ms:.2f} / {b.cpu_ms:.2f} ms)"
        return text, value >= goal

    rows = [
        ("post page, 200 comments, anonymous ≥ 0.5x the constant route", POST200, CONSTANT, 0.5),
        (
            "the same page, 304 on If-None-Match ≥ 0.8x the constant route",
            POST200_304,
            CONSTANT,
            0.8,
        ),
        ("home page ≥ 0.5x the constant route", HOME, CONSTANT, 0.5),
        ("archive page ≥ 0.5x the constant route", ARCHIVE, CONSTANT, 0.5),
        ("tag page ≥ 0.5x the constant route", TAG, CONSTANT, 0.5),
        (
            "post page through deploy/nginx.conf, cache warm ≥ 0.5x nginx's saved copy",
            PROXIED,
            STATIC,
            0.5,
        ),
    ]
    for label, name, of, goal in rows:
        lines.append(f"| {label} | " + cells([ratio(s, name, of, goal) for s in sites]) + " |")

    def no_slower(site: Site) -> tuple[str, bool | None]:
        new, old = result(site, REMEMBERED), result(site, REMEMBERED_BEFORE)
        if not new or not old or not new.cpu_ms or not old.cpu_ms:
            return "–", None
        # CPU per request: steadier than req/s on a shared machine; 5 % is the noise between runs.
        text = (
            f"{new.cpu_ms:.2f} vs {old.cpu_ms:.2f} ms CPU, {new.rps:,.0f} vs {old.rps:,.0f} req/s"
        )
        return text, new.cpu_ms <= old.cpu_ms * 1.05

    label = f"a remembered reader's post page no slower than before (commit {BASELINE})"
    lines.append(f"| {label} | " + cells([no_slower(s) for s in sites]) + " |")

    def posting(site: Site) -> tuple[str, bool | None]:
        r = result(site, POSTING)
        statements = site.counts.get(POSTING)
        if not r or statements is None:
            return "–", None
        answered = sum(x.requests for x in site.results[POSTING])
        unexpected = sum(x.unexpected for x in site.results[POSTING])
        text = f"{r.cpu_ms:.2f} ms CPU, {statements} statements, {unexpected} of {answered} not 303"
        return text, r.cpu_ms <= 4 and statements <= 6 and unexpected == 0

    label = "posting a comment (plain form, 303) ≤ 4 ms CPU, ≤ 6 SQL statements, no other status"
    lines.append(f"| {label} | " + cells([posting(s) for s in sites]) + " |")
    rss = [(f"{s.peak_rss:.0f} MB", s.peak_rss < 100) for s in sites]
    lines.append("| worker RSS under load < 100 MB | " + cells(rss) + " |")
    if len(sites) > 1:
        small, big = sites[0], sites[-1]
        worst, where = 0.0, ""
        for name in small.in_process_ms:
            a, b = small.in_process_ms.get(name), big.in_process_ms.get(name)
            if a and b and b / a > worst:
                worst, where = b / a, name
        text = f"worst {worst:.2f}x ({where}, in-process time)"
        lines.append(
            f"| every page at {big.posts:,} posts within 1.5x of {small.posts:,} | – | "
            f"{text} | {'**met**' if worst <= 1.5 else '**missed**'} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000:10000,100000:1000000", help="posts:comments,...")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each target, median kept")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--fresh", action="store_true", help="rebuild the benchmark databases")
    args = parser.parse_args()
    sizes = [tuple(int(n) for n in size.split(":")) for size in args.sizes.split(",")]
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing: apt-get install {tool}")
    # Clean up servers on SIGTERM too (a background job ignores SIGINT).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))
    sites = run(sizes, args)
    command = "python bench/run.py " + " ".join(sys.argv[1:])
    report = table(sites) + "\n### Goals (issue 13)\n\n" + goals(sites)
    load = os.getloadavg()
    report += f"\nCommand: `{command.strip()}`; {os.cpu_count()} cores; load average "
    report += f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min) at the end.\n"
    print(report)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.md").write_text(report)
    failed = unexpected_statuses(sites)
    if failed:
        raise SystemExit("Unexpected statuses (more than 1 %): " + "; ".join(failed))


def unexpected_statuses(sites: list[Site]) -> list[str]:
    """Name every target whose answers were not its expected status more than 1 % of the time."""
    failed = []
    for site in sites:
        for name, results in site.results.items():
            answered = sum(r.requests for r in results)
            unexpected = sum(r.unexpected for r in results)
            if answered and unexpected / answered > 0.01:
                failed.append(f"{name} at {site.posts:,} posts: {unexpected} of {answered}")
    return failed


if __name__ == "__main__":
    main()
