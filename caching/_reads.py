"""``MemoryCache.get_multi``'s loop over the items, compiled with mypyc.

Where ``setup.py`` compiled this module, :meth:`caching.memory.MemoryCache.get_multi`
reads every batch through :func:`live_values`: one C loop, with no
interpreter dispatch per key, which reads each item's value and expiry
(docs/PERFORMANCE.md, "Compiled reads"). Where it is not compiled, the
interpreter's own loops in ``caching/memory.py`` are used instead: this loop
interpreted costs more than they do.

The reads take no lock, as ``get_multi``'s own loops: a writer publishes an
item as one new ``[value, expiry]`` list and ``incr`` changes only its value,
so each item read is whole; compiled, the loop runs no Python code between
two keys, so no other thread runs in the middle of an item's read either.
"""

from __future__ import annotations

from typing import Any, cast

__all__ = ["live_values"]


def live_values(
    items: dict[Any, list[Any]], keys: list[Any] | tuple[Any, ...], second: int
) -> tuple[dict[Any, Any], list[Any], bool]:
    """Read ``keys`` from ``items`` (key -> ``[value, expiry second]``).

    :param items: the cache's items; every key in it is valid.
    :param keys: the keys asked for, as given.
    :param second: the whole second now: an expiry second ``E`` has passed
        when ``E <= second`` (0 is never).
    :returns: the live values found (``None`` values left out, as a miss),
        the keys not in ``items`` (to be checked, and looked up in their
        canonical form, by the caller), and whether an expired item was met
        (the caller reclaims then).
    """
    found: dict[Any, Any] = {}
    missing: list[Any] = []
    expired = False
    for key in keys:
        item = items.get(key)
        if item is None:
            missing.append(key)
            continue
        expiry = cast(int, item[1])
        if expiry and expiry <= second:
            expired = True
            continue
        value = item[0]
        if value is not None:
            found[key] = value
    return found, missing, expired
