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
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from blog import create_app  # noqa: E402
from blog.content import save_post  # noqa: E402
from blog.discussion import DiscussionSettings, blocklist_match  # noqa: E402
from blog.extensions import db  # noqa: E402
from blog.models import Post, PostStatus, User, utcnow  # noqa: E402
from blog.permalinks import post_url  # noqa: E402

COMMENT = (
    "I read this twice and still think the second half undersells the point about gardens. "
    "My grandmother kept a notebook of every frost date since 1961, and the pattern you "
    "describe shows up there too: later springs, earlier autumns, a wobble in between. "
    "Would you share the source for the chart? I tried www.example.org/charts but it is gone. "
) * 2


def blocklist(n: int, seed: int = 7) -> list[str]:
    """A busy blog's list: 40 % words, 20 % phrases, 10 % each emails, domains, IPs, networks."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"

    def word() -> str:
        return "".join(rng.choice(letters) for _ in range(rng.randint(4, 11)))

    kinds = [
        word,
        word,
        word,
        word,
        lambda: f"{word()} {word()}",
        lambda: f"{word()} {word()}",
        lambda: f"{word()}@{word()}.example",
        lambda: f"@{word()}.example",
        lambda: f"198.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        lambda: f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.0/24",
    ]
    return [kinds[i % 10]() for i in range(n)]


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
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite",
                "SECRET_KEY": "bench",
                "RATELIMIT_ENABLED": False,
                "COMMENT_MIN_SECONDS": 0,
                "COMMENTS_CACHE_SIZE": 0,
            }
        )
        from flask_migrate import upgrade

        with app.app_context():
            upgrade()
            author = User(username="bench", display_name="Bench", password_hash="")
            db.session.add(author)
            db.session.flush()
            post = save_post(
                Post(),
                title="Benchmarks",
                body="A post.",
                author_id=author.id,
                tags=[],
                status=PostStatus.PUBLISHED,
                published_at=utcnow() - timedelta(days=1),
            )
            db.session.commit()
            with app.test_request_context():
                page = post_url(post)
        client = app.test_client()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get(page).text)
        if token is None:
            token = re.search(r'"X-CSRFToken": "([^"]+)"', client.get(page).text)

        def post_comments(n: int) -> float:
            times = []
            for i in range(n):
                data = {
                    "csrf_token": token.group(1),
                    "author_name": f"Reader {i}",
                    "author_email": f"reader{i}@example.org",
                    "body": f"{COMMENT} ({i}, {time.time()})",
                }
                started = time.thread_time()
                with app.app_context():
                    response = client.post(page + "comments", data=data)
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
    entries = blocklist(args.entries)
    print("| what | CPU ms (median) |\n|---|---:|")
    bench_match(entries, args.rounds)
    bench_posting(entries, args.posts)


if __name__ == "__main__":
    main()
