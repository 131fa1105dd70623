"""Rate limits across app processes: shared through Redis, per process with memory://.

Two gunicorn servers (two workers each) answer the back office's login in turn. The login
limit (5 a minute per address and per username) must trip at the 6th attempt counted
across both when they share one Redis; with memory:// each process counts alone.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import uuid

import pytest

from tests.helpers.html import form_fields
from tests.helpers.servers import browser_opener

LOGIN_FORM = "//form[@action='/login']"

# The counts live in Redis or in each process, whatever the database: one pass is enough.
pytestmark = pytest.mark.engine_independent


def limited_env(storage: str) -> dict[str, str]:
    return {
        "BLOG_RATELIMIT_ENABLED": "true",
        "BLOG_RATELIMIT_STORAGE_URI": storage,
        # This run's own counters: a shared Redis may hold another run's for 127.0.0.1.
        "BLOG_RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        # Each attempt may say which address it comes from (the servers trust one proxy).
        "BLOG_PROXY_FIX_X_FOR": "1",
        "GUNICORN_ACCESSLOG": "",
    }


class Attempts:
    """Failed logins sent in turn to several servers, from one reader's session."""

    def __init__(self, servers) -> None:
        self.servers = servers
        self.opener = browser_opener()
        page = self.opener.open(servers[0].url + "/login", timeout=30).read()
        _, self.fields = form_fields(page, servers[0].url, LOGIN_FORM)
        self.sent = 0

    def login(self, username: str, address: str) -> int:
        """Send one wrong password to the next server in turn; return the status."""
        server = self.servers[self.sent % len(self.servers)]
        self.sent += 1
        filled = {"username": username, "password": "not the password at all"}
        data = [(name, filled.get(name, value)) for name, value in self.fields]
        request = urllib.request.Request(
            server.url + "/login",
            urllib.parse.urlencode(data).encode(),
            headers={"X-Forwarded-For": address},
        )
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            error.read()
            return error.code


@pytest.fixture
def servers(gunicorn, redis_url, request):
    env = limited_env(redis_url if request.param == "redis" else "memory://")
    return [gunicorn(workers=2, **env), gunicorn(workers=2, **env)]


@pytest.mark.parametrize("servers", ["redis"], indirect=True)
def test_the_login_limit_per_username_holds_across_servers_with_redis(app, servers):
    attempts = Attempts(servers)
    user = f"nell-{uuid.uuid4().hex[:8]}"
    # A new address each time: only the per-username count can trip.
    statuses = [attempts.login(user, f"198.51.100.{n}") for n in range(1, 7)]
    assert statuses == [401] * 5 + [429]
    assert attempts.login(user, "198.51.100.99") == 429  # either server, any address


@pytest.mark.parametrize("servers", ["redis"], indirect=True)
def test_the_login_limit_per_address_holds_across_servers_with_redis(app, servers):
    attempts = Attempts(servers)
    # A new username each time: only the per-address count can trip.
    statuses = [attempts.login(f"guess-{n}", "203.0.113.7") for n in range(6)]
    assert statuses == [401] * 5 + [429]
    assert attempts.login("guess-other", "203.0.113.8") == 401  # another address is free


@pytest.mark.parametrize("servers", ["memory"], indirect=True)
def test_with_memory_storage_each_process_counts_alone(app, servers):
    """The control: the same attempts spread over four processes are not limited at the 6th.

    Each of the four workers keeps its own count; the 6th attempt lands on a process that
    has seen at most a few, so it goes through. This is why production needs Redis.
    """
    attempts = Attempts(servers)
    user = f"nell-{uuid.uuid4().hex[:8]}"
    statuses = [attempts.login(user, "203.0.113.7") for _ in range(6)]
    assert statuses == [401] * 6
