"""Benchmark: import a generated Movable Type export of N posts and M comments.

    .venv/bin/python bench/bench_import.py --posts 5000 --comments 50000
    .venv/bin/python bench/bench_import.py --posts 5000 --comments 5000 --no-basenames

Generates the export in a temporary folder, migrates an empty SQLite database there,
and times `run_import` (the code behind `flask --app wsgi import`): wall time, rows per
second and the process's peak resident memory. --tracemalloc also reports the peak of
Python allocations during the import (slower: tracing costs time). --no-basenames leaves out
the BASENAME lines, as Movable Type 3 and old TypePad exports do: every era's old address is
then rebuilt from the title, and the rescue report checks them all.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import scratch_app  # noqa: E402

WORDS = (
    "the a notebook keyboard winter reading letter road map river coffee garden window "
    "evening morning friend question answer paper ink light rain city train station book "
    "page story small quiet long short old new good kind slow careful bright"
).split()


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def generate(path: Path, posts: int, comments: int, seed: int = 1, basenames: bool = True) -> None:
    """Write a TypePad-like export: HTML and line-broken bodies, tags, comments, a ping or two."""
    rng = random.Random(seed)
    start = datetime(2004, 1, 1, 9, 0, tzinfo=UTC)
    per_post, extra = divmod(comments, posts)
    with path.open("w", encoding="utf-8", newline="\r\n") as out:
        for i in range(posts):
            when = start + timedelta(hours=7 * i)
            html = i % 2 == 0
            paragraphs = [
                " ".join(sentence(rng, rng.randint(8, 20)) for _ in range(4)) for _ in range(4)
            ]
            if html:
                body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
                body += f'\n<p><img src="http://bench.typepad.com/.a/{i:08x}-pi" alt="photo"></p>'
            else:
                body = "\n\n".join(paragraphs)
            out.write(
                f"AUTHOR: bench\nTITLE: Post {i}: {sentence(rng, 5)}\n"
                + (f"BASENAME: post_{i}\n" if basenames else "")
                + f"STATUS: {'Draft' if i % 50 == 0 else 'Publish'}\n"
                f"ALLOW COMMENTS: {0 if i % 7 == 0 else 1}\nALLOW PINGS: 1\n"
                f"CONVERT BREAKS: {'0' if html else '__default__'}\n"
                f"CATEGORY: {rng.choice(['Life', 'Books', 'Travel', 'Food'])}\n"
                f'TAGS: "tag {i % 40}",t{i % 13}\n'
                f"DATE: {when:%m/%d/%Y %I:%M:%S %p}\n-----\n"
                f"BODY:\n{body}\n-----\nEXTENDED BODY:\n{sentence(rng, 30)}\n-----\n"
            )
            for c in range(per_post + (1 if i < extra else 0)):
                said = when + timedelta(minutes=13 * (c + 1))
                text = " ".join(sentence(rng, rng.randint(6, 18)) for _ in range(rng.randint(1, 4)))
                if c % 9 == 4:
                    text += " See http://example.com/reply and <b>this</b>."
                out.write(
                    f"COMMENT:\nAUTHOR: Reader {rng.randint(1, 900)}\n"
                    f"EMAIL: r{c}@example.org\nURL: https://reader{c}.example.org/\n"
                    f"IP: 192.0.2.{c % 250}\nDATE: {said:%m/%d/%Y %H:%M:%S}\n{text}\n-----\n"
                )
            if i % 100 == 0:
                out.write(
                    "PING:\nTITLE: A reply\nURL: http://elsewhere.example/\nIP: 192.0.2.1\n"
                    "BLOG NAME: Elsewhere\nDATE: 01/01/2005 10:00:00 AM\nI wrote back.\n-----\n"
                )
            out.write("--------\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--comments", type=int, default=50000)
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--no-basenames", action="store_true", help="export without BASENAME")
    args = parser.parse_args()

    from blog.extensions import db
    from blog.models import User
    from blog.porting.importer import run_import

    with tempfile.TemporaryDirectory(prefix="bench-import-") as folder:
        export = Path(folder) / "export.txt"
        t0 = time.perf_counter()
        generate(export, args.posts, args.comments, basenames=not args.no_basenames)
        print(
            f"generated {export.stat().st_size / 1e6:.1f} MB: {args.posts} posts, "
            f"{args.comments} comments in {time.perf_counter() - t0:.1f} s"
        )
        app = scratch_app(folder)
        with app.app_context():
            user = User(username="bench", display_name="Bench", password_hash="")
            db.session.add(user)
            db.session.commit()
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            if args.tracemalloc:
                tracemalloc.start()
            t0, cpu0 = time.perf_counter(), time.process_time()
            report = run_import(export, timezone="Europe/London")
            elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            traced = tracemalloc.get_traced_memory()[1] / 1e6 if args.tracemalloc else None
            tracemalloc.stop()
            rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"import: {elapsed:.1f} s — {report.posts_created} posts, "
                f"{report.comments_created} comments, {len(report.tags_created)} tags, "
                f"{report.paths_recorded} old addresses, {len(report.pings)} pings reported; "
                f"{report.comments_created / elapsed:.0f} comments/s"
            )
            print(f"import CPU time: {cpu:.1f} s")
            if report.rescue is not None:
                print("rescue report: " + report.rescue.summary())
            print(f"peak RSS: {rss_peak:.0f} MB (before the import: {rss_before:.0f} MB)")
            if traced is not None:
                print(f"peak traced Python allocations during the import: {traced:.0f} MB")
            t0 = time.perf_counter()
            again = run_import(export, timezone="Europe/London")
            print(
                f"re-import (idempotent, {again.posts_existing} posts and "
                f"{again.comments_existing} comments already there, "
                f"{again.posts_created + again.comments_created} new): "
                f"{time.perf_counter() - t0:.1f} s"
            )
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
