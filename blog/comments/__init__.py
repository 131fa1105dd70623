"""Comments: posting in place with htmx (or a plain form), replies, moderation-aware display."""

from blog.comments.spam import comments_open
from blog.comments.views import bp

__all__ = ["bp", "comments_open"]
