"""What memcached does with a storage command (CONTRACT.md, "Methods").

One pure function, :func:`store_decision`, decides ``set``, ``add`` and
``replace`` from the state of the key's item, as memcached 1.6 does; the
in-process backends act on its answer. The memcached adapters send the
command and let the server decide.
"""

from __future__ import annotations

import enum

__all__ = ["ADD", "REPLACE", "SET", "Decision", "store_decision"]

#: The three storage commands (also the method names).
SET, ADD, REPLACE = "set", "add", "replace"


class Decision(enum.Enum):
    """The outcome of a storage command: what the call answers, and whether
    the key's old item is dropped."""

    #: Stored: the call answers ``True``.
    STORE = "store"
    #: Not stored (``add`` over a live item, ``replace`` without one): ``False``,
    #: the old item stays.
    KEEP = "keep"
    #: The value is over the item size: ``False``; memcached also unlinks the
    #: old item of a refused ``set`` (``SERVER_ERROR object too large``).
    REFUSE = "refuse"
    #: Refused as too large, the old item left alone (``add``, ``replace``).
    REFUSE_KEEP = "refuse_keep"
    #: Stored already expired (a time in the past): ``True``, and nothing is
    #: readable afterwards, so the old item is dropped.
    EXPIRE = "expire"

    @property
    def stored(self) -> bool:
        """What the storage call answers."""
        return self is Decision.STORE or self is Decision.EXPIRE

    @property
    def drops_old(self) -> bool:
        """Whether the key's old item is gone afterwards."""
        return self is Decision.REFUSE or self is Decision.EXPIRE


def store_decision(mode: str, live: bool, fits: bool, expired: bool) -> Decision:
    """Decide a storage command as memcached 1.6 does.

    :param mode: :data:`SET`, :data:`ADD` or :data:`REPLACE`.
    :param live: the key holds an item that has not expired.
    :param fits: the item is within the item size limit.
    :param expired: the command's time is already past (a negative time or
        an absolute time before now).
    :returns: the :class:`Decision`. The size is checked first (memcached
        refuses an oversized value before it looks the key up), then
        ``add``/``replace``'s condition, then the time.

    >>> store_decision(ADD, live=True, fits=True, expired=False)
    <Decision.KEEP: 'keep'>
    >>> store_decision(SET, live=True, fits=False, expired=False).drops_old
    True
    """
    if not fits:
        return Decision.REFUSE if mode == SET else Decision.REFUSE_KEEP
    if mode != SET and live != (mode == REPLACE):
        return Decision.KEEP
    return Decision.EXPIRE if expired else Decision.STORE
