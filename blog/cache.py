"""Small per-process caches of rendered things, always keyed by a version read from the database.

A key that includes the version (a post's revision, a feed's ETag) can never serve stale
content: another process's write changes the version, so the next request asks for a new key
and the old entry ages out. Nothing here is ever invalidated by hand.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock
from typing import Generic, TypeVar

from flask import current_app

V = TypeVar("V")


class LRU(Generic[V]):
    """A bounded, thread-safe least-recently-used map; size 0 keeps nothing."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: V) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def get_or_build(self, key: Hashable, build: Callable[[], V]) -> V:
        """Return the value under key, building and keeping it when missing."""
        value = self.get(key)
        if value is None:
            value = build()
            self.put(key, value)
        return value

    def __len__(self) -> int:
        return len(self._items)


def app_cache(name: str, size_setting: str) -> LRU:
    """Return this app's cache called name, made on first use with the size config names."""
    cache = current_app.extensions.get(name)
    if cache is None:
        cache = current_app.extensions.setdefault(name, LRU(current_app.config[size_setting]))
    return cache
