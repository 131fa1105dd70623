"""Every route of app.url_map, walked: URLs for each rule, the state-changing ones, /admin.

The security tests check every route the app has, now and later: a new view is covered
without a new test.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask
from werkzeug.routing import IntegerConverter, Rule

from blog.extensions import db
from blog.models import Comment, Post, PostKind

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def rule_urls(
    app: Flask, rules: list[Rule], values: dict[str, object] | None = None
) -> Iterator[tuple[Rule, str]]:
    """Yield (rule, URL) for rules, filling arguments from values, else 1 for ints, 'x' else."""
    values = values or {}
    adapter = app.url_map.bind("localhost")
    for rule in rules:
        args = {}
        for name in rule.arguments - set(rule.defaults or ()):
            if name == "slug" and "year" not in rule.arguments and "page_slug" in values:
                args[name] = values["page_slug"]  # /<slug>/...: a page's address
            elif name in values:
                args[name] = values[name]
            elif isinstance(rule._converters.get(name), IntegerConverter):
                args[name] = 1
            else:
                args[name] = "x"
        url = adapter.build(rule.endpoint, args, method=next(iter(rule.methods - {"OPTIONS"})))
        yield rule, url


def state_changing_rules(app: Flask) -> list[Rule]:
    """Return every rule that accepts POST, PUT, PATCH or DELETE."""
    return [rule for rule in app.url_map.iter_rules() if rule.methods & STATE_CHANGING]


def admin_rules(app: Flask) -> list[Rule]:
    """Return every rule under /admin."""
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.rule == "/admin" or rule.rule.startswith("/admin/")
    ]


def post_values(app: Flask, post: Post) -> dict[str, object]:
    """Return URL argument values pointing at post: its date, slug, first tag, ids, a comment,
    and a published page's slug (page_slug) when there is one."""
    with app.app_context():
        comment = db.session.scalar(
            sa.select(Comment.id).where(Comment.post_id == post.id).limit(1)
        )
        page = db.session.scalar(
            sa.select(Post.slug).where(Post.kind == PostKind.PAGE, Post.visible_filter()).limit(1)
        )
    return {
        "year": post.published_at.year,
        "month": post.published_at.month,
        "slug": post.slug,
        "tag": post.tags[0].slug,
        "id": post.id,
        "post_id": post.id,
        "comment_id": comment or 1,
        **({"page_slug": page} if page else {}),
    }


def sample_values(app: Flask) -> dict[str, object]:
    """Return URL argument values pointing at real demo content (a post with tags)."""
    with app.app_context():
        post = db.session.scalars(Post.published().where(Post.tags.any())).first()
        db.session.expunge(post)
    return post_values(app, post)


def page_type_urls(app: Flask, values: dict[str, object] | None = None) -> list[str]:
    """Return a URL of every public page type (GET routes but static and /admin), plus states.

    values fill the URL arguments (year, month, slug, tag...): by default a demo post's.
    """
    admin = {id(rule) for rule in admin_rules(app)}
    rules = [
        rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and rule.endpoint != "static" and id(rule) not in admin
    ]
    urls = [url for _rule, url in rule_urls(app, rules, values or sample_values(app))]
    urls += [
        "/search?q=notebook",  # results
        "/search?q=zzzzqqq",  # no results
        "/search?q=" + "x" * 300,  # too long: 422
        "/no-such-page/",  # 404
    ]
    return sorted(set(urls))


def same_origin(location: str, host: str = "localhost") -> bool:
    """True when a redirect target stays on this site (relative, or absolute to host)."""
    if "\\" in location or any(ord(c) < 33 for c in location):
        return False
    parts = urlsplit(location)
    if parts.scheme not in ("", "http", "https"):
        return False
    if parts.netloc not in ("", host):
        return False
    return not location.startswith("//") and bool(parts.netloc or location.startswith("/"))


# --- Fuzzing ---------------------------------------------------------------------------------
