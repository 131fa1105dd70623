"""Writing content: slugs, tags, rendering post bodies at save time."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

import sqlalchemy as sa

from blog.extensions import db
from blog.markdown import plain_excerpt, render_markdown
from blog.models import Comment, CommentStatus, Post, Tag, utcnow
from blog.sanitize import clean_comment


def slugify(text: str, max_length: int = 80) -> str:
    """Return a URL slug for text, keeping letters of every script (Unicode-aware)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"[^\w\s-]", "", text)
    text = re.sub(r"[\s_-]+", "-", text).strip("-")
    return text[:max_length].strip("-") or "post"


def unique_post_slug(wanted: str, post_id: int | None = None) -> str:
    """Return wanted, or wanted-2, wanted-3... so that no other post has it."""
    base = slugify(wanted)
    taken = set(
        db.session.scalars(
            sa.select(Post.slug).where(
                sa.or_(Post.slug == base, Post.slug.like(base + "-%")),
                Post.id != (post_id or 0),
            )
        )
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def tags_from_names(names: list[str]) -> list[Tag]:
    """Return Tag rows for names, creating the ones that do not exist yet."""
    tags: dict[str, Tag] = {}
    for name in names:
        name = " ".join(name.split())[:80]  # the column's size
        if not name:
            continue
        slug = slugify(name, 90)
        if slug in tags:
            continue
        tag = db.session.scalar(sa.select(Tag).where(Tag.slug == slug))
        if tag is None:
            tag = Tag(name=name, slug=slug)
            db.session.add(tag)
        tags[slug] = tag
    return list(tags.values())


def parse_tag_list(text: str) -> list[str]:
    """Split 'a, b, c' into tag names."""
    return [t.strip() for t in text.split(",") if t.strip()]


def render_post(post: Post) -> None:
    """Render the Markdown body to sanitized HTML and fill an empty excerpt; mark it changed."""
    post.body_html = render_markdown(post.body)
    if not post.excerpt:
        post.excerpt = plain_excerpt(post.body_html)
    post.touch()


def save_post(
    post: Post,
    *,
    title: str,
    body: str,
    author_id: int,
    tags: list[str],
    status: str,
    published_at: datetime | None,
    slug: str = "",
    excerpt: str = "",
    comments_open: bool = True,
) -> Post:
    """Fill post from the editor's fields, render it, and add it to the session."""
    post.title = title.strip()[:300]  # the column's size; the editor refuses longer titles
    post.body = body
    post.excerpt = excerpt.strip()
    post.author_id = author_id
    post.status = status
    post.published_at = published_at
    post.comments_open = comments_open
    post.slug = unique_post_slug(slug or title, post.id)
    post.tags = tags_from_names(tags)
    post.updated_at = utcnow()
    render_post(post)
    db.session.add(post)
    return post


def add_comment(
    post: Post,
    *,
    author_name: str,
    body: str,
    author_email: str = "",
    author_url: str = "",
    parent: Comment | None = None,
    status: str = CommentStatus.APPROVED,
    created_at: datetime | None = None,
    ip: str = "",
    user_agent: str = "",
    user_id: int | None = None,
    reason: str = "",
) -> Comment:
    """Sanitize and store a comment on post; replies to a reply attach to its top-level comment."""
    if parent is not None and parent.parent_id is not None:
        parent = db.session.get(Comment, parent.parent_id) or parent
    comment = Comment(
        post=post,
        parent=parent,
        author_name=author_name.strip(),
        author_email=author_email.strip(),
        author_url=author_url.strip(),
        body=body,
        body_html=clean_comment(body),
        status=status,
        created_at=created_at or utcnow(),
        ip=ip,
        user_agent=user_agent[:300],
        user_id=user_id,
        reason=reason,
    )
    db.session.add(comment)
    if status == CommentStatus.APPROVED:
        post.comment_count = (post.comment_count or 0) + 1
    post.touch()
    return comment
