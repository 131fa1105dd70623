"""Benchmark the sitemap at scale: CPU per request for /sitemap.xml and the files it lists.

Run (a scratch database; bench-data needs an empty one):

    export BLOG_SQLALCHEMY_DATABASE_URI=sqlite:////tmp/sitemap-bench.sqlite
    .venv/bin/flask --app wsgi db upgrade
    .venv/bin/flask --app wsgi bench-data --posts 100000 --comments 0
    .venv/bin/python bench/bench_sitemap.py --rounds 20

In process, through the test client: for /sitemap.xml and each sitemap file it lists (a sitemap
index) the CPU time (time.process_time) of the first request (built), of later ones (the per-
process cache, when there is one) and of a conditional request with the ETag (304, when the
response has an ETag), with the bytes and URL count. It only asks URLs, so it runs on the code
before the fix too (one /sitemap.xml listing every post, no ETag).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from blog import create_app  # noqa: E402

NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def cpu_ms(client, url: str, rounds: int, **headers) -> tuple[float, object]:
    times, response = [], None
    for _ in range(rounds):
        started = time.process_time()
        response = client.get(url, headers=headers)
        response.get_data()
        times.append(time.process_time() - started)
    return statistics.median(times) * 1000, response


def measure(client, url: str, rounds: int) -> list[str]:
    """Print one table row for url; return the sitemap files it lists (if it is an index)."""
    first, response = cpu_ms(client, url, 1)
    assert response.status_code == 200, (url, response.status_code)
    again, _ = cpu_ms(client, url, rounds)
    etag = response.headers.get("ETag")
    not_modified = "—"
    if etag:
        cost, answer = cpu_ms(client, url, rounds, **{"If-None-Match": etag})
        not_modified = f"{cost:,.1f}" if answer.status_code == 304 else f"{answer.status_code}"
    root = etree.fromstring(response.get_data())
    urls = root.findall("s:url", NS)
    files = [e.findtext("s:loc", namespaces=NS) for e in root.findall("s:sitemap", NS)]
    kind = f"index of {len(files)} files" if files else f"{len(urls):,} URLs"
    size = len(response.get_data())
    print(f"| {url} | {kind} | {size:,} | {first:,.1f} | {again:,.1f} | {not_modified} |")
    return [f.split("://", 1)[1].split("/", 1)[1] for f in files]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    uri = os.environ.get("BLOG_SQLALCHEMY_DATABASE_URI")
    if not uri:
        raise SystemExit("set BLOG_SQLALCHEMY_DATABASE_URI to the scratch database (see --help)")
    app = create_app({"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "bench"})
    client = app.test_client()
    print("| URL | what | bytes | first request, CPU ms | later requests | 304 |")
    print("|---|---|---:|---:|---:|---:|")
    for path in measure(client, "/sitemap.xml", args.rounds):
        measure(client, "/" + path, args.rounds)


if __name__ == "__main__":
    main()
