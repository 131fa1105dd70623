"""Benchmark the discussion blocklist: what a 5,000-entry list costs each comment.

Run: .venv/bin/python bench/bench_blocklist.py [--entries 5000] [--rounds 200] [--posts 50]

1. `blog.discussion.blocklist_match()` alone, with the list already seen once (the first call
   of a settings version compiles it; that call is timed apart): a 600-character comment that
   matches nothing (every entry must be looked at: the costly case), one that matches a word,
   one whose address is in a listed network;
2. posting a comment end to end through the test client (the form, the spam checks, the
   insert, the answer) on a temporary migrated SQLite blog, with an empty blocklist and with
   the 5,000 entries: the difference is what the blocklist costs a reader's comment.

It calls only what both the code before the fix and after it have, so running it on either
gives comparable numbers. Medians of CPU time (this thread's), in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import scratch_app  # noqa: E402

from blog.discussion import DiscussionSettings, blocklist_match  # noqa: E402
from blog.extensions import db  # noqa: E402
from tests.helpers import factories  # noqa: E402
from tests.helpers.blocklist import COMMENT, big_blocklist  # noqa: E402
from tests.helpers.html import form_fields  # noqa: E402

FORM = "//form[@id='comment-form']"


def cpu_ms(run, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.thread_time()
        run()
        times.append(time.thread_time() - started)
    return statistics.median(times) * 1000


def bench_match(entries: list[str], rounds: int) -> None:
    clean = {"author_email": "reader@example.org", "body": COMMENT, "ip": "192.0.2.1"}
    word = entries[len(entries) - 10]  # near the end: entry by entry, it is found last
    network = entries[len(entries) - 1]
    inside = network.replace("0/24", "77")
    started = time.thread_time()
    blocklist_match(entries, **clean)
    first = (time.thread_time() - started) * 1000
    print(f"{len(entries)} entries")
    print(f"| first comment of a settings version (compiles) | {first:,.2f} |")
    cases = {
        "a 600-character comment matching nothing": clean,
        f"a comment with the word “{word}”": {**clean, "body": COMMENT + " " + word},
        f"a comment from {inside} (in {network})": {**clean, "ip": inside},
    }
    for label, comment in cases.items():
        assert (blocklist_match(entries, **comment) is None) == (comment is clean), label
        cost = cpu_ms(lambda c=comment: blocklist_match(entries, **c), rounds)
        print(f"| {label} | {cost:,.3f} |")


def bench_posting(entries: list[str], posts: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = scratch_app(tmp, COMMENT_MIN_SECONDS=0, COMMENTS_CACHE_SIZE=0)
        page = factories.permalink(app, factories.post(app, "Benchmarks", "A post."))
        client = app.test_client()
        # The form as the page gives it (its CSRF token or form stamp, the defaults), read once.
        action, fields = form_fields(client.get(page), "http://localhost/", FORM)

        def post_comments(n: int) -> float:
            times = []
            for i in range(n):
                data = {
                    **dict(fields),
                    "author_name": f"Reader {i}",
                    "author_email": f"reader{i}@example.org",
                    "body": f"{COMMENT} ({i}, {time.time()})",
                }
                started = time.thread_time()
                with app.app_context():
                    response = client.post(action, data=data)
                times.append(time.thread_time() - started)
                assert response.status_code == 303, response.status_code
            return statistics.median(times) * 1000

        for label, listed in (("empty blocklist", []), (f"{len(entries)} entries", entries)):
            with app.app_context():
                DiscussionSettings(blocklist=listed, flood_seconds=0, hourly_limit=0).save()
                db.session.commit()
            post_comments(2)  # the first comment of a version compiles the list
            print(f"| post a comment, {label} | {post_comments(posts):,.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--posts", type=int, default=50, help="comments posted end to end")
    args = parser.parse_args()
    entries = big_blocklist(args.entries)
    print("| what | CPU ms (median) |\n|---|---:|")
    bench_match(entries, args.rounds)
    bench_posting(entries, args.posts)


if __name__ == "__main__":
    main()
