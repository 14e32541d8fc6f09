"""The one value format of the memcached adapters: ``(bytes, flags)``.

All three adapters store values this way, so an item written through one is
read back equal, with its type, through another:

========  =====  ==========================================================
type      flags  bytes on the server
========  =====  ==========================================================
bytes     0      the bytes
pickle    1      ``pickle.dumps`` of anything else (floats, containers...)
int       2      decimal text, for ints in ``0 .. 2**64-1``: memcached's
                 ``incr``/``decr`` work on it
bool      4      ``b"01"``/``b"00"``: numeric to the server, so a bool counts
                 as an int for ``incr``; a counter read back as anything but
                 those two bytes is an ``int``
str       16     UTF-8
quoted    +32    bytes or str whose text the server would take for a number
                 (``"12"``, ``b" 7"``, empty) get one leading ``b"_"``, so
                 ``incr`` on them fails as the contract requires
========  =====  ==========================================================

A counter's text can outgrow what its flags say: after ``incr`` a bool item
holds ``b"2"``, and after ``decr`` memcached pads the text (``b"99 "``); both
read back as ``int``. Ints outside ``0 .. 2**64-1`` are pickled, so the server
refuses to count them.
"""

from __future__ import annotations

import pickle
from typing import Any

from caching.counters import MAX_COUNTER

__all__ = [
    "FLAG_BOOL",
    "FLAG_BYTES",
    "FLAG_INT",
    "FLAG_PICKLE",
    "FLAG_QUOTED",
    "FLAG_STR",
    "Item",
    "dumps",
    "loads",
]

FLAG_BYTES = 0
FLAG_PICKLE = 1
FLAG_INT = 2
FLAG_BOOL = 4
FLAG_STR = 16
FLAG_QUOTED = 32

#: A serialised value: ``(bytes to store, flags)``.
Item = tuple[bytes, int]

# First bytes that make memcached's strtoull-based incr accept a value.
_NUMERIC_START = frozenset(b"0123456789+- \t\n\v\f\r")
_TRUE, _FALSE = b"01", b"00"


def _pickle(value: Any) -> Item:
    try:
        return pickle.dumps(value, pickle.HIGHEST_PROTOCOL), FLAG_PICKLE
    except Exception as exc:  # PicklingError, TypeError, AttributeError...
        raise TypeError(f"cannot cache a {type(value).__name__}: {exc}") from exc


def _quoted(data: bytes, flags: int) -> Item:
    if not data or data[0] in _NUMERIC_START:
        return b"_" + data, flags | FLAG_QUOTED
    return data, flags


def dumps(value: Any) -> Item:
    """Serialise ``value`` for memcached.

    :returns: ``(data, flags)`` as the table in the module docstring.
    :raises TypeError: ``value`` cannot be pickled.
    """
    kind = type(value)
    if kind is bytes:
        if value and value[0] not in _NUMERIC_START:  # _quoted, inline
            return value, FLAG_BYTES
        return _quoted(value, FLAG_BYTES)
    if kind is str:
        try:
            data = value.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: no UTF-8 form
            return _pickle(value)
        if data and data[0] not in _NUMERIC_START:
            return data, FLAG_STR
        return _quoted(data, FLAG_STR)
    if kind is int and 0 <= value < MAX_COUNTER:
        return str(value).encode("ascii"), FLAG_INT
    if kind is bool:
        return (_TRUE if value else _FALSE), FLAG_BOOL
    return _pickle(value)


def loads(data: bytes, flags: int) -> Any:
    """Read back a value written by :func:`dumps` (or counted by the server).

    :param data: the item's bytes.
    :param flags: the item's flags.
    :returns: the value, of the type it was stored with (an ``int`` for a
        bool the server has counted past ``0``/``1``).
    :raises ValueError: unknown flags.
    """
    if flags & FLAG_QUOTED:
        data, flags = data[1:], flags & ~FLAG_QUOTED
    if flags == FLAG_STR:
        return data.decode("utf-8")
    if flags == FLAG_BYTES:
        return data
    if flags == FLAG_INT:
        return int(data)
    if flags == FLAG_PICKLE:
        return pickle.loads(data)
    if flags == FLAG_BOOL:
        if data in (_TRUE, _FALSE):
            return data == _TRUE
        return int(data)
    raise ValueError(f"unknown memcached flags {flags}")
