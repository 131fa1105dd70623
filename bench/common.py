"""What the in-process benchmarks share: the blog's app on a scratch SQLite file, migrated.

A benchmark script puts the checkout on sys.path before it calls this (bench_preview.py puts
the checkout it measures, which may be another one: hence the imports inside the function).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask


def scratch_app(directory: str | Path, **config) -> Flask:
    """Build the app with its factory on a new SQLite file in directory and migrate it.

    The benchmarks' settings: a fixed secret and no rate limits (a benchmark posts hundreds of
    comments from one address); config adds settings or overrides these.
    """
    from blog import create_app

    try:
        from blog.extensions import upgrade_database
    except ImportError:  # a checkout from before 48a68b8 attaches Flask-Migrate in create_app()
        from flask_migrate import upgrade

        def upgrade_database(app: Flask) -> None:
            with app.app_context():
                upgrade()

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(directory) / 'bench.sqlite'}",
            "SECRET_KEY": "bench",
            "RATELIMIT_ENABLED": False,
            **config,
        }
    )
    upgrade_database(app)
    return app
