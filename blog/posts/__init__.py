"""Reading: the home page, post pages, archives, tags and search."""

from blog.posts.views import bp

__all__ = ["bp"]
