"""Answers to repeated search requests, kept while the data they came from is unchanged.

A key is the request as sent (its JSON, the hash of an uploaded image) plus the
versions of the tables the searcher reads (``Searcher.versions``): a write to the
corpus (ingest, curate, embed, index) moves a version, so the next request misses
and is answered from the new data. The searcher looks at versions at most once a
second, the same staleness its own table handles have.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class QueryCache:
    """A bounded, thread-safe LRU of search responses."""

    def __init__(self, capacity: int = 2048) -> None:
        self.capacity = capacity
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        if self.capacity <= 0:
            return compute()
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
            self.misses += 1
        value = compute()  # outside the lock: two misses of one key may both compute
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
