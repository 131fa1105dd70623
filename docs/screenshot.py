"""Take a full-page screenshot of a running blog with Debian's Chromium.

    .venv/bin/python docs/screenshot.py URL OUT.png [WIDTH] [light|dark]

The README's picture: `make run`, then
    .venv/bin/python docs/screenshot.py \
        http://127.0.0.1:5000/YYYY/MM/surfacing-after-a-long-quiet-spell/ docs/post-page.png 1000
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers.browser import launch  # noqa: E402  (the tests' launcher and flags)


def main() -> None:
    url, out = sys.argv[1], sys.argv[2]
    width = int(sys.argv[3]) if len(sys.argv) > 3 else 1100
    scheme = sys.argv[4] if len(sys.argv) > 4 else "light"
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
        page.goto(url)
        page.screenshot(path=out, full_page=True)
        browser.close()


if __name__ == "__main__":
    main()
