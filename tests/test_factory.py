"""The app factory and the order in which configuration is read."""

from pathlib import Path

import pytest

from blog import create_app


def test_test_config_wins(app):
    assert app.testing
    assert app.config["SECRET_KEY"] == "test-secret-key"


def test_config_order(tmp_path, monkeypatch, database_uri):
    instance = Path(create_app.__code__.co_filename).parent.parent / "instance"
    config_file = instance / "config.py"
    backup = config_file.read_text() if config_file.exists() else None
    config_file.write_text('SITE_TITLE = "From instance"\nPOSTS_PER_PAGE = 3\nFEED_MAX_AGE = 7\n')
    try:
        monkeypatch.setenv("BLOG_POSTS_PER_PAGE", "4")
        monkeypatch.setenv("BLOG_FEED_MAX_AGE", "8")
        app = create_app({"SQLALCHEMY_DATABASE_URI": database_uri, "FEED_MAX_AGE": 9})
        assert app.config["SITE_TITLE"] == "From instance"  # instance/config.py over defaults
        assert app.config["POSTS_PER_PAGE"] == 4  # BLOG_* variables over instance/config.py
        assert app.config["FEED_MAX_AGE"] == 9  # test_config over everything
    finally:
        if backup is None:
            config_file.unlink()
        else:
            config_file.write_text(backup)


def test_secret_key_generated_once_and_kept(tmp_path, monkeypatch, database_uri):
    from blog import _instance_secret_key

    first = _instance_secret_key(tmp_path)
    assert len(first) >= 64 and first != "dev"
    assert _instance_secret_key(tmp_path) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.sqlite_only
def test_sqlite_tuned_for_a_web_server(app):
    from blog.extensions import db

    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
