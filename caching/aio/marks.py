"""The invalidation marks of :mod:`caching.patterns.marks`, awaited: the
same keys and tokens, so sync and async code see each other's marks."""

from __future__ import annotations

from collections.abc import Iterable

from caching.aio.contract import AsyncCache
from caching.key_rules import Key
from caching.patterns.marks import marks_read, marks_written
from caching.steps import run_async

__all__ = ["read_marks", "write_marks"]


async def read_marks(cache: AsyncCache, keys: list[Key], namespace: str | None) -> list[object]:
    """:func:`caching.patterns.marks.read_marks`, awaited (the steps of
    :func:`~caching.patterns.marks.marks_read`): the marks of ``keys`` now
    (``None`` where none), in order; one ``get`` for one key, else one
    ``get_multi``."""
    return list(await run_async(marks_read(keys, namespace), cache))


async def write_marks(cache: AsyncCache, keys: Iterable[Key], namespace: str | None) -> None:
    """:func:`caching.patterns.marks.write_marks`, awaited (the steps of
    :func:`~caching.patterns.marks.marks_written`): a new mark for each of
    ``keys`` (one ``set`` for one key, else one ``set_multi``), alive
    :data:`~caching.patterns.marks.MARK_SECONDS`."""
    await run_async(marks_written(keys, namespace), cache)
