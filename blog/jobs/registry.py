"""What each kind of job does: handlers and periodic tasks, registered by the features.

blog.mail registers its kinds ("mail.send", ...); image sizes and webmentions will register
theirs the same way. The runner looks a job's kind up here; the queue schedules the periodic
tasks. Nothing here knows about any particular feature.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from blog.jobs.models import Job


class PermanentError(Exception):
    """A failure that trying again cannot fix (an address the server refuses): fail at once."""


class Postpone(Exception):  # noqa: N818 (not an error: the job asks to run later)
    """Raised by a handler to run the job again at `when`, without counting a failed attempt."""

    def __init__(self, when: datetime, why: str = "") -> None:
        super().__init__(why)
        self.when = when


@dataclass(frozen=True)
class Kind:
    name: str
    run: Callable[[Job], None]
    # What the back office shows about a job of this kind ("Mail to a@b.org: New comment…").
    describe: Callable[[Job], str]


@dataclass(frozen=True)
class Periodic:
    name: str
    run: Callable[[], None]
    # huey crontab fields: {"minute": "0", "hour": "7"}.
    crontab: dict[str, str]


_KINDS: dict[str, Kind] = {}
_PERIODIC: dict[str, Periodic] = {}
_NOTES: dict[str, Callable[[], str]] = {}
_CLEANUPS: dict[str, Callable[[], None]] = {}


def _plain(job: Job) -> str:
    return f"{job.kind} {job.payload}"


def register(
    name: str, run: Callable[[Job], None], describe: Callable[[Job], str] | None = None
) -> None:
    """Register the handler of a kind of job (registering again replaces it)."""
    _KINDS[name] = Kind(name, run, describe or _plain)


def register_periodic(name: str, run: Callable[[], None], **crontab: Any) -> None:
    """Run `run` in the worker on a schedule (huey crontab fields: minute, hour, day...)."""
    _PERIODIC[name] = Periodic(name, run, {k: str(v) for k, v in crontab.items()})


def kind(name: str) -> Kind | None:
    return _KINDS.get(name)


def periodic_tasks() -> list[Periodic]:
    return list(_PERIODIC.values())


def register_startup_note(name: str, note: Callable[[], str]) -> None:
    """Have the worker print note() when it starts (where mail goes, say)."""
    _NOTES[name] = note


def startup_notes() -> list[Callable[[], str]]:
    return list(_NOTES.values())


def register_cleanup(name: str, cleanup: Callable[[], None]) -> None:
    """Have each worker thread call cleanup() when it stops (close its SMTP connection, say)."""
    _CLEANUPS[name] = cleanup


def cleanups() -> list[Callable[[], None]]:
    return list(_CLEANUPS.values())
