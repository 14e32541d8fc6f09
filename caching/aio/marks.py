"""The invalidation marks of :mod:`caching.patterns.marks`, awaited: the
same keys and tokens, so sync and async code see each other's marks."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from caching.aio.contract import AsyncCache
from caching.key_rules import Key
from caching.patterns.marks import MARK_SECONDS, mark_key

__all__ = ["read_marks", "write_marks"]


async def read_marks(cache: AsyncCache, keys: list[Key], namespace: str | None) -> list[object]:
    """:func:`caching.patterns.marks.read_marks`, awaited: the marks of
    ``keys`` now (``None`` where none), in order; one ``get`` for one key,
    else one ``get_multi``."""
    marks = [mark_key(key) for key in keys]
    if len(marks) == 1:
        return [await cache.get(marks[0], namespace)]
    found = await cache.get_multi(marks, namespace)
    return [found.get(mark) for mark in marks]


async def write_marks(cache: AsyncCache, keys: Iterable[Key], namespace: str | None) -> None:
    """:func:`caching.patterns.marks.write_marks`, awaited: a new mark for
    each of ``keys`` (one ``set`` for one key, else one ``set_multi``),
    alive :data:`~caching.patterns.marks.MARK_SECONDS`."""
    token = uuid.uuid4().hex
    marks = [mark_key(key) for key in keys]
    if len(marks) == 1:
        await cache.set(marks[0], token, MARK_SECONDS, namespace)
    elif marks:
        await cache.set_multi(dict.fromkeys(marks, token), MARK_SECONDS, namespace)
