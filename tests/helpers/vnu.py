"""The Nu Html Checker (npm package vnu-jar) over pages the tests fetched."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


def validate(pages: dict[str, str], tmp_path: Path) -> list[str]:
    """Run vnu.jar over the pages; return its error messages as 'page: line: message'."""
    _require(
        shutil.which("java") is not None, "Java (for the Nu Html Checker)", "default-jre-headless"
    )
    _require(VNU.exists(), "vnu.jar (run `npm ci`; needs npm)", "npm")
    files = {}
    for name, html in pages.items():
        path = tmp_path / (name.strip("/").replace("/", "_").replace("?", "_") or "home")
        path = path.with_suffix(".html")
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


def _require(condition: bool, what: str, install: str) -> None:
    """Skip when the checker is missing; in CI (CI=true), fail instead (as conftest does)."""
    if condition:
        return
    message = f"{what} is not available (install the Debian package: apt-get install {install})"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message + " — CI=true, so this is a failure, not a skip", pytrace=False)
    pytest.skip(message)
