"""The one value format of the memcached adapters: ``(bytes, flags)``.

All three adapters store values this way, so an item written through one is
read back equal, with its type, through another:

========  =====  ==========================================================
type      flags  bytes on the server
========  =====  ==========================================================
bytes     0      the bytes
pickle    1      ``pickle.dumps`` of anything else (floats, containers...),
                 and of bytes that start like a number (``b"12"``, ``b" 7"``)
                 or are empty, which the server must not count
int       2      decimal text, for ints in ``0 .. 2**64-1``: memcached's
                 ``incr``/``decr`` work on it
str       16     UTF-8
quoted    48     str (16) + 32: a str that starts like a number (``"12"``),
                 with ``"_"`` or is empty, after one leading ``"_"``: the
                 server does not count it, so ``incr`` fails as the contract
                 requires
bool      80     str (16) + 64: ``"01"``/``"00"``, numeric to the server, so
                 a bool counts as an int for ``incr``; a counter read back as
                 anything but those two texts is an ``int``
pickled   33     pickle (1) + 32: a str with no UTF-8 form (lone surrogates)
quoted           that would be quoted, pickled with its leading ``"_"``
========  =====  ==========================================================

Flags 0, 1, 2 and 16 mean what they mean to pylibmc's own decoder (and to
python-memcached's and pymemcache's), and 32 and 64 are bits no client
library gives a meaning to: pylibmc reads every item in C, quoted and bool
items as a str (flags 33 as the pickled quoted str), which
:func:`from_native` tells apart by the first character (no other str it
reads starts with ``"_"`` or like a number).
Values of the other types need no second look.

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
    "FLAG_QUOTED_PICKLE",
    "FLAG_STR",
    "MARKED_TEXT",
    "Item",
    "dumps",
    "from_native",
    "loads",
]

FLAG_BYTES = 0
FLAG_PICKLE = 1
FLAG_INT = 2
FLAG_STR = 16
FLAG_QUOTED = FLAG_STR | 32
FLAG_BOOL = FLAG_STR | 64
FLAG_QUOTED_PICKLE = FLAG_PICKLE | 32

#: A serialised value: ``(bytes to store, flags)``.
Item = tuple[bytes, int]

# First characters that make memcached's strtoull-based incr accept a value.
_NUMERIC_TEXT = "0123456789+- \t\n\v\f\r"
_NUMERIC_START = frozenset(_NUMERIC_TEXT.encode())
_QUOTE = "_"
#: First characters of the str values that are quoted or bool items, as
#: pylibmc reads them (``text[:1] in MARKED_TEXT``): no other str starts so.
MARKED_TEXT = frozenset(_NUMERIC_TEXT + _QUOTE)
_TRUE, _FALSE = "01", "00"


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
        if value and value[0] not in _NUMERIC_START:
            return value, FLAG_BYTES
        return _pickle(value)
    if kind is str:
        if value and value[0] not in MARKED_TEXT:
            try:
                return value.encode("utf-8"), FLAG_STR
            except UnicodeEncodeError:  # lone surrogates: no UTF-8 form
                return _pickle(value)
        quoted = _QUOTE + value
        try:
            return quoted.encode("utf-8"), FLAG_QUOTED
        except UnicodeEncodeError:
            return _pickle(quoted)[0], FLAG_QUOTED_PICKLE
    if kind is int and 0 <= value < MAX_COUNTER:
        return str(value).encode("ascii"), FLAG_INT
    if kind is bool:
        return (_TRUE if value else _FALSE).encode("ascii"), FLAG_BOOL
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
    if flags in (FLAG_QUOTED, FLAG_BOOL):
        return from_native(data.decode("utf-8"))
    if flags == FLAG_QUOTED_PICKLE:
        return from_native(pickle.loads(data))
    raise ValueError(f"unknown memcached flags {flags}")


def from_native(value: Any) -> Any:
    """A value as pylibmc's own decoder read it, as :func:`loads` would have.

    pylibmc reads flags 0, 1, 2 and 16 as :func:`loads` does, and quoted
    and bool items (flags 16 with a bit it ignores) as their text: a quoted
    one starts with ``"_"``, a bool one like a number.
    """
    if type(value) is str and value[:1] in MARKED_TEXT:
        if value[0] == _QUOTE:
            return value[1:]
        if value in (_TRUE, _FALSE):
            return value == _TRUE
        return int(value)  # a bool item the server counted
    return value
