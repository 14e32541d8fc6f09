"""One value format for the three adapters (``caching.adapters.serializer``): an item
written through any adapter reads back equal, with its type, through every
adapter, by ``get`` and by ``get_multi`` (with ``str`` keys, which go to the
library as they are, and with ``bytes`` keys), counters included."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from caching.adapters.base import MemcachedAdapter
from caching.testing.values import Point
from tests import servers
from tests.adapters.conftest import NAMES, builder
from tests.adapters.test_serializer import FORMAT

pytestmark = pytest.mark.memcached


VALUES: list[Any] = [
    "text",
    "",
    "12",
    " 7",
    "-1",
    "_x",
    "01",
    "\u00e9t\u00e9 \u2603",
    "\ud800",  # no UTF-8 form: pickled
    "_\ud800",  # ... and quoted
    "1\ud800",
    b"bytes",
    b"",
    b"12",
    b"\t3",
    b"_x",
    b"01",
    b"\x00\xff",
    0,
    1,
    2,
    2**64 - 1,
    2**64,
    -1,
    True,
    False,
    1.0,
    1.5,
    None,
    [1, "two"],
    {"a": 1},
    (1, 2),
    {1, 2},
    frozenset(),
    Point(1, 2.5),
]


@pytest.fixture(scope="module")
def adapters(memcached_server: servers.Server) -> dict[str, MemcachedAdapter]:
    return {name: builder(name)(memcached_server.address, timeout=5.0) for name in NAMES}


def _same(got: Any, value: Any) -> bool:
    return bool(got == value) and type(got) is type(value)


@pytest.mark.parametrize("writer", NAMES)
def test_every_adapter_reads_what_any_adapter_wrote(
    writer: str, adapters: dict[str, MemcachedAdapter]
) -> None:
    prefix = f"across-{uuid.uuid4().hex}"
    items = {f"{prefix}-{i}": value for i, value in enumerate(VALUES)}
    for key, value in items.items():
        assert adapters[writer].set(key, value) is True, (key, value)
    found = {key: value for key, value in items.items() if value is not None}
    for reader, adapter in adapters.items():
        for key, value in items.items():
            assert _same(adapter.get(key), value), (writer, reader, value)
        by_str = adapter.get_multi(list(items))
        by_bytes = adapter.get_multi([key.encode() for key in items])
        assert by_str.keys() == found.keys(), (writer, reader)
        assert by_bytes.keys() == {key.encode() for key in found}, (writer, reader)
        for key, value in found.items():
            assert _same(by_str[key], value), (writer, reader, value)
            assert _same(by_bytes[key.encode()], value), (writer, reader, value)


@pytest.mark.parametrize("writer", NAMES)
def test_counted_items_read_back_as_ints_everywhere(
    writer: str, adapters: dict[str, MemcachedAdapter]
) -> None:
    prefix = f"counted-{uuid.uuid4().hex}"
    adapter = adapters[writer]
    counted = {
        f"{prefix}-bool": (True, 1, 2),  # b"01" counted: b"2"
        f"{prefix}-false": (False, 1, 1),  # b"00" counted: b"1 " (padded)
        f"{prefix}-padded": (100, -1, 99),  # decr pads: b"99 "
        f"{prefix}-zero": (1, -1, 0),  # b"0"
    }
    for key, (value, delta, expected) in counted.items():
        assert adapter.set(key, value) is True
        counted_value = adapter.incr(key, delta) if delta > 0 else adapter.decr(key, -delta)
        assert counted_value == expected
    assert adapter.incr(f"{prefix}-created", initial_value=0) == 1
    expected_values = {key: expected for key, (_, _, expected) in counted.items()}
    expected_values[f"{prefix}-created"] = 1
    for reader, other in adapters.items():
        for key, value in expected_values.items():
            assert _same(other.get(key), value), (writer, reader, key)
        assert other.get_multi(list(expected_values)) == expected_values, (writer, reader)
        assert all(type(v) is int for v in other.get_multi(list(expected_values)).values())


@pytest.mark.parametrize(("value", "item"), FORMAT, ids=repr)
def test_items_put_on_the_wire_read_back_through_every_adapter(
    value: Any,
    item: tuple[bytes, int],
    adapters: dict[str, MemcachedAdapter],
    memcached_server: servers.Server,
) -> None:
    # The pinned format, stored by a raw command: what each library's own
    # decoder makes of it (pylibmc's is in C) is the value, with its type.
    key = f"wire-{uuid.uuid4().hex}"
    data, flags = item
    line = f"set {key} {flags} 0 {len(data)}\r\n".encode() + data
    assert servers.command(memcached_server.address, line) == b"STORED\r\n"
    for reader, adapter in adapters.items():
        assert _same(adapter.get(key), value), (reader, item)
        assert _same(adapter.get_multi([key, "missing"])[key], value), (reader, item)
