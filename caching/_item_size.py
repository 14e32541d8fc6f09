"""A cheap upper bound on the bytes a value takes of memcached's item size.

:class:`caching.memory.MemoryCache` refuses a value over the item size limit
as memcached refuses what an adapter sends for it, and measures a container
exactly by pickling it (:func:`caching.adapters.serializer.dumps` pickles
every container). For the small records services store, pickling only to
measure costs more than the rest of a ``set``. This module bounds the pickle's
length from above without building it, by a walk of the plain types (``dict``,
``list``, ``tuple`` holding ``str``, ``bytes``, ``int``, ``float``, ``bool``,
``None``) with an early exit at the budget. A value it cannot bound cheaply
(any other type, nesting deeper than :data:`_DEPTH`, a cycle) is measured
exactly by the caller, so the limit stays exact: the bound only settles the
values that surely fit.

This module is compiled with mypyc when the package is built with a C
compiler (``setup.py``); :data:`caching.memory` uses it only then, since the
walk run by the interpreter costs more than the pickle it saves
(docs/PERFORMANCE.md, "Item size"). Its bounds are the same either way, and
the tests check both against real pickles.

The bounds, per object of the pickle (protocol 5, ``pickle.HIGHEST_PROTOCOL``
on Python 3.11), each counting its ``MEMOIZE`` opcode and at least the 5 bytes
of a ``LONG_BINGET`` that a repeated object is written as:

- ``None``, ``True``, ``False``: 1 (``NONE``, ``NEWTRUE``, ``NEWFALSE``);
- ``float``: 9 (``BINFLOAT``);
- ``int``: 5 within a signed 32-bit range (``BININT*``), else
  ``LONG1``/``LONG4``: 5 bytes of opcode and length and the two's complement
  bytes, at most ``bit_length() // 8 + 1``;
- ``str``: 10 and at most 4 bytes a character (UTF-8 with
  ``surrogatepass``); ``bytes``: 10 and its length;
- ``list``, ``tuple``, ``dict``: 6 (empty, ``MEMOIZE``, a ``MARK`` and
  ``APPENDS``/``TUPLE``/``SETITEMS``) and 2 for each further batch of 1,000
  elements, and the bounds of their elements;
- the whole pickle: 3 (``PROTO``, ``STOP``) and a 9-byte ``FRAME`` for each
  64 KiB and each object written outside a frame (at most one a 64 KiB).

The walk's arithmetic is on ``i64`` (``mypy_extensions``, a C ``int64_t`` once
compiled; imported for the type checker only, so the source runs without it)
and the loops bound a ``str`` or ``int`` element inline rather than through a
call of :func:`_bound`: the record ``{"id": 42, "name": ..., "tags": [...]}``
1.7k -> 1.1k instructions (docs/PERFORMANCE.md, "Item size").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, cast

if TYPE_CHECKING:  # no runtime dependency: i64 only annotates
    from mypy_extensions import i64

__all__ = ["fits"]

#: Deeper containers are left to the exact measure (which also handles cycles).
_DEPTH: Final = 16
#: pickle's frame size (``_FRAME_SIZE_TARGET``), in bytes: ``size >> 16`` below.
_FRAME: Final = 65536
#: What the adapters add to a pickle: the 4 bytes of its flags. (What an
#: adapter sends for a top-level str, bytes or int is at most its pickle's
#: bound and the flags too: a str's ``"_"`` and UTF-8, at most 4 bytes a
#: character; bytes as they are or pickled; an int as decimal text.)
_FLAGS: Final = 4
#: A larger budget is taken as this one (no value takes 2**62 bytes), so
#: that every sum of the walk stays within an ``i64``.
_HUGE: Final = 1 << 62


def _bound(value: object, depth: i64, budget: i64) -> i64:
    """A bound on ``value``'s bytes inside a pickle; over ``budget`` (or -1)
    when it exceeds it or cannot be bounded cheaply. ``depth`` is how many
    more levels of containers may be walked."""
    kind = type(value)
    if kind is str:
        return 10 + 4 * len(cast(str, value))
    if kind is int:
        number = cast(int, value)
        if -0x80000000 <= number < 0x80000000:
            return 5
        return 6 + number.bit_length() // 8
    if kind is float:
        return 9
    if value is None or kind is bool:
        return 1
    if kind is bytes:
        return 10 + len(cast(bytes, value))
    if depth == 0:
        return -1
    if kind is dict:
        return _bound_dict(cast(dict[object, object], value), depth - 1, budget)
    if kind is list:
        return _bound_list(cast(list[object], value), depth - 1, budget)
    if kind is tuple:
        return _bound_tuple(cast(tuple[object, ...], value), depth - 1, budget)
    return -1


# The loops below repeat _bound's str and int bounds inline (a str key, a str
# or int element): a call of _bound per leaf cost about 117 instructions, the
# inline test and sum a few tens. The lengths are read into i64 locals, since
# mypyc computes ``len(x)`` in an expression as a tagged int and converts it.
# A dict is iterated by ``.items()`` (PyDict_Next, about 100 instructions an
# item); copying its keys and values into lists to share the list loop cost
# more than it saved (docs/PERFORMANCE.md, "Item size").


def _bound_dict(mapping: dict[object, object], depth: i64, budget: i64) -> i64:
    """:func:`_bound` of a dict: its keys and values, ``depth`` levels below."""
    count: i64 = len(mapping)
    total: i64 = 6 + 2 * (count // 1000)
    for key, item in mapping.items():
        if type(key) is str:
            length: i64 = len(key)
            total += 10 + 4 * length
        else:
            size = _bound(key, depth, budget)
            if size < 0:
                return -1
            total += size
        if type(item) is str:
            length = len(item)
            total += 10 + 4 * length
        elif type(item) is int:
            number: int = item
            total += 5 if -0x80000000 <= number < 0x80000000 else 6 + number.bit_length() // 8
        else:
            size = _bound(item, depth, budget)
            if size < 0:
                return -1
            total += size
        if total > budget:
            return -1
    return total


def _bound_list(values: list[object], depth: i64, budget: i64) -> i64:
    """:func:`_bound` of a list: its elements, ``depth`` levels below."""
    count: i64 = len(values)
    total: i64 = 6 + 2 * (count // 1000)
    for item in values:
        if type(item) is str:
            length: i64 = len(item)
            total += 10 + 4 * length
        elif type(item) is int:
            number: int = item
            total += 5 if -0x80000000 <= number < 0x80000000 else 6 + number.bit_length() // 8
        else:
            size = _bound(item, depth, budget)
            if size < 0:
                return -1
            total += size
        if total > budget:
            return -1
    return total


def _bound_tuple(values: tuple[object, ...], depth: i64, budget: i64) -> i64:
    """:func:`_bound` of a tuple (read in place, not copied to a list)."""
    count: i64 = len(values)
    total: i64 = 6 + 2 * (count // 1000)
    for item in values:
        size = _bound(item, depth, budget)
        if size < 0:
            return -1
        total += size
        if total > budget:
            return -1
    return total


def fits(values: list[object], budget: int) -> bool:
    """Whether each of ``values`` surely takes at most ``budget`` bytes of
    memcached's item size as the adapters send it (the data and its flags,
    :func:`caching.adapters.serializer.dumps`).

    :param values: the values of one store or batch.
    :param budget: bytes left for each value once the item's header and key
        are counted (any int; one over 2**62 counts as 2**62).
    :returns: ``True`` when every value surely fits; ``False`` when one may
        not, or is of a type this walk does not bound: measure it exactly.
    """
    limit: i64 = budget if budget < _HUGE else _HUGE
    for value in values:
        size = _bound(value, _DEPTH, limit)
        if size < 0:
            return False
        # PROTO, STOP, the flags, and a FRAME per 64 KiB (_FRAME) and per
        # object written outside a frame
        if size + 3 + 9 * (2 * (size >> 16) + 2) + _FLAGS > limit:
            return False
    return True
