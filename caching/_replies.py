"""The read of a whole ``get`` reply into its items, compiled with mypyc.

:meth:`caching.adapters.text_connection.TextConnection.fetch` reads the
common reply of a ``get`` of many keys, whole in one receive, through
:func:`read_asked`: one C loop over the reply's bytes by position, which
matches each item to its key and sorts out the bytes values
(docs/PERFORMANCE.md, "pylibmc's reads"). Where ``setup.py`` did not
compile this module, the same source runs as Python.

The text protocol's reply to ``get k1 k2 ...`` is, per item found,
``VALUE <key> <flags> <bytes>\\r\\n<data>\\r\\n``, then ``END\\r\\n``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Found", "Read", "file_item", "plain_number", "read_asked"]

#: An item as read: ``(key, data, flags, cas)``, ``cas`` ``None`` for ``get``.
Found = tuple[bytes, bytes, int, "int | None"]


def plain_number(text: bytes) -> int:
    """``text`` as memcached writes a number (plain digits, no leading 0
    but in ``0`` itself); -1 for any other text."""
    if not text.isdigit() or (len(text) > 1 and text[0] == 48):  # b"0"
        return -1
    return int(text)


#: What :func:`read_asked` read: the values found by key, and the items
#: left to decode, ``(key, data, flags)``.
Read = tuple[dict[Any, object], list[tuple[Any, bytes, int]]]


def read_asked(buf: bytes, asked: list[str], plain: bool) -> Read | None:
    """The items of a whole reply ``buf`` to ``get`` of ``asked``, read by
    position in one pass: each header's fields digit by digit, each value by
    the length its header announces.

    :param buf: the reply, as received.
    :param asked: the keys of the request, in its order (printable ASCII,
        as :func:`caching.key_rules.plain_keys` checks them): memcached
        answers them in that order, so each item's key is matched against
        the next keys asked, with no lookup table.
    :param plain: ``True``: an item of flags 0 is its value (bytes), and
        every other item is left to decode; ``False``: every item found is
        ``(data, flags)``, for a codec.
    :returns: ``(found, others)``; ``None`` when ``buf`` is not exactly such
        a reply (cut short, a ``gets``'s cas, numbers not in plain digits, a
        key not asked or out of order, bytes after ``END``): the caller then
        reads it step by step.
    """
    size = len(buf)
    found: dict[str, object] = {}
    others: list[tuple[str, bytes, int]] = []
    count = len(asked)
    at = 0
    pos = 0
    while size - pos > 5:
        if (
            buf[pos] != 86  # V
            or buf[pos + 1] != 65  # A
            or buf[pos + 2] != 76  # L
            or buf[pos + 3] != 85  # U
            or buf[pos + 4] != 69  # E
            or buf[pos + 5] != 32
        ):
            return None
        start = pos + 6
        end = start
        while end < size:
            char = buf[end]
            if char == 32:
                break
            if char < 33 or char > 126 or end - start >= 250:
                return None
            end += 1
        name = buf[start:end].decode("ascii")
        while at < count and asked[at] != name:
            at += 1
        if at == count:
            return None
        flags, end = _digits(buf, end + 1, 32)
        if flags < 0 or flags > 0xFFFFFFFF:
            return None
        length, end = _digits(buf, end + 1, 13)
        start = end + 2
        end = start + length
        if length < 0 or end + 2 > size or buf[start - 1] != 10:
            return None
        if buf[end] != 13 or buf[end + 1] != 10:
            return None
        data = buf[start:end]
        file_item(found, others, asked[at], data, flags, plain)
        at += 1
        pos = end + 2
    if size - pos != 5 or buf[pos:] != b"END\r\n":
        return None
    return found, others


def file_item(
    found: dict[Any, object],
    others: list[tuple[Any, bytes, int]],
    key: Any,
    data: bytes,
    flags: int,
    plain: bool,
) -> None:
    """Put the item of ``key`` where a :data:`Read` keeps it: ``(data, flags)``
    in ``found`` unless ``plain``; else its bytes in ``found`` when its flags
    are 0 (a ``bytes`` value, no ``loads`` needed), or in ``others``."""
    if not plain:
        found[key] = (data, flags)
    elif flags == 0:
        found[key] = data
    else:
        others.append((key, data, flags))


def _digits(buf: bytes, start: int, stop: int) -> tuple[int, int]:
    """The number in plain digits (as :func:`plain_number`) at ``start`` of
    ``buf``, which must end at a byte ``stop``, and the position of that
    byte; -1 for a number that is not there, has more than 10 digits or a
    leading 0."""
    size = len(buf)
    end = start
    number = 0
    while end < size:
        char = buf[end]
        if char == stop:
            break
        if char < 48 or char > 57 or end - start >= 10:
            return -1, end
        number = number * 10 + char - 48
        end += 1
    if end in (start, size) or (end - start > 1 and buf[start] == 48):
        return -1, end
    return number, end
