"""A least-recently-used cache bounded by an estimated byte size as well as by entry count.

Streamlit's caches bound entries only, and entries differ by orders of magnitude: a LeNet analysis is a few
kilobytes, a 1,999-layer spec's about 7 MB, so 60 large specs took the Design page's process from 386 to 798 MB.
Here every entry carries an estimate of its size (`size_of`), and the least recently used entries are dropped
until the total fits the budget; an entry bigger than the whole budget is returned but not kept. One instance
lives per process (module level), shared by every session like `st.cache_resource`, and is thread-safe.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["ByteBudgetCache"]

Value = TypeVar("Value")


@dataclass(frozen=True)
class _Entry(Generic[Value]):
    value: Value
    size_bytes: int


class ByteBudgetCache(Generic[Value]):
    """`get(key, compute)`: the cached value, or `compute()`'s (kept within the budget). Exceptions are not kept."""

    def __init__(self, *, budget_bytes: int, max_entries: int, size_of: Callable[[Value], int]) -> None:
        if budget_bytes <= 0 or max_entries <= 0:
            raise ValueError(f"need a positive budget and entry count, got {budget_bytes} bytes, {max_entries}")
        self.budget_bytes = budget_bytes
        self.max_entries = max_entries
        self._size_of = size_of
        self._entries: OrderedDict[Hashable, _Entry[Value]] = OrderedDict()
        self._total_bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], Value]) -> Value:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry.value
        value = compute()  # outside the lock: other sessions keep reading while this one computes
        self._put(key, value)
        return value

    def _put(self, key: Hashable, value: Value) -> None:
        size = max(0, int(self._size_of(value)))
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._total_bytes -= old.size_bytes
            if size > self.budget_bytes:
                return
            self._entries[key] = _Entry(value, size)
            self._total_bytes += size
            while self._total_bytes > self.budget_bytes or len(self._entries) > self.max_entries:
                _, dropped = self._entries.popitem(last=False)
                self._total_bytes -= dropped.size_bytes

    @property
    def total_bytes(self) -> int:
        """The estimated size of everything kept: never above `budget_bytes`."""
        return self._total_bytes

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._total_bytes = 0
