"""Counter rules shared by every backend (CONTRACT.md, "Counters").

memcached keeps a counter as an unsigned 64-bit integer: ``incr`` wraps at
``2**64`` and ``decr`` stops at ``0`` ("decr to below 0 sets 0").
"""

from __future__ import annotations

__all__ = [
    "MAX_COUNTER",
    "NON_NUMERIC",
    "check_delta",
    "check_initial",
    "counter_value",
    "decr",
    "incr",
    "non_numeric",
]

#: One past the largest counter value (memcached counters are uint64).
MAX_COUNTER = 2**64

#: The message of the ``ValueError`` raised by incr/decr on a non-counter
#: (memcached's ``CLIENT_ERROR cannot increment or decrement non-numeric value``).
NON_NUMERIC = "cannot increment or decrement a value that is not an int in 0 .. 2**64-1"


def non_numeric(kind: type | None = None) -> ValueError:
    """The error of incr/decr on a stored value that is not a counter.

    :param kind: the value's type, when the backend knows it (named in the
        message).
    """
    if kind is None:
        return ValueError(NON_NUMERIC)
    return ValueError(f"{NON_NUMERIC} (got {kind.__name__})")


def _check_uint64(value: object, what: str) -> int:
    if not isinstance(value, int):
        raise ValueError(f"{what} must be an int, not {type(value).__name__}")
    if not 0 <= value < MAX_COUNTER:
        raise ValueError(f"{what} must be in 0 .. 2**64-1, got {value}")
    return int(value)


def check_delta(delta: object) -> int:
    """Check an ``incr``/``decr`` delta: an ``int`` in ``0 .. 2**64-1``.

    :raises ValueError: negative, too large or not an ``int`` (as memcached's
        ``CLIENT_ERROR invalid numeric delta argument``).
    """
    return _check_uint64(delta, "delta")


def check_initial(initial_value: object) -> int | None:
    """Check an ``initial_value``: ``None`` or an ``int`` in ``0 .. 2**64-1``.

    :raises ValueError: otherwise.
    """
    if initial_value is None:
        return None
    return _check_uint64(initial_value, "initial_value")


def counter_value(value: object) -> int:
    """Return a stored value as a counter, as memcached's incr/decr read it.

    ``bool`` counts as ``int``.

    :raises ValueError: the value is not an ``int`` in ``0 .. 2**64-1`` (as
        memcached's ``CLIENT_ERROR cannot increment or decrement non-numeric
        value``).
    """
    if not isinstance(value, int) or not 0 <= value < MAX_COUNTER:
        raise non_numeric(type(value))
    return int(value)


def incr(value: int, delta: int) -> int:
    """``value + delta``, wrapping at ``2**64`` as memcached's incr."""
    return (value + delta) % MAX_COUNTER


def decr(value: int, delta: int) -> int:
    """``value - delta``, stopping at ``0`` as memcached's decr."""
    return value - delta if value > delta else 0
