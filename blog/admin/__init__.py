"""The writer's back office: setup, login, posts, moderation, discussion settings."""

from blog.admin.views import bp

__all__ = ["bp"]
