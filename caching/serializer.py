"""The one value format of the memcached adapters: ``(bytes, flags)``.

All three adapters store values this way, so an item written through one is
read back equal, with its type, through another:

========  =====  ==========================================================
type      flags  bytes on the server
========  =====  ==========================================================
bytes     0      the bytes
quoted    32     bytes that start like a number (``b"12"``, ``b" 7"``, empty)
                 or with ``b"_"``, after one leading ``b"_"``: the server
                 does not count them, so ``incr`` fails as the contract
                 requires
pickle    1      ``pickle.dumps`` of anything else (floats, containers...),
                 and of a str that starts like a number or is empty (so that
                 ``incr`` on ``"12"`` fails too)
int       2      decimal text, for ints in ``0 .. 2**64-1``: memcached's
                 ``incr``/``decr`` work on it
str       16     UTF-8
bool      64     ``b"01"``/``b"00"``: numeric to the server, so a bool counts
                 as an int for ``incr``; a counter read back as anything but
                 those two bytes is an ``int``
========  =====  ==========================================================

Flags 0, 1, 2 and 16 mean what they mean to pylibmc's own decoder (and to
python-memcached's and pymemcache's), so the pylibmc adapter reads items in
C. Flags 32 and 64 are bits no client library gives a meaning to: pylibmc
reads those items as their bytes, and :func:`from_native` tells them apart
by their first byte, which no other bytes value starts with.

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
    "MARKED_FIRST",
    "Item",
    "dumps",
    "from_native",
    "loads",
]

FLAG_BYTES = 0
FLAG_PICKLE = 1
FLAG_INT = 2
FLAG_STR = 16
FLAG_QUOTED = 32
FLAG_BOOL = 64

#: A serialised value: ``(bytes to store, flags)``.
Item = tuple[bytes, int]

# First characters that make memcached's strtoull-based incr accept a value.
_NUMERIC_TEXT = "0123456789+- \t\n\v\f\r"
_NUMERIC_START = frozenset(_NUMERIC_TEXT.encode())
_QUOTE = b"_"
# First bytes of a bytes value that is quoted: numeric ones and the quote.
_MARKED_START = _NUMERIC_START | frozenset(_QUOTE)
#: The first bytes of the items stored with flags 32 or 64, as one-byte
#: ``bytes`` (``data[:1] in MARKED_FIRST``): no bytes value of flags 0 starts
#: with one.
MARKED_FIRST = frozenset(bytes([byte]) for byte in _MARKED_START)
_TRUE, _FALSE = b"01", b"00"


def _pickle(value: Any) -> Item:
    try:
        return pickle.dumps(value, pickle.HIGHEST_PROTOCOL), FLAG_PICKLE
    except Exception as exc:  # PicklingError, TypeError, AttributeError...
        raise TypeError(f"cannot cache a {type(value).__name__}: {exc}") from exc


def dumps(value: Any) -> Item:
    """Serialise ``value`` for memcached.

    :returns: ``(data, flags)`` as the table in the module docstring.
    :raises TypeError: ``value`` cannot be pickled.
    """
    kind = type(value)
    if kind is bytes:
        if value and value[0] not in _MARKED_START:
            return value, FLAG_BYTES
        return _QUOTE + value, FLAG_QUOTED
    if kind is str:
        if value and value[0] not in _NUMERIC_TEXT:
            try:
                return value.encode("utf-8"), FLAG_STR
            except UnicodeEncodeError:  # lone surrogates: no UTF-8 form
                pass
        return _pickle(value)
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
    if flags == FLAG_STR:
        return data.decode("utf-8")
    if flags == FLAG_BYTES:
        return data
    if flags == FLAG_INT:
        return int(data)
    if flags == FLAG_PICKLE:
        return pickle.loads(data)
    if flags == FLAG_QUOTED:
        return data[1:]
    if flags == FLAG_BOOL:
        return _counted(data)
    raise ValueError(f"unknown memcached flags {flags}")


def from_native(value: Any) -> Any:
    """A value as pylibmc's own decoder read it, as :func:`loads` would have.

    pylibmc decodes flags 0, 1, 2 and 16 as :func:`loads` does, and the
    items of flags 32 and 64, which it does not know, as their bytes: a
    quoted value starts with ``b"_"``, a bool item like a number.
    """
    if value.__class__ is bytes and value[:1] in MARKED_FIRST:
        return value[1:] if value[:1] == _QUOTE else _counted(value)
    return value


def _counted(data: bytes) -> bool | int:
    """A bool item's bytes: ``True``/``False``, or the ``int`` the server counted."""
    if data in (_TRUE, _FALSE):
        return data == _TRUE
    return int(data)
