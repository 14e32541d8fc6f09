"""What memcached does with a storage command (CONTRACT.md, "Methods").

One pure function, :func:`store_decision`, decides ``set``, ``add`` and
``replace`` from the state of the key's item, as memcached 1.6 does; the
in-process backends act on its answer. The memcached adapters send the
command and let the server decide.
"""

from __future__ import annotations

import enum

__all__ = ["ADD", "ANSWERS", "DROPS_OLD", "REPLACE", "SET", "Decision", "store_decision"]

#: The three storage commands (also the method names).
SET, ADD, REPLACE = "set", "add", "replace"


class Decision(enum.IntEnum):
    """The outcome of a storage command: what the call answers, and whether
    the key's old item is dropped. ``STORE`` is ``0``, the only false one."""

    #: Stored: the call answers ``True``.
    STORE = 0
    #: Not stored (``add`` over a live item, ``replace`` without one): ``False``,
    #: the old item stays.
    KEEP = 1
    #: The value is over the item size: ``False``; memcached also unlinks the
    #: old item of a refused ``set`` (``SERVER_ERROR object too large``).
    REFUSE = 2
    #: Refused as too large, the old item left alone (``add``, ``replace``).
    REFUSE_KEEP = 3
    #: Stored already expired (a time in the past): ``True``, and nothing is
    #: readable afterwards, so the old item is dropped.
    EXPIRE = 4

    @property
    def stored(self) -> bool:
        """What the storage call answers."""
        return ANSWERS[self]

    @property
    def drops_old(self) -> bool:
        """Whether the key's old item is gone afterwards."""
        return DROPS_OLD[self]


#: Decision -> what the storage call answers (a tuple, for a hot path).
ANSWERS = (True, False, False, False, True)
#: Decision -> whether the key's old item is gone afterwards.
DROPS_OLD = (False, False, True, False, True)

# Module globals: a global load is cheaper than an enum member lookup.
_STORE, _KEEP, _REFUSE, _REFUSE_KEEP, _EXPIRE = Decision


def store_decision(mode: str, live: bool, fits: bool, expired: bool) -> Decision:
    """Decide a storage command as memcached 1.6 does.

    :param mode: :data:`SET`, :data:`ADD` or :data:`REPLACE`.
    :param live: the key holds an item that has not expired.
    :param fits: the item is within the item size limit.
    :param expired: the command's time is already past (a negative time or
        an absolute time before now).
    :returns: the :class:`Decision`: ``add``/``replace``'s condition
        first, then the size, then the time. (memcached measures first, but
        an oversized ``add`` or ``replace`` answers ``False`` and keeps the
        old item either way; deciding the condition first lets a refused
        ``add`` cost no measuring: ``fits`` and ``expired`` do not matter
        when the answer is ``KEEP``.)

    >>> store_decision(ADD, live=True, fits=True, expired=False)
    <Decision.KEEP: 1>
    >>> store_decision(SET, live=True, fits=False, expired=False).drops_old
    True
    """
    if mode != SET and live != (mode == REPLACE):
        return _KEEP
    if not fits:
        return _REFUSE if mode == SET else _REFUSE_KEEP
    return _EXPIRE if expired else _STORE
