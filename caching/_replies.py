"""The split of a whole ``get`` reply into its items, compiled with mypyc.

:meth:`caching.adapters.text_connection.TextConnection.fetch` reads the
common reply of a ``get`` of many keys, whole in one receive and with no
value holding ``\\r\\n``, through :func:`split_reply`: one C loop over the
reply's lines (docs/PERFORMANCE.md, "pylibmc's reads"). Where ``setup.py``
did not compile this module, the same source runs as Python.

The text protocol's reply to ``get k1 k2 ...`` is, per item found,
``VALUE <key> <flags> <bytes>\\r\\n<data>\\r\\n``, then ``END\\r\\n``.
"""

from __future__ import annotations

__all__ = ["Found", "plain_number", "split_reply"]

#: An item as read: ``(key, data, flags, cas)``, ``cas`` ``None`` for ``get``.
Found = tuple[bytes, bytes, int, "int | None"]

_VALUE = b"VALUE"


def plain_number(text: bytes) -> int:
    """``text`` as memcached writes a number (plain digits, no leading 0
    but in ``0`` itself); -1 for any other text."""
    if not text.isdigit() or (len(text) > 1 and text[0] == 48):  # b"0"
        return -1
    return int(text)


def split_reply(buf: bytes) -> list[Found] | None:
    """The items of a whole reply ``buf`` (ending ``\\r\\nEND\\r\\n``) whose
    values hold no ``\\r\\n``, split in one pass.

    :param buf: the reply, as received.
    :returns: the items in the server's order; ``None`` when a line's
        length is not what its header announced (a value holding
        ``\\r\\n``, a reply cut short) or a header is not a ``get`` item's
        with numbers in plain digits: the caller then reads the reply step
        by step. (Each value's first line is shorter than announced when
        the value holds ``\\r\\n``, so a split that matches every header is
        the reply.)
    """
    lines = buf.split(b"\r\n")
    count = len(lines) - 2  # END, and the empty rest after it
    if count < 0 or count % 2:
        return None
    found: list[Found] = []
    flag_values: dict[bytes, int] = {}
    for index in range(0, count, 2):
        parts = lines[index].split(b" ")
        if len(parts) != 4 or parts[0] != _VALUE:
            return None
        data = lines[index + 1]
        if plain_number(parts[3]) != len(data):
            return None
        text = parts[2]
        flags = flag_values.get(text, -1)
        if flags < 0:
            flags = plain_number(text)
            if flags < 0:
                return None
            flag_values[text] = flags
        found.append((parts[1], data, flags, None))
    return found
