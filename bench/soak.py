"""Worker memory under a long mixed load: is it flat once the caches are full?

    .venv/bin/python bench/soak.py --duration 240

gunicorn (gunicorn.conf.py, 2 workers, no recycling) on a copy of the 1,000-post benchmark
database (bench/run.py builds it), wrk cycling over 400 post pages, listings, tags, archives, a
feed and a search, and the workers' RSS printed every 15 s. gunicorn.conf.py's recycling bound
rests on what this shows.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=240, help="seconds of load")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="blog-soak-"))
    source = bench.database(1000, 10000, fresh=False)
    db_path = tmp / "blog.sqlite"
    shutil.copy(source, db_path)
    with sqlite3.connect(db_path) as con:
        rows = con.execute(
            "SELECT published_at, slug FROM post WHERE status = 'published' "
            "ORDER BY random() LIMIT 400"
        ).fetchall()
    paths = [f"/{when[:4]}/{when[5:7]}/{slug}/" for when, slug in rows]
    paths += ["/", "/?page=2", "/?page=3", "/tags/writing/", "/tags/reading/", "/2020/"]
    paths += ["/2021/", "/feeds/comments.atom", "/search?q=notes"]
    lua = tmp / "mix.lua"
    lua.write_text(
        "paths = {" + ",".join(f'"{p}"' for p in paths) + "}\nn = 0\n"
        "request = function()\n  n = n + 1\n"
        "  return wrk.format(nil, paths[(n % #paths) + 1])\nend\n"
    )
    port = bench.free_port()
    servers: list = []
    master = bench.start_gunicorn(db_path, port, 2, tmp, servers).pid
    try:
        command = ["wrk", "-t2", "-c8", f"-d{args.duration}s", "-s", str(lua)]
        load = subprocess.Popen(
            [*command, f"http://127.0.0.1:{port}/"], stdout=subprocess.PIPE, text=True
        )
        started = time.monotonic()
        while load.poll() is None:
            time.sleep(15)
            rss = [f"{bench.rss_mb(pid):.1f}" for pid in bench.worker_pids(master)]
            print(
                f"{time.monotonic() - started:5.0f} s  worker RSS MB {', '.join(rss)}", flush=True
            )
        for line in load.stdout.read().splitlines():
            if "requests in" in line or "Requests/sec" in line:
                print(line.strip())
    finally:
        for server in servers:
            bench.stop(server)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
