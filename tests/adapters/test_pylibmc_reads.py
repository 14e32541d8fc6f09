"""The pylibmc adapter's reads on connections of its own
(:mod:`caching.adapters.text_connection`), against a real memcached: values whose
bytes look like the protocol, large values, and several servers."""

from __future__ import annotations

import uuid

import pytest

from caching.adapters.pylibmc import PylibmcAdapter
from tests import servers

pytestmark = pytest.mark.memcached

#: Values whose bytes hold what the reply's own lines hold.
TRICKY = [
    b"a\r\nb",
    b"x\r\nEND\r\n",
    b"x\r\nVALUE other 0 1\r\nz",
    b"\r\n",
    b"xEND",
    b"x" * 70_000 + b"\r\nEND\r\n",  # past one receive
    b"y" * 900_000,
    b"v\r\n" * 1000,
]


@pytest.mark.parametrize("settings", [{}, {"secret": "s"}, {"serializer": "json"}])
def test_values_that_look_like_the_protocol_read_back(
    settings: dict[str, str], memcached_server: servers.Server
) -> None:
    adapter = PylibmcAdapter(memcached_server.address, timeout=5.0, **settings)
    keys = [f"reads:{uuid.uuid4().hex}" for _ in TRICKY]
    plain = [f"reads:{uuid.uuid4().hex}" for _ in range(5)]
    assert adapter.set_multi(dict(zip(keys, TRICKY, strict=True))) == []
    assert adapter.set_multi(dict.fromkeys(plain, "plain")) == []
    for key, value in zip(keys, TRICKY, strict=True):
        assert adapter.get(key) == value
    asked = [plain[0], *keys[:4], plain[1], "reads:missing", *keys[4:], *plain[2:]]
    expected = {**dict(zip(keys, TRICKY, strict=True)), **dict.fromkeys(plain, "plain")}
    assert adapter.get_multi(asked) == expected
    assert adapter.get(plain[0]) == "plain"  # still in step


def test_several_servers_read_each_key_where_libmemcached_put_it() -> None:
    one, two = servers.memcached(), servers.memcached()
    with servers.running(one), servers.running(two):
        adapter = PylibmcAdapter([one.address, two.address], timeout=5.0)
        keys = [f"reads:{i}" for i in range(200)]
        assert adapter.set_multi({key: key.encode() + b"\r\n" for key in keys}) == []
        assert 0 < servers.item_count(one) < 200  # spread over both
        assert servers.item_count(one) + servers.item_count(two) == 200
        assert adapter.get_multi(keys) == {key: key.encode() + b"\r\n" for key in keys}
        assert [adapter.get(key) for key in keys] == [key.encode() + b"\r\n" for key in keys]
        two.stop()
        found = adapter.get_multi(keys)  # the keys of the one left still come back
        assert len(found) == servers.item_count(one)
        assert all(found[key] == key.encode() + b"\r\n" for key in found)


def test_the_one_item_read_gives_every_flags_and_length_past_its_memos(
    memcached_server: servers.Server,
) -> None:
    # The single-key read takes flags and lengths from bounded memos (256
    # flags, 4,096 lengths): past them, and for flags no adapter writes, the
    # item still comes back whole, with its own flags; gets gives its cas.
    from caching.adapters.text_connection import TextConnection

    connection = TextConnection(memcached_server.address, 1.0, 5.0)
    prefix = uuid.uuid4().hex[:8]
    try:
        for i in range(300):
            key = f"{prefix}:flags:{i}".encode()
            flags, data = 2**32 - 1 - i * 7919, b"d" * (5000 + i)
            request = b"set %s %d 0 %d\r\n%s\r\n" % (key, flags, len(data), data)
            assert connection.batch(request, 1) == b"STORED\r\n"
            assert connection.fetch_one(b"get " + key + b"\r\n", key) == (key, data, flags, None)
            found = connection.fetch_one(b"gets " + key + b"\r\n", key)
            assert found is not None
            assert found[:3] == (key, data, flags)
            assert isinstance(found[3], int)
        assert connection.fetch_one(b"get %s:none\r\n" % prefix.encode(), b"x") is None
    finally:
        connection.close()
