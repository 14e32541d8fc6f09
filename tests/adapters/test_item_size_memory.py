"""``MemoryCache``'s item size limit is memcached's, as the adapters send the
item: each value 1 byte under the limit is stored and 1 byte over is refused,
by a real memcached (``-I 1m``) through every adapter and by ``MemoryCache``
alike.

memcached counts the key, the data the serializer sends, 59 bytes of header
and 4 more bytes when the flags are not 0; the serializer quotes some str
values with a leading ``"_"``, pickles bytes that start like a number, sends
ints as decimal text and pickles the others (caching/adapters/serializer.py).
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from caching import MemoryCache
from caching.adapters.base import MemcachedAdapter
from caching.memory import DEFAULT_MAX_ITEM_SIZE
from tests import servers
from tests.adapters.conftest import NAMES, Build, builder

pytestmark = pytest.mark.memcached

KEY = "k"
# the data memcached allows with a 1-byte key under -I 1m: 1048516 bytes with
# flags 0, 4 fewer with flags (measured on memcached 1.6 through each adapter)
ROOM = DEFAULT_MAX_ITEM_SIZE - 59 - len(KEY)
ROOM_FLAGGED = ROOM - 4


def _int_of(size: int) -> int:
    """An int beyond 2**64 (so pickled) whose pickle is ``size`` bytes (17 of
    them opcodes, length and frame)."""
    return 1 << (8 * (size - 17) - 2)


# name -> (the largest value that fits, the same grown by 1 byte as sent)
EDGES: dict[str, Callable[[], tuple[Any, Any]]] = {
    "bytes": lambda: (b"y" * ROOM, b"y" * (ROOM + 1)),  # flags 0
    "bytes pickled": lambda: (b"1" * (ROOM_FLAGGED - 9), b"1" * (ROOM_FLAGGED - 8)),
    "str": lambda: ("y" * ROOM_FLAGGED, "y" * (ROOM_FLAGGED + 1)),  # flags 16
    "str quoted": lambda: ("_" * (ROOM_FLAGGED - 1), "_" * ROOM_FLAGGED),  # "_" + text
    "str utf-8": lambda: (
        "\u00e9" * (ROOM_FLAGGED // 2),
        "\u00e9" * (ROOM_FLAGGED // 2) + "y",
    ),
    "list": lambda: (["y" * (ROOM_FLAGGED - 12)], ["y" * (ROOM_FLAGGED - 11)]),  # pickled
    "dict": lambda: ({"a": "y" * (ROOM_FLAGGED - 25)}, {"a": "y" * (ROOM_FLAGGED - 24)}),
    "int pickled": lambda: (_int_of(ROOM_FLAGGED), _int_of(ROOM_FLAGGED + 1)),
}


@pytest.fixture(scope="module")
def adapters(memcached_server: servers.Server) -> Iterator[dict[str, MemcachedAdapter]]:
    built = {name: builder(name)(memcached_server.address, timeout=5.0) for name in NAMES}
    yield built
    for adapter in built.values():
        adapter.close()


@pytest.mark.parametrize("case", list(EDGES))
def test_one_byte_under_the_limit_is_stored_and_one_over_refused_everywhere(
    case: str, adapters: dict[str, MemcachedAdapter]
) -> None:
    fitting, over = EDGES[case]()
    memory = MemoryCache()
    assert memory.set(KEY, fitting) is True
    assert memory.get(KEY) == fitting
    assert memory.set(KEY, over) is False
    assert memory.get(KEY) is None  # a refused set drops the old item
    for name, adapter in adapters.items():
        assert adapter.set(KEY, fitting) is True, name
        assert adapter.set(KEY, over) is False, name
        assert adapter.get(KEY) is None, name


def test_a_1_1_mb_int_is_refused_as_the_adapters_refuse_it(
    adapters: dict[str, MemcachedAdapter],
) -> None:
    big = 1 << (8 * 1_100_000)
    assert MemoryCache().set(KEY, big) is False
    assert MemoryCache().set(KEY, 10**1_000_000) is True  # about 415 KB pickled
    for name, adapter in adapters.items():
        assert adapter.set(KEY, big) is False, name


def test_ints_count_as_decimal_text_with_flags() -> None:
    # 59 + key + digits + 4 (flags 2): a 3-digit counter fits 67 bytes with a 1-byte key
    cache = MemoryCache(max_item_size=59 + 1 + 3 + 4)
    assert cache.set(KEY, 999) is True
    assert cache.set(KEY, 1000) is False
    assert cache.set(KEY, b"abcdefg") is True  # flags 0: 7 bytes
    assert cache.set(KEY, b"abcdefgh") is False


class _Level(enum.IntEnum):
    LOW = 3


def test_incr_of_an_int_subclass_raises_on_memory() -> None:
    cache = MemoryCache()
    cache.set("level", _Level.LOW)
    with pytest.raises(ValueError, match="_Level"):
        cache.incr("level")
    assert cache.get("level") is _Level.LOW


@pytest.mark.parametrize("name", ["pylibmc", "pymemcache", "python-memcached"])
def test_incr_of_an_int_subclass_raises_on_the_adapter_as_on_memory(
    name: str, adapters: dict[str, MemcachedAdapter]
) -> None:
    adapter = adapters[name]
    adapter.set("level", _Level.LOW)
    with pytest.raises(ValueError, match="not an int"):
        adapter.incr("level")
    assert adapter.get("level") == _Level.LOW


@pytest.mark.parametrize("method", ["set_multi", "add_multi", "replace_multi"])
def test_a_batch_with_an_unpicklable_value_stores_nothing_anywhere(
    method: str, build: Build, memcached_server: servers.Server
) -> None:
    adapter = build(memcached_server.address, timeout=5.0)
    for cache in (MemoryCache(), adapter):
        cache.delete_multi(["a", "b"])
        if method == "replace_multi":
            cache.set_multi({"a": 0, "b": 0})
        with pytest.raises(TypeError):
            getattr(cache, method)({"a": 1, "b": threading.Lock()})
        assert cache.get("a") == (0 if method == "replace_multi" else None)
