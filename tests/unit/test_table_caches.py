"""The inbox table's render caches free what they held when cleared (no cyclic garbage)."""

from __future__ import annotations

import gc
import weakref

from screens.inbox.table import _TABLE_CACHES, TicketTable, UnlinkingLRUCache


class _Rendered:
    """Stands in for a rendered cell (anything a weak reference can watch)."""


def test_cleared_entries_are_freed_without_the_garbage_collector():
    cache = UnlinkingLRUCache(100)
    values = [_Rendered() for _ in range(10)]
    refs = [weakref.ref(v) for v in values]
    for n, value in enumerate(values):
        cache.set(n, value)
    del values, value
    gc.disable()
    try:
        cache.clear()
        assert [r() for r in refs] == [None] * 10
    finally:
        gc.enable()
    assert len(cache) == 0
    cache.set("again", 1)  # usable after a clear
    assert cache.get("again") == 1


def test_the_ticket_table_uses_the_unlinking_caches():
    table = TicketTable()
    for name in _TABLE_CACHES:
        assert isinstance(getattr(table, name), UnlinkingLRUCache), name
