"""Make stored HTML again from its source after a sanitizing or Markdown change (flask rerender).

Rows are read in batches by increasing id, each batch in a transaction of its own ended before
rendering: a million rows never sit in memory together, and no lock is held while bleach works.
Only rows whose HTML changed are written, through the content's own write paths (posts:
blog.content, comments: blog.comments.store), which mark their posts changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

import click
import sqlalchemy as sa
import sqlalchemy.orm as so

from blog import content
from blog.comments import store
from blog.comments.formatting import render_comment
from blog.extensions import db
from blog.models import Comment, Post


class Rerendered(NamedTuple):
    total: int
    changed: int


def _batches(column: so.InstrumentedAttribute[int], select: sa.Select, size: int) -> Iterator[list]:
    """Yield the rows of select in batches of size, by increasing id (keyset pagination)."""
    last_id = 0
    while True:
        rows = db.session.execute(select.where(column > last_id).order_by(column).limit(size)).all()
        db.session.commit()
        if not rows:
            return
        yield rows
        last_id = rows[-1].id


def _rerender(
    label: str,
    model: type[Post] | type[Comment],
    render: Callable[[sa.Row], str],
    write: Callable[[dict[int, str]], None],
    size: int,
    *extra: so.InstrumentedAttribute,
) -> Rerendered:
    """Render every row's HTML from its source again (render reads the row: its body and the
    extra columns); write only what changed."""
    select = sa.select(model.id, model.body, model.body_html, *extra)
    total = db.session.scalar(sa.select(sa.func.count(model.id)))
    db.session.commit()
    changed = 0
    with click.progressbar(length=total, label=label) as bar:
        for rows in _batches(model.id, select, size):
            fresh = {
                row.id: (row.body, html) for row in rows if (html := render(row)) != row.body_html
            }
            if fresh:
                # Lock the rows and skip any whose source was edited while we rendered.
                now = dict(
                    db.session.execute(
                        sa.select(model.id, model.body).where(model.id.in_(fresh)).with_for_update()
                    ).all()
                )
                html_by_id = {i: html for i, (body, html) in fresh.items() if now.get(i) == body}
                write(html_by_id)
                changed += len(html_by_id)
            db.session.commit()
            bar.update(len(rows))
    return Rerendered(total, changed)


def rerender(batch_size: int = 500) -> tuple[Rerendered, Rerendered]:
    """Re-render every post from Markdown and every comment from its text in its own format
    (plain text or Markdown; a webmention reply is plain text: blog.comments.store), in batches."""
    posts = _rerender(
        "Posts", Post, lambda row: content.render_body(row.body), content.store_rendered, batch_size
    )
    comments = _rerender(
        "Comments",
        Comment,
        lambda row: render_comment(row.body, row.format),
        store.store_rendered,
        batch_size,
        Comment.format,
    )
    return posts, comments
