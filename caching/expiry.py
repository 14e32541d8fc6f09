"""Expiry rules shared by every backend (CONTRACT.md, "Time").

``time`` is ``int`` seconds or ``datetime.timedelta``: ``0`` never expires,
``1``..``2592000`` (30 days) is relative to now, anything larger is an absolute
Unix timestamp up to :data:`MAX_EXPTIME` (January 2038), and a negative value
means already expired -- memcached's exptime rules. A time memcached cannot
keep raises ``ValueError`` here, before any backend does any I/O.
"""

from __future__ import annotations

import math
from datetime import timedelta
from time import time as _wall_time

__all__ = [
    "MAX_EXPTIME",
    "MAX_RELATIVE",
    "Time",
    "expires_at",
    "lifetime",
    "seconds",
    "to_exptime",
    "total_seconds",
]

#: Largest relative expiry memcached accepts, in seconds (30 days).
MAX_RELATIVE = 2_592_000

#: The latest absolute expiry memcached keeps: 2**31 - 1, 2038-01-19
#: 03:14:07 UTC. memcached 1.6 reads exptime as a signed 32-bit number
#: (measured on 1.6.18): from 2**31 to 2**32 - 1 it stores the item and
#: never returns it, 2**32 reads as "never expires", 2**32 + N as N, and
#: from 2**63 it answers ``CLIENT_ERROR`` and then ``ERROR`` (two replies to
#: one command). Every backend refuses a later time with ``ValueError``.
MAX_EXPTIME = 2**31 - 1

Time = int | timedelta


def _too_late(time: Time, exptime: int) -> ValueError:
    landing = "" if type(time) is int else f" (lands at {exptime})"
    return ValueError(
        f"time {time!r}{landing} is past 2**31 - 1 (2038-01-19 03:14:07 UTC), the latest "
        "expiry memcached can keep: it would store the item and never return it"
    )


def to_exptime(time: Time, now: float | None = None) -> int:
    """Normalise ``time`` to the integer memcached calls ``exptime``.

    An ``int`` passes through unchanged. A ``timedelta`` is always relative:
    a positive fraction of a second rounds up (``0.5 s`` is ``1``, never the
    "never expires" ``0``), and one longer than 30 days becomes the absolute
    timestamp ``now + delta`` so that it is not misread as a date in 1970.
    This is the one place that decides which times a backend accepts.

    :param time: seconds (``int``) or a ``datetime.timedelta``.
    :param now: current Unix time in seconds; defaults to the wall clock.
    :returns: the exptime to send to the server.
    :raises TypeError: ``time`` is of any other type (``bool`` and ``float``
        included).
    :raises ValueError: the expiry is later than :data:`MAX_EXPTIME` (an
        absolute time from 2**31, ``2**64`` included, or a ``timedelta``
        that lands there), which memcached cannot keep.
    """
    if type(time) is int:
        if time > MAX_EXPTIME:
            raise _too_late(time, time)
        return time
    if isinstance(time, timedelta):
        seconds = time.total_seconds()
        exptime = math.ceil(seconds) if seconds > 0 else math.floor(seconds)
        if exptime > MAX_RELATIVE:
            exptime += int(_wall_time() if now is None else now)
            if exptime > MAX_EXPTIME:
                raise _too_late(time, exptime)
        return exptime
    raise TypeError(f"time must be int seconds or datetime.timedelta, not {type(time).__name__}")


def expires_at(time: Time, now: int) -> int:
    """Return the whole second at which an item stored at ``now`` is gone.

    ``0`` means never. An item stored at second ``T`` with relative time ``N``
    is readable through ``T+N-1`` and gone at ``T+N``; an absolute timestamp is
    gone from that second on; a negative time gives ``-1`` (gone already).

    :param time: as for :func:`to_exptime`.
    :param now: the current Unix time in whole seconds.
    :raises TypeError: as :func:`to_exptime`.
    :raises ValueError: as :func:`to_exptime` (past :data:`MAX_EXPTIME`).
    """
    exptime = to_exptime(time, now)
    if exptime == 0:
        return 0
    if exptime < 0:
        return -1
    if exptime <= MAX_RELATIVE:
        return now + exptime
    return exptime


def lifetime(time: Time) -> Time:
    """Normalise a lifetime that is fixed now and used for items stored later.

    For the patterns' settings (``Cached(time=...)``, ``OnePass(time=...)``,
    lockout periods...): an ``int`` is kept as given; a ``timedelta`` becomes
    whole seconds, a positive fraction rounded up (``0.5 s`` is ``1``, never
    the "no expiry" ``0``, which wheezy's ``total_seconds`` gives), except one
    longer than 30 days, which stays a ``timedelta`` so that each store sends
    the absolute time it means then.

    :raises TypeError: ``time`` is neither ``int`` nor ``timedelta``.
    :raises ValueError: ``time`` is past :data:`MAX_EXPTIME` already (a
        setting memcached could never keep fails when it is made, not at
        its first store).
    """
    exptime = to_exptime(time)
    if isinstance(time, timedelta) and exptime > MAX_RELATIVE:
        return time
    return exptime


def seconds(duration: float | timedelta) -> float:
    """A duration (a wait, a timeout) in seconds.

    :param duration: ``int``/``float`` seconds or ``timedelta``.
    :raises TypeError: any other type (``bool`` included).
    """
    if isinstance(duration, timedelta):
        return duration.total_seconds()
    if isinstance(duration, bool) or not isinstance(duration, (int, float)):
        raise TypeError(f"expected seconds or timedelta, not {type(duration).__name__}")
    return float(duration)


def total_seconds(delta: int | timedelta) -> int:
    """Return ``delta`` in whole seconds (wheezy.caching's ``utils.total_seconds``).

    :param delta: ``int`` seconds or ``datetime.timedelta`` (fractions of a
        second are dropped, as in wheezy.caching).
    :raises TypeError: any other type (``bool`` and ``float`` included).
    """
    if type(delta) is int:
        return delta
    if isinstance(delta, timedelta):
        return delta.days * 86400 + delta.seconds
    raise TypeError(f"expected int seconds or datetime.timedelta, not {type(delta).__name__}")
