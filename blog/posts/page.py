"""The page of a post or a page: the entry, the posts around a post, and its comment section.

The post's own view shows it; the comment views show it again, with the reader's form and its
messages, when a comment sent without JavaScript cannot be taken.
"""

from __future__ import annotations

from flask import render_template

from blog.comments.forms import CommentForm
from blog.comments.section import comment_section
from blog.models import Post, PostKind


def render_post_page(post: Post, form: CommentForm | None = None, alert: str = "") -> str:
    """Render a post's (or a page's) page; form is the comment form the reader sent back."""
    if post.kind == PostKind.PAGE:
        # A page shows comments only when the writer opened them (or some were written then).
        shown = post.comments_open or post.comment_count > 0 or form is not None
        return render_template(
            "pages/detail.html",
            post=post,
            section=comment_section(post, form, alert) if shown else None,
        )
    return render_template(
        "posts/detail.html",
        post=post,
        section=comment_section(post, form, alert),
        previous_post=post.previous_post(),
        next_post=post.next_post(),
    )
