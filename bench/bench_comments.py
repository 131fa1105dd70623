"""Benchmark comments: sanitizing, posting end to end, and the post page with 200 comments.

Run: .venv/bin/python bench/bench_comments.py [--rounds N] [--comments N]

It builds the app with its factory on a temporary, migrated SQLite file, so it measures
the real code paths, and prints medians. It also proves that showing a page never
sanitizes: every call to bleach (and to the blog's sanitizing functions) made while the
page is served is counted, and that count must be zero.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bleach.sanitizer  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from common import scratch_app  # noqa: E402
from flask import Flask, render_template  # noqa: E402

import blog.sanitize  # noqa: E402
from blog.comments.store import add_comment  # noqa: E402
from blog.content import save_post  # noqa: E402
from blog.extensions import db  # noqa: E402
from blog.models import Post, PostStatus, User  # noqa: E402
from blog.permalinks import post_url  # noqa: E402

# A typical comment: two paragraphs, a bare URL, a little markup, about 600 characters.
TYPICAL = (
    "I tried the notebook idea for a month and it stuck. The trick for me was a pocket-sized "
    "one, so it comes along on walks; the big one stayed on the desk and I never opened it.\n"
    "\n"
    "There is a good essay on this at https://example.com/notes/paper-and-pixels?ref=blog - "
    "the part about <em>writing things down to forget them</em> is what convinced me. "
    "<b>One caveat:</b> handwriting you cannot read a week later is no better than a "
    "browser tab. I now print the first word of each note in capitals.\n"
    "\n"
    'Thanks for the post, and for <a href="https://example.org/" title="Mosses">the moss '
    "guide</a> recommendation last winter.\n"
)
HOSTILE = (
    '<img src=x onerror=alert(1)> <a href="jav&#x09;ascript:alert(1)">x</a> '
    "<script>alert(1)</script> <b onclick=alert(1)>hi</b> <svg onload=alert(1)>"
)


Samples = tuple[list[int], list[int]]


def median_us(samples: Samples) -> tuple[float, float]:
    """Return the median wall-clock and CPU time of samples, in microseconds."""
    wall, cpu = samples
    return statistics.median(wall) / 1000, statistics.median(cpu) / 1000


def timed(fn: Callable[[], object], rounds: int, warmup: int = 5) -> Samples:
    """Run fn warmup + rounds times; return wall-clock and CPU nanoseconds of each round.

    CPU time (of this thread) is reported too: on a machine shared with other work the
    wall clock also counts the time this process waited for a core.
    """
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(rounds):
        start, start_cpu = time.perf_counter_ns(), time.thread_time_ns()
        fn()
        cpu.append(time.thread_time_ns() - start_cpu)
        wall.append(time.perf_counter_ns() - start)
    return wall, cpu


def make_post(title: str, author: User) -> Post:
    post = save_post(
        Post(),
        title=title,
        body="# A post\n\nWith *some* text.",
        author_id=author.id,
        tags=[],
        status=PostStatus.PUBLISHED,
        published_at=datetime.now(UTC) - timedelta(days=1),
    )
    db.session.commit()
    return post


@contextmanager
def counting_sanitizer_calls() -> Iterator[Counter]:
    """Count every call to bleach and to the blog's sanitizing functions, wherever imported."""
    calls: Counter = Counter()
    originals = {
        name: getattr(blog.sanitize, name) for name in ("clean_comment", "clean_post_html")
    }
    patched: list[tuple[object, str, object]] = []

    def counted(name: str, fn: Callable) -> Callable:
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return fn(*args, **kwargs)

        return wrapper

    # `from blog.sanitize import clean_comment` copies the function into other modules:
    # replace it in every loaded module that holds it.
    for module in list(sys.modules.values()):
        for name, fn in originals.items():
            if getattr(module, name, None) is fn:
                patched.append((module, name, fn))
                setattr(module, name, counted(name, fn))
    clean = bleach.sanitizer.Cleaner.clean
    bleach.sanitizer.Cleaner.clean = counted("bleach Cleaner.clean", clean)
    try:
        yield calls
    finally:
        bleach.sanitizer.Cleaner.clean = clean
        for module, name, fn in patched:
            setattr(module, name, fn)


def bench_sanitize(rounds: int) -> dict[str, tuple[float, float]]:
    bleach_pass, nh3_pass = blog.sanitize._cleaners("comment")
    text = TYPICAL.strip()
    first = bleach_pass.clean(text)
    return {
        "clean_comment, typical comment (600 chars)": median_us(
            timed(lambda: blog.sanitize.clean_comment(TYPICAL), rounds)
        ),
        "  of which bleach (clean + linkify + paragraphs)": median_us(
            timed(lambda: bleach_pass.clean(text), rounds)
        ),
        "  of which nh3 re-check": median_us(timed(lambda: nh3_pass.clean(first), rounds)),
        "clean_comment, hostile comment": median_us(
            timed(lambda: blog.sanitize.clean_comment(HOSTILE), rounds)
        ),
    }


def bench_posting(app: Flask, rounds: int) -> dict[str, tuple[float, float]]:
    """Sanitize + insert + commit + render the comment partial, in process."""
    with app.app_context():
        author = db.session.scalar(sa.select(User))
        post = make_post("Posting benchmark", author)
        post_id = post.id

        def post_one() -> str:
            post = db.session.get(Post, post_id)
            comment = add_comment(post, author_name="Reader", body=TYPICAL, ip="127.0.0.1")
            db.session.commit()
            with app.test_request_context(post_url(post)):
                return render_template("comments/_comment.html", comment=comment, post=post)

        with app.test_request_context():
            html = post_one()
        assert "https://example.com/notes/paper-and-pixels" in html, html
        with app.test_request_context():
            samples = timed(post_one, rounds)
    return {"post a comment: sanitize + insert + commit + render partial": median_us(samples)}


def bench_page(
    app: Flask, rounds: int, comments: int
) -> tuple[dict[str, tuple[float, float]], Counter, float]:
    """GET a post page with many approved comments through the test client."""
    with app.app_context():
        author = db.session.scalar(sa.select(User))
        post = make_post("A post with many comments", author)
        start = post.published_at
        for i in range(comments):
            add_comment(
                post,
                author_name=f"Reader {i}",
                author_url="https://example.com/" if i % 3 == 0 else "",
                body=TYPICAL,
                created_at=start + timedelta(minutes=i),
            )
        db.session.commit()
        with app.test_request_context():
            url = post_url(post)
    client = app.test_client()
    response = client.get(url)
    assert response.status_code == 200, response.status
    shown = response.get_data(as_text=True).count('class="comment ')
    assert shown == comments, f"{shown} comments on the page, expected {comments}"

    with counting_sanitizer_calls() as control, app.app_context():
        # The probe must see a real sanitizing call, or its zero below proves nothing.
        add_comment(db.session.get(Post, post.id), author_name="Probe", body="probe")
        db.session.rollback()
    assert control["clean_comment"] == 1 and control["bleach Cleaner.clean"] == 1, control
    with counting_sanitizer_calls() as calls:
        samples = timed(lambda: client.get(url), rounds, warmup=3)
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(20):
        client.get(url)
    profile.disable()
    stats = pstats.Stats(profile)
    total = stats.total_tt  # type: ignore[attr-defined]
    in_bleach = sum(
        row[2]  # total time inside the function itself
        for (filename, _line, _name), row in stats.stats.items()  # type: ignore[attr-defined]
        if f"{os.sep}bleach{os.sep}" in filename
    )
    label = f"GET the post page with {comments} comments (test client)"
    return {label: median_us(samples)}, calls, (in_bleach / total if total else 0.0)


def bench_rerender(app: Flask, comments: int) -> dict[str, tuple[float, float]]:
    """Time `flask rerender` over every comment made stale, per comment."""
    from blog.models import Comment
    from blog.rerender import rerender

    with app.app_context():
        author = db.session.scalar(sa.select(User))
        post = make_post("Rerender benchmark", author)
        have = db.session.scalar(sa.select(sa.func.count(Comment.id)))
        for i in range(max(0, comments - have)):
            add_comment(post, author_name=f"Reader {i}", body=TYPICAL)
        db.session.commit()
        db.session.execute(sa.update(Comment).values(body_html="<p>stale</p>"))
        db.session.commit()
        total = db.session.scalar(sa.select(sa.func.count(Comment.id)))
        start, start_cpu = time.perf_counter_ns(), time.thread_time_ns()
        _posts, result = rerender(batch_size=500)
        wall, cpu = time.perf_counter_ns() - start, time.thread_time_ns() - start_cpu
        assert result.changed == total, result
    label = f"flask rerender, per comment ({total} stale comments, batches of 500)"
    return {label: (wall / total / 1000, cpu / total / 1000)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="measured runs per benchmark")
    parser.add_argument("--comments", type=int, default=200, help="comments on the page")
    parser.add_argument("--rerender", type=int, default=2000, help="comments re-rendered (0: skip)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        app = scratch_app(directory)
        with app.app_context():
            db.session.add(User(username="writer", display_name="Nell", password_hash=""))
            db.session.commit()
        results = bench_sanitize(args.rounds * 5)
        results |= bench_posting(app, args.rounds)
        page, calls, bleach_share = bench_page(app, args.rounds, args.comments)
        results |= page
        if args.rerender:
            results |= bench_rerender(app, args.rerender)
        with app.app_context():
            db.engine.dispose()

    print(f"medians of {args.rounds} runs (sanitizing alone: {args.rounds * 5})")
    width = max(map(len, results))
    print(f"  {'':<{width}}  {'wall µs':>10}  {'CPU µs':>10}")
    for name, (wall, cpu) in results.items():
        print(f"  {name:<{width}}  {wall:>10.1f}  {cpu:>10.1f}")
    print(f"sanitizer calls while serving {args.rounds} page views: {sum(calls.values())}")
    for name, count in sorted(calls.items()):
        print(f"  {name}: {count}")
    print(f"share of page time spent in bleach (cProfile, 20 views): {bleach_share:.1%}")
    if sum(calls.values()):
        sys.exit("FAIL: the post page sanitizes while rendering")


if __name__ == "__main__":
    main()
