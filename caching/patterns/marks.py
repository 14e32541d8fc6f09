"""Invalidation marks: an invalidation that runs during a rebuild is never lost.

A creator that missed a key reads the key's *mark* before it calls its
factory, again before it stores the result, and once more after; an
invalidation writes a new mark (a unique token, alive :data:`MARK_SECONDS`)
before it deletes the key. If a read differs from the first, an
invalidation ran while the creator was building from data read before it:
before the store, the creator stores nothing (so no call that begins after
the invalidation reads the value); after it, the creator deletes what it
stored. Either the creator's last read comes after the new mark (it sees it
and deletes its item), or its store came before the invalidation's
``delete`` (which removes it): no interleaving leaves a value built from old
data in the cache, on any backend and across processes (the marks live in
the shared cache).

The contract has no compare-and-swap; ``add`` and ``set`` of a mark plus
three reads are enough, and they cost nothing on a hit (only a creator reads
marks, three reads per creation).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from caching.contract import Cache
from caching.key_rules import Key
from caching.patterns.onepass import pass_key
from caching.steps import Steps

__all__ = [
    "MARK_PREFIX",
    "MARK_SECONDS",
    "mark_key",
    "marks_read",
    "marks_written",
    "read_marks",
    "write_marks",
]

#: Start of every mark key: ``"inv:" + key`` (hashed as a one-pass guard's
#: key is when that is no valid key, see :func:`~caching.patterns.onepass.pass_key`).
MARK_PREFIX = "inv:"

#: Life of a mark, in seconds. A creator whose run takes longer than this
#: cannot tell whether a mark came and went meanwhile; it stores its value
#: as any other (wheezy's answer, rather than recomputing a slow value on
#: every call).
MARK_SECONDS = 60


def mark_key(key: Key) -> str:
    """The key of the invalidation mark of the item ``key`` (a valid key)."""
    return pass_key(MARK_PREFIX, key)


def marks_read(
    keys: list[Key], namespace: str | None, batch: bool = True
) -> Steps[tuple[object, ...]]:
    """The steps of :func:`read_marks`, for sync and async caches
    (:mod:`caching.steps`): the marks of ``keys`` now (``None`` where
    none), in order; one ``get`` for one key or when the cache has no
    ``get_multi`` (``batch=False``), else one ``get_multi``."""
    marks = [mark_key(key) for key in keys]
    if len(marks) == 1 or not batch:  # a wheezy-style backend
        values = []
        for mark in marks:
            values.append((yield "get", (mark, namespace)))
        return tuple(values)
    found = yield "get_multi", (marks, namespace)
    return tuple(found.get(mark) for mark in marks)


def marks_written(keys: Iterable[Key], namespace: str | None, batch: bool = True) -> Steps[None]:
    """The steps of :func:`write_marks`: a new mark for each of ``keys``
    (one ``set`` for one key or when the cache has no ``set_multi``
    (``batch=False``), else one ``set_multi``), alive :data:`MARK_SECONDS`."""
    token = uuid.uuid4().hex
    marks = [mark_key(key) for key in keys]
    if len(marks) == 1 or not batch:
        for mark in marks:
            yield "set", (mark, token, MARK_SECONDS, namespace)
    elif marks:
        yield "set_multi", (dict.fromkeys(marks, token), MARK_SECONDS, namespace)


def read_marks(cache: Cache, keys: list[Key], namespace: str | None) -> tuple[object, ...]:
    """The marks of ``keys`` as they are now (``None`` where none), in order.

    One ``get`` for one key (so a wheezy-style backend without ``get_multi``
    works), else one ``get_multi``. :func:`marks_read`'s decisions, called
    directly: a run of the steps would cost a creation about 3.4k
    instructions more per read (docs/PERFORMANCE.md, "Steps and the sync
    fast paths").
    """
    marks = [mark_key(key) for key in keys]
    if len(marks) == 1 or not hasattr(cache, "get_multi"):  # a wheezy-style backend
        return tuple(cache.get(mark, namespace) for mark in marks)
    found = cache.get_multi(marks, namespace)
    return tuple(found.get(mark) for mark in marks)


def invalidated(old: object, new: object) -> bool:
    """Whether a key's mark, read as ``old`` and later as ``new``, shows an
    invalidation between the two reads: a new token (an invalidation always
    writes one). A mark gone (``None``: it expired after :data:`MARK_SECONDS`,
    was evicted, or the read failed) shows none: a creator that read it began
    after the invalidation that wrote it."""
    return new is not None and new != old


def any_invalidated(before: Iterable[object], now: Iterable[object]) -> bool:
    """Whether any of the marks read as ``before`` and later as ``now`` (in
    the same order) shows an invalidation (:func:`invalidated`)."""
    return any(invalidated(old, new) for old, new in zip(before, now, strict=True))


def invalidated_keys(keys: list[Key], before: Iterable[object], now: Iterable[object]) -> list[Key]:
    """The ``keys`` whose marks, read as ``before`` and later as ``now`` (in
    the order of ``keys``), show an invalidation (:func:`invalidated`)."""
    return [key for key, old, new in zip(keys, before, now, strict=True) if invalidated(old, new)]


def write_marks(cache: Cache, keys: Iterable[Key], namespace: str | None) -> None:
    """Give each of ``keys`` a new mark (one ``set_multi``; one ``set`` for
    one key): :func:`marks_written`'s decisions, called directly (a run of
    the steps would cost an ``invalidate`` about 6.2k instructions more)."""
    token = uuid.uuid4().hex
    marks = [mark_key(key) for key in keys]
    if len(marks) == 1 or not hasattr(cache, "set_multi"):
        for mark in marks:
            cache.set(mark, token, MARK_SECONDS, namespace)
    elif marks:
        cache.set_multi(dict.fromkeys(marks, token), MARK_SECONDS, namespace)
