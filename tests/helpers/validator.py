"""The Nu Html Checker (npm package vnu-jar, on Debian's Java) over rendered pages."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


def _needs(condition: bool, what: str) -> None:
    """Skip when the checker cannot run here; in CI (CI=true) fail instead, as conftest does."""
    if condition:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{what} is missing — CI=true, so this is a failure", pytrace=False)
    pytest.skip(f"{what} is missing (default-jre-headless, and `npm ci` for vnu.jar)")


def validate(pages: dict[str, str], folder: Path) -> list[str]:
    """Return the checker's errors for pages ({name: html}) as 'name: line: message'."""
    _needs(shutil.which("java") is not None, "Java (for the Nu Html Checker)")
    _needs(VNU.exists(), "vnu.jar (run `npm ci`)")
    files = {}
    for index, (name, html) in enumerate(pages.items()):
        path = folder / f"page-{index}.html"
        path.write_text(html, encoding="utf-8")
        files[str(path)] = name
    result = subprocess.run(
        ["java", "-jar", str(VNU), "--format", "json", "--errors-only", *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    return [
        f"{files.get(m.get('url', '').removeprefix('file:'), m.get('url'))}: "
        f"{m.get('lastLine')}: {m['message']}"
        for m in messages
    ]
