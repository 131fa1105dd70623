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
    """A bounded, thread-safe least-recently-used map; size 0 keeps nothing.

    With max_bytes, values are bytes and their total length stays within it as well (a page
    with 2,000 comments is 1.5 MB, a listing 10 KB: counting entries alone bounds nothing).
    """

    def __init__(self, size: int, max_bytes: int | None = None) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self.bytes = 0
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
        weight = len(value) if self.max_bytes is not None else 0  # type: ignore[arg-type]
        if self.max_bytes is not None and weight > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None and self.max_bytes is not None:
                self.bytes -= len(old)  # type: ignore[arg-type]
            self._items[key] = value
            self.bytes += weight
            while len(self._items) > self.size or (
                self.max_bytes is not None and self.bytes > self.max_bytes
            ):
                _, dropped = self._items.popitem(last=False)
                if self.max_bytes is not None:
                    self.bytes -= len(dropped)  # type: ignore[arg-type]

    def get_or_build(self, key: Hashable, build: Callable[[], V]) -> V:
        """Return the value under key, building and keeping it when missing."""
        value = self.get(key)
        if value is None:
            value = build()
            self.put(key, value)
        return value

    def __len__(self) -> int:
        return len(self._items)


def app_cache(name: str, size_setting: str, bytes_setting: str | None = None) -> LRU:
    """Return this app's cache called name, made on first use with the sizes config names."""
    cache = current_app.extensions.get(name)
    if cache is None:
        config = current_app.config
        most = config[bytes_setting] if bytes_setting else None
        cache = current_app.extensions.setdefault(name, LRU(config[size_setting], most))
    return cache
