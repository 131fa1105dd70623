"""A post's rendered comment list, made once per change of the post and reused.

Rendering 200 comments costs several times Flask's own overhead, so the list is rendered
once and kept, per process, under a key that includes Post.revision: every write that
changes what the list shows (a new comment, moderation, an edit, a re-render) bumps the
revision in the database, and the page reads it with the post. Another process's write
therefore changes the key at the next request; nothing goes stale.

Only what every reader sees is kept: a reader with comments awaiting moderation, or with
the reply form open under a comment, gets the list rendered for them alone.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock

from flask import current_app, render_template, request
from markupsafe import Markup

from blog.comments.forms import CommentForm
from blog.comments.spam import comments_open
from blog.comments.views import held_ids, last_comment_id, visible_comments
from blog.models import Post
from blog.posts.views import thread


@dataclass(frozen=True)
class Listing:
    html: Markup
    last_id: int  # the newest approved comment shown: where the page's poll starts


class ListingCache:
    """A small LRU of rendered listings for one app (one per process)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple, Listing] = OrderedDict()
        self._lock = Lock()

    def get(self, key: tuple) -> Listing | None:
        with self._lock:
            listing = self._items.get(key)
            if listing is not None:
                self._items.move_to_end(key)
            return listing

    def put(self, key: tuple, listing: Listing) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[key] = listing
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def _cache() -> ListingCache:
    cache = current_app.extensions.get("comment_listing_cache")
    if cache is None:
        cache = ListingCache(current_app.config["COMMENTS_CACHE_SIZE"])
        current_app.extensions["comment_listing_cache"] = cache
    return cache


def comment_listing(post: Post, form: CommentForm | None = None) -> Listing:
    """Return the post's comment list as HTML, from the cache when every reader sees the same."""
    replying = form is not None and bool(form.parent_id.data)
    shared = not replying and not held_ids()
    key = (post.id, post.revision, comments_open(post), request.script_root)
    if shared and (listing := _cache().get(key)) is not None:
        return listing
    threads = thread(visible_comments(post))
    html = render_template("comments/_list.html", post=post, threads=threads, form=form)
    listing = Listing(Markup(html), last_comment_id(threads))
    if shared:
        _cache().put(key, listing)
    return listing
