"""Feeds: Atom and RSS for posts, comments, each post's comments and each tag."""
