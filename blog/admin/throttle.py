"""Failed logins per username: a wait that grows with them, never a lockout of the writer.

A limit that refuses a username outright after N attempts lets anyone who knows the name lock
the writer out. Here only failures count, and they buy time, not a refusal:

- every failure for a username, from anywhere, makes every address wait a little before its
  next attempt is checked: nothing for the first USER_FREE failures, then 1 s, 2 s, 4 s...,
  never more than USER_MAX_WAIT (30 s);
- an address's own failures for that username make *that address* wait longer and longer:
  nothing for the first OWN_FREE (typos), then 1 s, 2 s, 4 s... up to an hour;
- each address's wait is counted from its own last failure (or from its first attempt that was
  asked to wait), never from someone else's: an attacker's stream of failures cannot keep
  starting the writer's wait over. The right password from an address with no failures of its
  own is checked at most USER_MAX_WAIT seconds after its first try, whatever others do.

The per-address limit of Flask-Limiter (LOGIN_LIMITS in the views: failures per minute and per
hour from one address, whatever the username) stays in front of this. Both count in
RATELIMIT_STORAGE_URI (Redis shares them between processes and servers; memory:// counts per
process), and RATELIMIT_ENABLED turns both off.
"""

from __future__ import annotations

import hashlib
import math
import time

from flask import current_app

from blog.extensions import limiter

USER_FREE = 5
USER_MAX_WAIT = 30
USER_WINDOW = 60 * 60  # a username's failures are forgotten an hour after the first one
OWN_FREE = 5
OWN_MAX_WAIT = 60 * 60
OWN_WINDOW = 60 * 60 * 24  # an address's own failures for a username: a day


def user_wait(failures: int) -> int:
    """Seconds every address waits after this many failures of a username (capped short)."""
    return 0 if failures < USER_FREE else min(2 ** (failures - USER_FREE), USER_MAX_WAIT)


def own_wait(failures: int) -> int:
    """Seconds an address waits after this many failures of its own for a username."""
    return 0 if failures < OWN_FREE else min(2 ** min(failures - OWN_FREE, 20), OWN_MAX_WAIT)


def _keys(username: str, address: str) -> tuple[str, str, str]:
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    user = hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]
    pair = hashlib.sha256(f"{user}|{address}".encode()).hexdigest()[:32]
    base = f"{prefix}/login-throttle"
    return f"{base}/user/{user}", f"{base}/own/{pair}", f"{base}/clock/{pair}"


def _enabled() -> bool:
    return bool(current_app.config.get("RATELIMIT_ENABLED", True))


def _set(key: str, value: int, expiry: int) -> None:
    # The rate-limit storages offer counters only: a counter cleared and raised to a value holds it.
    limiter.storage.clear(key)
    limiter.storage.incr(key, expiry, amount=value)


def wait_seconds(username: str, address: str) -> int:
    """Return how long this address must still wait before a password for username is checked.

    An address asked to wait for the first time starts its own clock now.
    """
    if not _enabled():
        return 0
    user_key, own_key, clock_key = _keys(username, address)
    try:
        storage = limiter.storage
        needed = max(user_wait(storage.get(user_key)), own_wait(storage.get(own_key)))
        if not needed:
            return 0
        now = time.time()
        since = storage.get(clock_key)
        if not since:
            _set(clock_key, int(now), OWN_WINDOW)
            return needed
        return max(0, math.ceil(since + needed - now))
    except Exception:  # the storage is down: log in as without the throttle (the log says so)
        current_app.logger.exception("login throttle storage failed; attempt not delayed")
        return 0


def failed(username: str, address: str) -> None:
    """Count a wrong password for username from address, and start the address's wait."""
    if not _enabled():
        return
    user_key, own_key, clock_key = _keys(username, address)
    try:
        limiter.storage.incr(user_key, USER_WINDOW)
        limiter.storage.incr(own_key, OWN_WINDOW)
        _set(clock_key, int(time.time()), OWN_WINDOW)
    except Exception:
        current_app.logger.exception("login throttle storage failed; failure not counted")


def succeeded(username: str, address: str) -> None:
    """Forget this address's own failures for username (others' failures still count)."""
    if not _enabled():
        return
    _user_key, own_key, clock_key = _keys(username, address)
    try:
        limiter.storage.clear(own_key)
        limiter.storage.clear(clock_key)
    except Exception:
        current_app.logger.exception("login throttle storage failed")
