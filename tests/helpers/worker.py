"""The real background worker, `flask --app wsgi worker`, as a process the tests start and kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from blog.jobs import heartbeat

ROOT = Path(__file__).resolve().parents[2]
# What a worker started for a test takes from the test's app config; the rest stays at the
# worker's defaults (TESTING, say, would give it a queue in memory, out of the test's reach).
WORKER_SETTINGS = (
    "SQLALCHEMY_DATABASE_URI",
    "SECRET_KEY",
    "SERVER_NAME",
    "JOBS_STORAGE_URL",
    "JOBS_POLL_SECONDS",
    "JOBS_RETRY_SECONDS",
    "MAIL_SERVER",
    "MAIL_PORT",
    "MAIL_TIMEOUT",
    "MAIL_HOURLY_LIMIT",
)


def worker_settings(config: dict) -> dict:
    """Pick from an app config the WORKER_SETTINGS it sets."""
    return {name: config[name] for name in WORKER_SETTINGS if name in config}


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
        self._printed = threading.Condition()
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(60) or self.process.poll() is not None:
            self.kill()
            raise RuntimeError("the worker did not start:\n" + self.output)

    def _read(self) -> None:
        for line in self.process.stdout:
            with self._printed:
                self.lines.append(line)
                self._printed.notify_all()
            if line.startswith("Worker ready"):
                self._ready.set()
        self._ready.set()  # it exited: stop waiting
        with self._printed:
            self._printed.notify_all()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for_output(self, text: str, timeout: float = 30) -> None:
        """Wait until the worker has printed a line containing text."""
        with self._printed:
            found = self._printed.wait_for(
                lambda: any(text in line for line in self.lines) or self.process.poll() is not None,
                timeout,
            )
        if not found or not any(text in line for line in self.lines):
            raise AssertionError(f"the worker never printed {text!r}:\n{self.output}")

    def kill(self) -> None:
        """SIGKILL: no cleanup, as in a crash or a power cut."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)
        self._close()

    def _close(self) -> None:
        self._reader.join(5)
        self.process.stdout.close()

    def stop(self) -> None:
        """Ctrl-C: running jobs finish, then it exits."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
                return
        self._close()


def wait_for_first_beat(app, timeout: float = 70) -> None:
    """Wait until a worker started for app has written its first heartbeat (blog.media).

    The heartbeat is a periodic job the worker runs as it starts, just after it says it is
    ready: a test that reads, then writes (a factory) while it commits is refused at once by
    SQLite ("database is locked": its snapshot is stale). Waiting for the row is waiting for
    that write. At most a minute and a bit: the next beat comes at the next minute.
    """
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context():
            if heartbeat.last_seen() is not None:
                return
        if time.monotonic() > deadline:
            raise AssertionError("the worker never wrote its heartbeat")
        time.sleep(0.05)
