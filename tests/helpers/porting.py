"""The import/export tests' data: the sample exports, and running the porting commands."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"
MT_FILE = DATA / "typepad-export.txt"
WXR_FILE = DATA / "wordpress-export.xml"


def run(runner, *args: str):
    """Run a flask command (in an app context of its own, as the flask CLI does)."""
    return runner.invoke(args=list(args))
