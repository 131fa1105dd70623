"""The test configuration: which engine this pass runs on, the app's test config, require().

`make test` runs the suite on SQLite, then again with BLOG_TEST_ENGINE=postgresql on the
database at BLOG_TEST_DATABASE_URL. In CI (CI=true) a missing browser, database or service
fails the run instead of skipping.
"""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ENGINE = os.environ.get("BLOG_TEST_ENGINE", "sqlite")
if ENGINE not in ("sqlite", "postgresql"):
    raise RuntimeError(f"BLOG_TEST_ENGINE must be sqlite or postgresql, not {ENGINE!r}")


def require(condition: bool, what: str, install: str) -> None:
    """Skip a test whose system dependency is missing; in CI, fail instead."""
    if condition:
        return
    message = f"{what} is not available (install the Debian package: apt-get install {install})"
    if IN_CI:
        pytest.fail(message + " — CI=true, so this is a failure, not a skip", pytrace=False)
    pytest.skip(message)


def base_config(database_uri: str, **extra) -> dict:
    """The test_config of a test's app: testing, a fixed secret, rate limits and pacing off."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "RATELIMIT_ENABLED": False,
        # Browser tests send the comment form at once; tests/security/test_spam.py sets None.
        "COMMENT_MIN_SECONDS": 0,
        "SERVER_NAME": None,
        **extra,
    }


def postgresql_url() -> str:
    """Return BLOG_TEST_DATABASE_URL, skipping (failing in CI) when it is not set."""
    url = os.environ.get("BLOG_TEST_DATABASE_URL", "")
    require(bool(url), "PostgreSQL (set BLOG_TEST_DATABASE_URL)", "postgresql")
    return url
