"""The post page: the post, the posts before and after it, and its comment section.

The post's own view shows it; the comment views show it again, with the reader's form and its
messages, when a comment sent without JavaScript cannot be taken.
"""

from __future__ import annotations

from flask import render_template

from blog.comments.forms import CommentForm
from blog.comments.section import comment_section
from blog.models import Post


def render_post_page(post: Post, form: CommentForm | None = None, alert: str = "") -> str:
    """Render a post's page; form is the comment form the reader sent back, with its errors."""
    return render_template(
        "posts/detail.html",
        post=post,
        section=comment_section(post, form, alert),
        previous_post=post.previous_post(),
        next_post=post.next_post(),
    )
