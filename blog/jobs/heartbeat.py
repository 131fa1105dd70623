"""Is a background worker running? The worker says so once a minute; uploads ask before
deciding who makes an image's sizes.

The answer lives in the database (a Setting row), not in a process list or a file: the worker
may run on another machine than the web servers (PostgreSQL, several app servers), and the
database is the one thing they all share. The worker writes the time every minute (a periodic
job, so a worker too busy to run jobs stops claiming to be there); a time older than
STALE_AFTER means no worker. A worker stopped a minute ago still counts for up to 2.5 minutes:
an upload in that window leaves its sizes as a job, which the next worker runs when it starts
(its first sweep), and until then the post shows the image without a srcset, never broken.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from blog.extensions import write_transaction
from blog.jobs import runner
from blog.models import Setting, utcnow

SETTING = "jobs.worker_seen"
# Beats come every minute; two and a half missed minutes mean the worker is gone.
STALE_AFTER = timedelta(seconds=150)


def beat() -> None:
    """Record that a worker is alive now (run by the worker every minute)."""
    with write_transaction():
        # No page shows it: the settings' revision (page caches' key) stays.
        Setting.put(SETTING, {"at": utcnow().isoformat(), "by": runner.identity()}, shown=False)


def last_seen() -> datetime | None:
    """When a worker last said it was running, or None."""
    value = Setting.get(SETTING)
    try:
        return datetime.fromisoformat(value["at"])
    except (TypeError, KeyError, ValueError):
        return None


def worker_running(now: datetime | None = None) -> bool:
    """Return True when a worker beat within STALE_AFTER."""
    seen = last_seen()
    return seen is not None and (now or utcnow()) - seen <= STALE_AFTER
