"""Writing posts and pages: slugs, tags, rendering bodies at save time, deleting.

Every write of a post's title or text goes through save_post() or store_rendered(), which make
its HTML and plain text together; the search index follows those columns in the same
transaction (SQLite: triggers on the post table; PostgreSQL: a generated column), and a write
to a page makes the site's navigation again. (Comments: blog.comments.store.)
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from blog.extensions import db
from blog.markdown import plain_excerpt, plain_text, render_markdown
from blog.media import library as media_library
from blog.models import GonePost, Post, PostKind, Tag, utcnow
from blog.permalinks import public_path
from blog.site import refresh_navigation


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


def render_body(source: str) -> str:
    """Return a post body's HTML: Markdown rendered and sanitized, uploaded images with their
    sizes, srcset and alternative text (the post, its preview and `flask rerender` alike)."""
    return media_library.with_images(render_markdown(source))


def render_post(post: Post) -> None:
    """Render the body to sanitized HTML and its text; fill an empty excerpt; mark it changed;
    record which uploaded images it uses (the media library reads that)."""
    before = post.body_html or ""
    post.body_html = render_body(post.body)
    post.body_text = plain_text(post.body_html)
    if not post.excerpt:
        post.excerpt = plain_excerpt(post.body_html)
    post.touch()
    media_library.sync_post_uses(post, before)


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
    in_reply_to: str = "",
    kind: str = PostKind.POST,
    nav_order: int | None = None,
) -> Post:
    """Fill post from the editor's fields, render it, and add it to the session.

    A page (kind "page") has no tags; nav_order places it in the site's navigation.
    """
    was_page = post.kind == PostKind.PAGE
    post.title = title.strip()[:300]  # the column's size; the editor refuses longer titles
    post.body = body
    post.excerpt = excerpt.strip()
    post.author_id = author_id
    post.status = status
    post.published_at = published_at
    post.comments_open = comments_open
    post.in_reply_to = in_reply_to.strip()
    post.slug = unique_post_slug(slug or title, post.id)
    post.kind = kind
    post.nav_order = nav_order if kind == PostKind.PAGE else None
    post.tags = tags_from_names(tags) if kind == PostKind.POST else []
    post.updated_at = utcnow()
    render_post(post)
    db.session.add(post)
    if was_page or kind == PostKind.PAGE:
        refresh_navigation()
    return post


def delete_post(post: Post) -> None:
    """Delete a post or page with its comments (the database cascades); its address, if it was
    public, answers 410 Gone. The caller commits."""
    if post.is_public:
        path = public_path(post)
        if db.session.scalar(sa.select(GonePost.id).where(GonePost.path == path)) is None:
            db.session.add(GonePost(path=path, title=post.title[:300]))
    db.session.delete(post)
    if post.kind == PostKind.PAGE:
        db.session.flush()
        refresh_navigation()


def store_rendered(html_by_id: dict[int, str]) -> None:
    """Write posts' HTML made again from their Markdown (flask rerender), and its text; mark them
    changed."""
    posts = db.session.scalars(
        sa.select(Post)
        .where(Post.id.in_(html_by_id))
        .options(so.load_only(Post.body_html, Post.body_text, Post.revision), so.raiseload("*"))
    )
    for post in posts:
        post.body_html = html_by_id[post.id]
        post.body_text = plain_text(post.body_html)
        post.touch()
    media_library.sync_uses(html_by_id)
