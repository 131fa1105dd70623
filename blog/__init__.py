"""The blog: a Flask application for one writer and many readers who answer back."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

from blog import config


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application: defaults, instance/config.py, BLOG_* variables, then test_config."""
    root = Path(__file__).resolve().parent.parent
    app = Flask(
        __name__,
        instance_path=str(root / "instance"),
        instance_relative_config=True,
        template_folder=str(root / "templates"),
        static_folder=str(root / "static"),
    )
    app.config.from_object(config.Defaults)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(app.instance_path) / 'blog.sqlite'}"
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("BLOG")
    if test_config is not None:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(Path(app.instance_path))

    from blog import extensions

    extensions.init_app(app)

    from blog import errors, htmx, pagecache, readers, security, sessions, templating

    readers.init_app(app)
    # Innermost middleware: blog.security's (outside it) check the host first.
    app.wsgi_app = pagecache.Revalidation(app)
    security.init_app(app)
    sessions.init_app(app)
    templating.init_app(app)
    htmx.init_app(app)
    errors.init_app(app)
    pagecache.init_app(app)

    from blog.bounds import RowIdConverter
    from blog.permalinks import PageSlugConverter

    # Every <int:...> in a route stops at the largest id the database stores: a larger number
    # is a 404, never an OverflowError. Installed before any rule is added, as is the page's.
    app.url_map.converters["int"] = RowIdConverter
    app.url_map.converters["page"] = PageSlugConverter

    # Background jobs: mail, webmentions and images register their kinds of job (and the
    # worker's periodic tasks), then the queue is built.
    from blog.jobs import queue
    from blog.mail import setup as mail_setup
    from blog.media import setup as media_setup
    from blog.webmention import setup as webmention_setup

    mail_setup.init_app(app)
    webmention_setup.init_app(app)
    media_setup.init_app(app)
    queue.init_app(app)

    # Package __init__ files import nothing (so no import cycles through them): the blueprints
    # are taken from their views modules. The pages come last: /<slug>/ must see every route.
    from blog.admin.views import bp as admin_bp
    from blog.comments.views import bp as comments_bp
    from blog.feeds.views import bp as feeds_bp
    from blog.mail.views import bp as subscriptions_bp
    from blog.media.views import bp as media_bp
    from blog.pages.views import bp as pages_bp
    from blog.porting.views import bp as porting_bp
    from blog.posts.views import bp as posts_bp
    from blog.webmention.views import bp as webmention_bp

    blueprints = (posts_bp, comments_bp, feeds_bp, admin_bp, porting_bp, subscriptions_bp)
    for blueprint in (*blueprints, webmention_bp, media_bp, pages_bp):
        app.register_blueprint(blueprint)

    if app.config["BENCH_ROUTES"]:
        from blog.benchdata import bench_bp

        app.register_blueprint(bench_bp)

    from blog import cli

    cli.init_app(app)
    return app


def _instance_secret_key(instance: Path) -> str:
    """Return this site's secret key, generating and keeping it on first start."""
    path = instance / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_hex(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key
