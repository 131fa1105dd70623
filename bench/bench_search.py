"""Search at two sizes, on SQLite and on PostgreSQL: does a search cost the same at 100,000
posts as at 1,000?

    .venv/bin/python bench/bench_search.py                       # SQLite, 1,000 and 100,000 posts
    tests/with-postgres .venv/bin/python bench/bench_search.py --engine postgresql

For each size it builds a fresh, migrated database filled by `flask bench-data` (posts only:
comments play no part in search), then for each query measures, in process and the sizes
taking turns request by request: the whole /search request (test client, median), the search
statement alone (its median, timed on the connection), and the number of SQL statements of the
request. Queries: a word in exactly 10 posts at any size ("lighthouse", bench-data's
SEARCH_WORD: the same search at both sizes), words of the titles that grow with the blog
("notebook", in about a ninth of the posts; "it", in every post), a phrase, an exclusion, OR.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUERIES = [
    ("a word in 10 posts", "lighthouse"),
    ("a title word (1 post in 9)", "notebook"),
    ("a phrase", '"the quiet notebook"'),
    ("a word, minus another", "lighthouse -cliff"),
    ("either of two words", "lighthouse OR garden"),
    ("a word in every post", "it"),
]


def build(engine: str, posts: int, url: str | None):
    """Return an app on a fresh database holding posts bench posts."""
    import sqlalchemy as sa

    from blog import create_app
    from blog.extensions import db, upgrade_database

    if engine == "postgresql":
        # A database of its own per size, made afresh on the server url points at.
        server = sa.engine.make_url(url)
        name = f"{server.database}_bench_{posts}"
        raw = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with raw.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        raw.dispose()
        uri = server.set(database=name).render_as_string(hide_password=False)
    else:
        uri = f"sqlite:///{tempfile.mkdtemp(prefix='bench-search-')}/blog.sqlite"
    app = create_app({"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "bench",
                      "RATELIMIT_ENABLED": False})  # fmt: skip
    upgrade_database(app)
    started = time.monotonic()
    with app.app_context():
        runner = app.test_cli_runner()
        result = runner.invoke(args=["bench-data", "--posts", str(posts), "--comments", "0"])
        assert result.exit_code == 0, result.output
        if engine == "postgresql":
            db.session.execute(sa.text("ANALYZE post"))
            db.session.commit()
        db.engine.dispose()
    print(
        f"{engine}: {posts:,} posts written in {time.monotonic() - started:.0f} s", file=sys.stderr
    )
    return app


class Recorder:
    """Collects the SQL statements of one request, and how long the search statement took."""

    def __init__(self, engine) -> None:
        import sqlalchemy as sa

        self.statements: list[str] = []
        self.search_seconds = 0.0
        self._began = 0.0
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)

    def reset(self) -> None:
        self.statements, self.search_seconds = [], 0.0

    def _before(self, *_args) -> None:
        self._began = time.perf_counter()

    def _after(self, conn, cursor, statement, *_args) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA", "COMMIT", "ROLLBACK")):
            self.statements.append(statement)
        if "candidates" in statement:
            self.search_seconds += time.perf_counter() - self._began


def _status(html: str) -> str:
    after = html.split('id="search-status"', 1)[1]
    return " ".join(after.split(">", 1)[1].split("<", 1)[0].split())


def measure(apps: dict[int, object], rounds: int) -> dict:
    """Time every query at every size, sizes taking turns; return medians and counts."""
    from blog.extensions import db

    recorders = {}
    for size, app in apps.items():
        with app.app_context():
            recorders[size] = Recorder(db.engine)
    samples: dict[tuple[int, str], dict] = {}
    for round_ in range(rounds + 2):
        for _name, query in QUERIES:
            for size, app in apps.items():
                recorder = recorders[size]
                recorder.reset()
                with app.app_context():
                    started = time.perf_counter()
                    response = app.test_client().get("/search", query_string={"q": query})
                    elapsed = time.perf_counter() - started
                assert response.status_code == 200, (query, response.status_code)
                if round_ < 2:  # the first rounds warm caches and templates
                    continue
                cell = samples.setdefault((size, query), {"ms": [], "sql": [], "n": []})
                cell["ms"].append(elapsed * 1000)
                cell["sql"].append(recorder.search_seconds * 1000)
                cell["n"].append(len(recorder.statements))
                cell["status"] = _status(response.get_data(as_text=True))
    return {
        key: {
            "ms": statistics.median(cell["ms"]),
            "sql": statistics.median(cell["sql"]),
            "queries": max(cell["n"]),
            "status": cell["status"],
        }
        for key, cell in samples.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--url", default=os.environ.get("BLOG_TEST_DATABASE_URL"),
                        help="a PostgreSQL server (default: BLOG_TEST_DATABASE_URL); the script "
                        "makes databases <name>_bench_<size> there")  # fmt: skip
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.engine == "postgresql" and not args.url:
        raise SystemExit("--engine postgresql needs --url or BLOG_TEST_DATABASE_URL")
    apps = {size: build(args.engine, size, args.url) for size in sizes}
    results = measure(apps, args.rounds)
    big = sizes[-1]
    print(f"\n{args.engine}, {args.rounds} rounds, medians; {os.cpu_count()} cores\n")
    head = f"| query | found at {big:,} | request ms " + " / ".join(f"{s:,}" for s in sizes)
    head += " | search SQL ms " + " / ".join(f"{s:,}" for s in sizes)
    head += " | cost ratio: request, SQL | queries |"
    print(head)
    print("|---|---|---:|---:|---:|---:|")
    for name, query in QUERIES:
        cells = [results[(size, query)] for size in sizes]
        a, b = cells[0], cells[-1]
        ratio = f"{b['ms'] / a['ms']:.2f}x, {b['sql'] / max(a['sql'], 1e-6):.2f}x"
        request_ms = " / ".join(f"{c['ms']:.2f}" for c in cells)
        sql_ms = " / ".join(f"{c['sql']:.2f}" for c in cells)
        counts = " / ".join(str(c["queries"]) for c in cells)
        print(
            f"| {name}: `{query}` | {b['status']} | {request_ms} | {sql_ms} | {ratio} | {counts} |"
        )


if __name__ == "__main__":
    main()
