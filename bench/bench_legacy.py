"""Benchmark: what an old address costs a request, hit or miss, and what other pages pay.

    .venv/bin/python bench/bench_legacy.py --database sqlite:////tmp/blog.sqlite \\
        /2009/10/what_ive_been_u.html /blog/2009/10/what_ive_been_u.html /no-such-page

Times GET requests through Flask's test client (no network, no server) on an existing
database, for each path given: requests per second, CPU time per request (the steadier
figure on a shared machine) and the statuses seen. Import a blog
into the database first (flask --app wsgi import ...). --lookup-only times the lookup alone
(the one query and the URL it builds), in a request context.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="SQLAlchemy URI of the blog")
    parser.add_argument("--requests", type=int, default=2000, help="per path")
    parser.add_argument(
        "--lookup-only", action="store_true", help="time the lookup alone, not whole requests"
    )
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args()

    from blog import create_app
    from blog.porting.legacy import lookup_keys, resolve_keys

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": args.database,
            "SECRET_KEY": "bench",
            "RATELIMIT_ENABLED": False,
        }
    )
    if args.lookup_only:
        with app.test_request_context():
            for path in args.paths:
                keys = lookup_keys(path)
                found = resolve_keys(keys)
                cpu = time.process_time()
                for _ in range(args.requests):
                    resolve_keys(keys)
                cpu = time.process_time() - cpu
                where = found.url if found else "nothing"
                print(
                    f"{cpu / args.requests * 1e6:6.0f} µs CPU a lookup  {len(keys)} keys  "
                    f"{path} -> {where}"
                )
        return
    client = app.test_client()
    for path in args.paths:
        for _ in range(50):  # warm up: caches, the connection pool, the URL map
            client.get(path).close()
        statuses: Counter[int] = Counter()
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(args.requests):
            response = client.get(path)
            statuses[response.status_code] += 1
            response.close()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        # CPU time per request is the steadier figure on a shared machine.
        print(
            f"{args.requests / elapsed:8.0f} req/s  {cpu / args.requests * 1e6:6.0f} µs CPU  "
            f"{dict(statuses)}  {path}"
        )


if __name__ == "__main__":
    main()
