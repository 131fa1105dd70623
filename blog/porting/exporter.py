"""Write the whole blog as a Movable Type export, the format other platforms import."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from html import escape
from typing import TextIO

import sqlalchemy as sa
import sqlalchemy.orm as so

from blog.extensions import db
from blog.models import Comment, CommentStatus, Post
from blog.porting.importer import MORE
from blog.porting.movabletype import write_entry

BATCH = 200


@dataclass
class ExportReport:
    posts: int = 0
    comments: int = 0
    # Held or binned comments: the format has no place for a comment's state.
    left_out: int = 0


def split_more(source: str) -> tuple[str, str]:
    """Split a post's source at its 'continue reading' break into body and extended body."""
    marker = f"\n{MORE}\n"
    text = "\n" + source.replace("\r\n", "\n") + "\n"
    if marker not in text:
        return source.strip("\n"), ""
    body, extended = text.split(marker, 1)
    return body.strip("\n"), extended.strip("\n")


def export_blog(
    out: TextIO,
    zone: tzinfo,
    *,
    html: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ExportReport:
    """Write every post with its approved comments, oldest first, to out.

    Bodies go out as their Markdown source (CONVERT BREAKS: markdown) so that a round trip
    loses nothing, or as the rendered HTML (CONVERT BREAKS: 0) when html is True."""
    report = ExportReport()
    report.left_out = db.session.scalar(
        sa.select(sa.func.count(Comment.id)).where(Comment.status != CommentStatus.APPROVED)
    )
    order = (Post.published_at.is_(None), Post.published_at, Post.id)
    ids = list(db.session.scalars(sa.select(Post.id).order_by(*order)))
    for start in range(0, len(ids), BATCH):
        batch = db.session.scalars(
            sa.select(Post)
            .where(Post.id.in_(ids[start : start + BATCH]))
            .options(so.selectinload(Post.author))
            .order_by(*order)
        ).all()
        for post in batch:
            _write_post(out, post, zone, html, report)
            if progress:
                progress(1)
        # Written posts need not stay in memory.
        db.session.expunge_all()
    return report


def _write_post(out: TextIO, post: Post, zone: tzinfo, html: bool, report: ExportReport) -> None:
    """Write one post and its approved comments."""
    comments = db.session.execute(
        sa.select(
            Comment.author_name,
            Comment.author_email,
            Comment.author_url,
            Comment.ip,
            Comment.created_at,
            Comment.body,
        )
        .where(Comment.post_id == post.id, Comment.status == CommentStatus.APPROVED)
        .order_by(Comment.created_at, Comment.id)
    ).all()
    if html:
        body, extended = post.body_html, ""
    else:
        body, extended = split_more(post.body)
    write_entry(
        out,
        author=post.author.username,
        title=post.title,
        basename=post.slug,
        status=post.status,
        comments_open=post.comments_open,
        convert_breaks="0" if html else "markdown",
        tags=[tag.name for tag in post.tags],
        date=post.published_at or post.created_at,
        body=body,
        extended=extended,
        # An EXCERPT is HTML to Movable Type; ours is plain text.
        excerpt=escape(post.excerpt, quote=False),
        comments=(
            {"author": a, "email": e, "url": u, "ip": i, "date": d, "text": t}
            for a, e, u, i, d, t in comments
        ),
        zone=zone,
    )
    report.posts += 1
    report.comments += len(comments)
