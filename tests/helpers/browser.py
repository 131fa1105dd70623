"""The one way to start Debian's Chromium with Playwright: tests, docs/screenshot.py and bench.

playwright install cannot download browsers here; without the background-networking flags
Chromium keeps trying the internet and fails noisily.
"""

from __future__ import annotations

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
