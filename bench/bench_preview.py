"""Benchmark issue 17: what a preview costs beside posting's sanitizing, and the post page's cost.

Run: .venv/bin/python bench/bench_preview.py [--rounds N] [--comments N] [--root DIR]

In-process (the app's factory on a temporary, migrated SQLite file, the test client), medians
of --rounds runs, CPU time (time.process_time, so the other engineers' load on the shared
machine counts less). --root runs the same measurements on another checkout of the blog (e.g.
`git archive cache13 | tar -x -C /tmp/base`): the page rows then compare the two codebases in
one run. Rows a checkout cannot measure (no preview before issue 17) print "n/a".
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import scratch_app

TYPICAL = (
    "I tried the notebook idea for a month and it stuck. The trick for me was a pocket-sized "
    "one, so it comes along on walks; the big one stayed on the desk and I never opened it.\n"
    "\n"
    "There is a good essay on this at https://example.com/notes/paper-and-pixels?ref=blog - "
    "the part about *writing things down to forget them* is what convinced me. "
    "**One caveat:** handwriting you cannot read a week later is no better than a "
    "browser tab. I now print the first word of each note in capitals.\n"
    "\n"
    "Thanks for the post, and for [the moss guide](https://example.org/) recommendation.\n"
)


def median_us(run, rounds: int) -> float:
    for _ in range(min(20, rounds)):
        run()  # warm caches, compiled statements, parsers
    times = []
    for _ in range(rounds):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--comments", type=int, default=200)
    parser.add_argument("--root", default=str(Path(__file__).resolve().parent.parent))
    args = parser.parse_args()
    root = Path(args.root).resolve()
    sys.path.insert(0, str(root))
    from blog.extensions import db
    from blog.sanitize import clean_comment
    from tests.helpers import factories

    try:
        render_comment = importlib.import_module("blog.comments.formatting").render_comment
    except ImportError:
        render_comment = None

    with tempfile.TemporaryDirectory() as tmp:
        app = scratch_app(tmp, COMMENT_MIN_SECONDS=0, SERVER_NAME=None)
        post = factories.post(app)
        for i in range(args.comments):
            factories.comment(app, post, f"Comment {i}: {TYPICAL}")
        path = factories.path_of(post)
        form = {"author_name": "Ada", "author_email": "ada@example.org", "body": TYPICAL}
        anonymous = app.test_client()
        remembered = app.test_client()
        remembered.post(path + "comments", data={**form, "remember": "y", "body": "Hello."})
        # The same "remember me" cookie, on a browser without a comment of its own in the window.
        returning = app.test_client()
        returning.set_cookie("comment_author", remembered.get_cookie("comment_author").value)
        # Posted on a post of their own, so that the page measured keeps its comments.
        other = factories.path_of(factories.post(app, "Another post"))
        poster, sent = app.test_client(), iter(range(10**9))

        def post_one() -> None:
            body = f"{TYPICAL} ({next(sent)})"  # a new text each time: no duplicate refused
            poster.post(
                other + "comments", data={**form, "body": body}, headers={"HX-Request": "true"}
            )

        rows = {
            "clean_comment (plain text), typical comment": median_us(
                lambda: clean_comment(TYPICAL), args.rounds
            ),
            "render_comment (Markdown), typical comment": median_us(
                lambda: render_comment(TYPICAL, "markdown"), args.rounds
            )
            if render_comment
            else None,
            "POST …/comments/preview (htmx), in-process": median_us(
                lambda: anonymous.post(
                    path + "comments/preview", data=form, headers={"HX-Request": "true"}
                ),
                args.rounds,
            )
            if render_comment
            else None,
            "POST …/comments (htmx), in-process": median_us(post_one, args.rounds),
            f"GET post page, anonymous (shared), {args.comments} comments": median_us(
                lambda: anonymous.get(path), args.rounds
            ),
            f"GET post page, remembered reader, {args.comments} comments": median_us(
                lambda: returning.get(path), args.rounds
            ),
            f"GET post page, remembered reader who just posted, {args.comments} comments": (
                median_us(lambda: remembered.get(path), args.rounds)
            ),
        }
        with app.app_context():
            db.engine.dispose()
    print(f"| measurement ({root.name}) | median µs CPU |")
    print("|---|---:|")
    for name, value in rows.items():
        print(f"| {name} | {'n/a' if value is None else f'{value:,.0f}'} |")


if __name__ == "__main__":
    main()
