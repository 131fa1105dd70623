"""A busy blog's discussion blocklist and a long comment that matches none of it: the data of
tests/test_blocklist.py and bench/bench_blocklist.py, so both look at the same list."""

from __future__ import annotations

import random

COMMENT = (
    "I read this twice and still think the second half undersells the point about gardens. "
    "My grandmother kept a notebook of every frost date since 1961, and the pattern you "
    "describe shows up there too: later springs, earlier autumns, a wobble in between. "
    "Would you share the source for the chart? I tried www.example.org/charts but it is gone. "
) * 2


def big_blocklist(n: int = 5000, seed: int = 7) -> list[str]:
    """A blocklist like a busy blog's: 40 % words, 20 % phrases, 10 % each emails, domains,
    addresses (198.x.x.x) and /24 networks (10.x.x.0/24), in that order every ten entries."""
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
