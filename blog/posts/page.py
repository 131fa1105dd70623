"""The page of a post or a page: the entry, the posts around a post, and its comment section.

The post's own view shows it (shared=True for anonymous readers: blog.pagecache keeps it); the
comment views show it again, with the reader's form and its messages, when a comment sent
without JavaScript cannot be taken yet.
"""

from __future__ import annotations

from flask import render_template

from blog.comments.forms import CommentForm
from blog.comments.section import Preview, comment_section
from blog.models import Post, PostKind


def render_post_page(
    post: Post,
    form: CommentForm | None = None,
    alert: str = "",
    *,
    shared: bool = False,
    is_open: bool | None = None,
    preview: Preview | None = None,
) -> str:
    """Render a post's (or a page's) page; form is the comment form the reader sent back.

    shared: the page for every anonymous reader (nothing personal); is_open: whether comments
    are open, as the page's cache key read it; preview: a comment to confirm before posting.
    """
    options = {"shared": shared, "is_open": is_open, "preview": preview}
    if post.kind == PostKind.PAGE:
        # A page shows comments only when the writer opened them (or some were written then).
        shown = post.comments_open or post.comment_count > 0 or form is not None
        return render_template(
            "pages/detail.html",
            post=post,
            section=comment_section(post, form, alert, **options) if shown else None,
        )
    section = comment_section(post, form, alert, **options)
    return render_template(
        "posts/detail.html",
        post=post,
        section=section,
        previous_post=post.previous_post(),
        next_post=post.next_post(),
    )
