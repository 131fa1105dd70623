"""The Nu Html Checker (vnu.jar from the npm package vnu-jar) over rendered pages."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.helpers.config import require

ROOT = Path(__file__).resolve().parent.parent.parent
VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


def validate(pages: dict[str, str], tmp_path: Path) -> list[str]:
    """Run vnu.jar over the pages; return its error messages as 'page: line: message'."""
    has_java = shutil.which("java") is not None
    require(has_java, "Java (for the Nu Html Checker)", "default-jre-headless")
    require(VNU.exists(), "vnu.jar (run `npm ci`; needs npm)", "npm")
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
