"""The app factory and the order in which configuration is read."""

import pytest

from blog import create_app


def test_test_config_wins(app):
    assert app.testing
    assert app.config["SECRET_KEY"] == "test-secret-key"


def test_config_order(tmp_path, monkeypatch, database_uri):
    # The blog as if installed in tmp_path: create_app reads instance/ next to the package
    # (found from blog.__file__), so the real instance/config.py is never touched, not even
    # for a moment that a test running in parallel could see.
    import blog

    monkeypatch.setattr(blog, "__file__", str(tmp_path / "blog" / "__init__.py"))
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "config.py").write_text(
        'SITE_TITLE = "From instance"\nPOSTS_PER_PAGE = 3\nFEED_MAX_AGE = 7\n'
    )
    monkeypatch.setenv("BLOG_POSTS_PER_PAGE", "4")
    monkeypatch.setenv("BLOG_FEED_MAX_AGE", "8")
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_uri, "FEED_MAX_AGE": 9})
    assert app.instance_path == str(tmp_path / "instance")
    assert app.config["SITE_TITLE"] == "From instance"  # instance/config.py over defaults
    assert app.config["POSTS_PER_PAGE"] == 4  # BLOG_* variables over instance/config.py
    assert app.config["FEED_MAX_AGE"] == 9  # test_config over everything


def test_secret_key_generated_once_and_kept(tmp_path, monkeypatch, database_uri):
    from blog import _instance_secret_key

    first = _instance_secret_key(tmp_path)
    assert len(first) >= 64 and first != "dev"
    assert _instance_secret_key(tmp_path) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.sqlite_only
def test_sqlite_tuned_for_a_web_server(app):
    from blog.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
