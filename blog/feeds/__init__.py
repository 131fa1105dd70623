"""Feeds: Atom and RSS for posts, comments, each post's comments and each tag."""

from blog.feeds.views import bp

__all__ = ["bp"]
