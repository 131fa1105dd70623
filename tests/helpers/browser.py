"""The one way to start Debian's Chromium with Playwright: tests, docs/screenshot.py and bench.

playwright install cannot download browsers here; without the background-networking flags
Chromium keeps trying the internet and fails noisily.
"""

from __future__ import annotations

import time

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch(playwright, **options):
    """Launch Debian's Chromium, headless, with the flags this machine needs."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, **options)


def wait_until(page, expression: str, timeout: float = 10) -> None:
    """Wait until the JavaScript expression is true in page, polled from here.

    Not page.wait_for_function(expression): when its first check is false, Playwright polls
    inside the page with eval, which the blog's CSP (no 'unsafe-eval') refuses, so the wait
    fails with an EvalError whenever the condition is not already true. page.evaluate goes
    through the DevTools protocol, which the CSP does not govern.
    """
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        page.wait_for_timeout(25)
