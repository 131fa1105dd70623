"""Posts render an image's sizes and alternative text into their HTML: when those change (the
worker made the sizes, the writer edited the alt text), the posts that show it are rendered
again, through blog.content like any edit, so caches and feeds see the change."""

from __future__ import annotations

from blog import content
from blog.extensions import db
from blog.media import library
from blog.models import Post


def posts_using(media_id: int) -> int:
    """Render again every post that shows the image (caller's transaction); return how many."""
    ids = library.post_ids_using(media_id)
    for post_id in ids:
        post = db.session.get(Post, post_id)
        if post is not None:
            content.render_post(post)
    return len(ids)
