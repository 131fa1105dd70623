"""The writer's back office: setup, login, posts, moderation, discussion settings."""
