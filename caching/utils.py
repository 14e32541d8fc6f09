"""Small helpers kept at wheezy.caching's module path."""

from __future__ import annotations

from datetime import timedelta

from caching.encoding import encode_keys

__all__ = ["encode_keys", "total_seconds"]


def total_seconds(delta: int | timedelta) -> int:
    """Return ``delta`` in whole seconds.

    :param delta: ``int`` seconds or ``datetime.timedelta`` (fractions of a
        second are dropped, as in wheezy.caching).
    :raises TypeError: any other type (``bool`` and ``float`` included).
    """
    if type(delta) is int:
        return delta
    if isinstance(delta, timedelta):
        return delta.days * 86400 + delta.seconds
    raise TypeError(f"expected int seconds or datetime.timedelta, not {type(delta).__name__}")
