"""The real background worker, `flask --app wsgi worker`, as a process the tests start and kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def env_for(config: dict) -> dict[str, str]:
    """Turn app settings into the BLOG_* variables the worker reads (JSON where not a string)."""
    import json

    return {
        f"BLOG_{name}": value if isinstance(value, str) else json.dumps(value)
        for name, value in config.items()
    }


class WorkerProcess:
    """`flask --app wsgi worker` with the given settings; .output has what it printed."""

    def __init__(self, config: dict, threads: int = 1) -> None:
        environment = {**os.environ, **env_for(config), "PYTHONUNBUFFERED": "1"}
        flask = str(Path(sys.executable).parent / "flask")
        self.process = subprocess.Popen(
            [flask, "--app", "wsgi", "worker", "--threads", str(threads)],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(60) or self.process.poll() is not None:
            self.kill()
            raise RuntimeError("the worker did not start:\n" + self.output)

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)
            if line.startswith("Worker ready"):
                self._ready.set()
        self._ready.set()  # it exited: stop waiting

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def kill(self) -> None:
        """SIGKILL: no cleanup, as in a crash or a power cut."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)
        self._reader.join(5)

    def stop(self) -> None:
        """Ctrl-C: running jobs finish, then it exits."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        self._reader.join(5)
