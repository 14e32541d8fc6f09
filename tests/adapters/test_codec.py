"""Serializers, signed items and compression on the three adapters, against a
real memcached (issue 13; docs/ADAPTERS.md, "Serializers, signed items,
compression").

Foreign and broken items are written with a raw socket
(:func:`tests.servers.command`), as any host on the cache network could.
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import tracemalloc
import types
import uuid
import zlib
from pathlib import Path
from typing import Any

import pytest

from caching import from_url
from caching.adapters.base import MemcachedAdapter
from caching.adapters.pool import Pool
from caching.adapters.pylibmc import PylibmcAdapter, client_factory
from caching.adapters.serializer import (
    FLAG_BYTES,
    FLAG_INT,
    FLAG_JSON,
    FLAG_PICKLE,
    FLAG_SIGNED,
    FLAG_STR,
    FLAG_ZLIB,
    FLAG_ZSTD,
    TAG_SIZE,
)
from tests import servers
from tests.adapters.conftest import NAMES, builder

pytestmark = pytest.mark.memcached

TIMEOUTS = {"timeout": 5.0}  # python-memcached takes no connect_timeout

#: Settings under test, by name: each one must read back across adapters.
MODES: dict[str, dict[str, Any]] = {
    "json": {"serializer": "json"},
    "msgpack": {"serializer": "msgpack"},
    "pickle-signed": {"secret": "s3cret"},
    "json-signed": {"serializer": "json", "secret": b"\x00key"},
    "msgpack-signed-zstd": {
        "serializer": "msgpack",
        "secret": ["new", "old"],
        "compress_over": 16,
        "compressor": "zstd",
    },
    "pickle-zlib": {"compress_over": 16},
    "json-signed-zlib": {"serializer": "json", "secret": "s", "compress_over": 0},
}

#: The modes that never unpickle.
SAFE_MODES = ["json", "msgpack", "pickle-signed", "json-signed", "msgpack-signed-zstd"]

#: Every type of the json/msgpack data model.
DATA: list[Any] = [
    None,
    True,
    False,
    0,
    7,
    2**64 - 1,
    2**64,
    -(2**70),
    1.5,
    float("inf"),
    "text",
    "",
    "12",
    "_x",
    "\u00e9t\u00e9 \u2603",
    "\ud800",
    b"bytes",
    b"",
    b"12",
    b"\x00\xff",
    [1, "two", [3.0, None]],
    [],
    {"a": 1, "nested": {"b": [b"x", "y"]}},
    {"$bytes": "not bytes"},
    {"$dict": {"$bytes": b"q"}},
    "x" * 5000,
    b"y" * 5000,
    [list(range(100))] * 20,
]


def _adapter(name: str, address: str, **settings: Any) -> MemcachedAdapter:
    return builder(name)(address, **TIMEOUTS, **settings)


def _key(label: str = "k") -> str:
    return f"codec:{label}:{uuid.uuid4().hex}"


def _raw_set(address: str, key: str, data: bytes, flags: int) -> None:
    line = b"set %s %d 0 %d\r\n" % (key.encode(), flags, len(data)) + data
    assert servers.command(address, line) == b"STORED\r\n"


def _raw_get(address: str, key: str) -> tuple[bytes, int] | None:
    """``(data, flags)`` of ``key``'s item as the server holds it."""
    reply = servers.command(address, b"get " + key.encode(), b"END\r\n")
    if reply == b"END\r\n":
        return None
    header, _, rest = reply.partition(b"\r\n")
    _, _, flags, length = header.split(b" ")
    return rest[: int(length)], int(flags)


def _server_bytes(address: str) -> int:
    for line in servers.command(address, b"stats", b"END\r\n").split(b"\r\n"):
        if line.startswith(b"STAT bytes "):
            return int(line.split()[2])
    raise AssertionError("no bytes in stats")


# -- a foreign pickle that would run code -------------------------------------


class _Weapon:
    """Unpickled, it creates the directory ``path`` (code run by a reader)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return os.mkdir, (self.path,)


@pytest.mark.parametrize("name", NAMES)
def test_the_foreign_pickle_runs_code_in_the_default_mode(
    name: str, memcached_server: servers.Server, tmp_path: Path
) -> None:
    # The control: without a secret, pickle items are unpickled (README, "Security").
    marker, key = tmp_path / "ran", _key("weapon")
    _raw_set(memcached_server.address, key, pickle.dumps(_Weapon(str(marker))), FLAG_PICKLE)
    _adapter(name, memcached_server.address).get(key)
    assert marker.exists()


@pytest.mark.parametrize("mode", SAFE_MODES)
@pytest.mark.parametrize("name", NAMES)
def test_a_foreign_pickle_is_a_miss_and_runs_nothing(
    name: str, mode: str, memcached_server: servers.Server, tmp_path: Path
) -> None:
    address = memcached_server.address
    adapter = _adapter(name, address, **MODES[mode])
    marker, weapon, good = tmp_path / "ran", _key("weapon"), _key("good")
    payload = pickle.dumps(_Weapon(str(marker)))
    for flags in (FLAG_PICKLE, FLAG_PICKLE | FLAG_SIGNED, FLAG_PICKLE | 32):
        _raw_set(address, weapon, payload, flags)
        assert adapter.set(good, "kept") is True
        assert adapter.get(weapon) is None
        assert adapter.get_multi([weapon, good]) == {good: "kept"}
        assert adapter.get_multi([weapon.encode(), good.encode()]) == {good.encode(): "kept"}
    assert not marker.exists()


# -- one format across adapters --------------------------------------------------


def _as_data(value: Any) -> Any:
    return [_as_data(v) for v in value] if type(value) in (list, tuple) else value


@pytest.mark.parametrize("writer", NAMES)
@pytest.mark.parametrize("mode", list(MODES))
def test_every_data_type_reads_back_across_adapters(
    mode: str, writer: str, memcached_server: servers.Server
) -> None:
    address = memcached_server.address
    settings = MODES[mode]
    written = _adapter(writer, address, **settings)
    keys = {_key(str(i)): value for i, value in enumerate(DATA)}
    assert written.set_multi(dict(list(keys.items())[:5])) == []
    for key, value in list(keys.items())[5:]:
        assert written.set(key, value) is True
    for reader in NAMES:
        adapter = _adapter(reader, address, **settings)
        for key, value in keys.items():
            got = adapter.get(key)
            assert got == value, (reader, value)
            assert type(got) is type(value), (reader, value)
        expected = {key: value for key, value in keys.items() if value is not None}
        assert adapter.get_multi(list(keys)) == expected, reader


@pytest.mark.parametrize("mode", ["json", "msgpack", "json-signed"])
@pytest.mark.parametrize("name", NAMES)
def test_tuples_come_back_as_lists(name: str, mode: str, memcached_server: servers.Server) -> None:
    adapter, key = _adapter(name, memcached_server.address, **MODES[mode]), _key()
    assert adapter.set(key, (1, ("a", b"b"))) is True
    assert adapter.get(key) == [1, ["a", b"b"]]


@pytest.mark.parametrize(
    "value",
    [{1, 2}, frozenset(), (1, {2}), {"a": object()}, {1: "int key"}, Path("/"), bytearray(b"x")],
    ids=["set", "frozenset", "set-in-tuple", "object-in-dict", "int-key", "path", "bytearray"],
)
@pytest.mark.parametrize("mode", ["json", "msgpack"])
@pytest.mark.parametrize("name", NAMES)
def test_a_type_outside_the_data_model_raises_and_stores_nothing(
    name: str, mode: str, value: Any, memcached_server: servers.Server
) -> None:
    address = memcached_server.address
    adapter, key, other = _adapter(name, address, **MODES[mode]), _key(), _key()
    assert adapter.set(key, "old") is True
    with pytest.raises(TypeError):
        adapter.set(key, value)
    with pytest.raises(TypeError):
        adapter.add(other, value)
    with pytest.raises(TypeError):
        adapter.set_multi({other: "fine", key: value})
    assert adapter.get(key) == "old"
    assert _raw_get(address, other) is None


@pytest.mark.parametrize("mode", ["json", "msgpack-signed-zstd", "json-signed", "pickle-signed"])
@pytest.mark.parametrize("name", NAMES)
def test_counters_count(name: str, mode: str, memcached_server: servers.Server) -> None:
    address = memcached_server.address
    adapter, key, flag, other = _adapter(name, address, **MODES[mode]), _key(), _key(), _key()
    assert adapter.incr(key, 5, initial_value=10) == 15
    assert adapter.decr(key, 3) == 12
    assert adapter.get(key) == 12
    assert adapter.get_multi([key]) == {key: 12}
    assert _raw_get(address, key) == (b"12", FLAG_INT)  # countable: no tag
    assert adapter.set(flag, True) is True
    assert adapter.incr(flag) == 2
    for value in ["text", "12", b"12", 1.5, 0.0, 2**64, -3, [1]]:
        assert adapter.set(other, value) is True
        with pytest.raises(ValueError, match="not an int"):
            adapter.incr(other)
    for reader in NAMES:
        assert _adapter(reader, address, **MODES[mode]).get(key) == 12


# -- signed items -------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_rotation(name: str, memcached_server: servers.Server) -> None:
    address = memcached_server.address
    key = _key()
    assert _adapter(name, address, secret="old").set(key, {"v": 1}) is True
    for reader in NAMES:
        assert _adapter(reader, address, secret=["new", "old"]).get(key) == {"v": 1}
        assert _adapter(reader, address, secret=["new"]).get(key) is None
    assert _adapter(name, address, secret=["new", "old"]).set(key, [2]) is True
    assert _adapter(name, address, secret="new").get(key) == [2]
    assert _adapter(name, address, secret="old").get(key) is None


@pytest.mark.parametrize("mode", ["pickle-signed", "json-signed", "msgpack-signed-zstd"])
@pytest.mark.parametrize("name", NAMES)
def test_a_tampered_item_is_a_miss(name: str, mode: str, memcached_server: servers.Server) -> None:
    address = memcached_server.address
    adapter, key, moved, good = _adapter(name, address, **MODES[mode]), _key(), _key(), _key()
    assert adapter.set(key, "x" * 100) is True
    assert adapter.set(good, "fine") is True
    item = _raw_get(address, key)
    assert item is not None
    data, flags = item
    assert flags & FLAG_SIGNED
    assert len(data) > TAG_SIZE
    _raw_set(address, moved, data, flags)  # a signed item under another key
    assert adapter.get(moved) is None
    tampered = [
        (bytes([data[0] ^ 1]) + data[1:], flags),  # one payload byte
        (data[:-1] + bytes([data[-1] ^ 1]), flags),  # one tag byte
        (data, flags ^ 32),  # the flags
        (data[:-TAG_SIZE], flags & ~FLAG_SIGNED),  # the tag removed
        (data[:-TAG_SIZE], flags),
        (data[-TAG_SIZE:], flags),  # the payload removed
    ]
    for bad_data, bad_flags in tampered:
        _raw_set(address, key, bad_data, bad_flags)
        assert adapter.get(key) is None, (bad_data[:40], bad_flags)
        assert adapter.get_multi([key, good]) == {good: "fine"}


@pytest.mark.parametrize("name", NAMES)
def test_a_refused_item_is_logged_once_per_period(
    name: str, memcached_server: servers.Server, caplog: pytest.LogCaptureFixture
) -> None:
    address = memcached_server.address
    adapter = _adapter(name, address, secret="s", retry_timeout=30.0)
    keys = [_key(), _key()]
    for key in keys:
        _raw_set(address, key, b"forged", FLAG_STR)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            assert adapter.get(keys[0]) is None
            assert adapter.get_multi(keys) == {}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "refused" in warnings[0].getMessage()
    assert "no tag" in warnings[0].getMessage()


# -- foreign and broken items ---------------------------------------------------------


def _gone_class_pickle() -> bytes:
    module = types.ModuleType("caching_test_gone_module")

    class Gone:
        pass

    Gone.__module__ = module.__name__
    Gone.__qualname__ = "Gone"
    module.Gone = Gone  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    try:
        return pickle.dumps(Gone())
    finally:
        del sys.modules[module.__name__]


BOMB_SIZE = 100 * 1024 * 1024

BROKEN: dict[str, tuple[bytes, int]] = {
    "unknown flags": (b"x", 7),
    "unknown high flags": (b"x", 1 << 20),
    "bad utf-8": (b"\xff\xfe", FLAG_STR),
    "bad int": (b"abc", FLAG_INT),
    "big int text": (b"9" * 5000, FLAG_INT),
    "truncated pickle": (pickle.dumps(list(range(100)))[:-5], FLAG_PICKLE),
    "pickle of a missing class": (_gone_class_pickle(), FLAG_PICKLE),
    "bad json": (b"{nope", FLAG_JSON),
    "bad msgpack": (b"\xc1", 1 << 12),
    "zlib bomb": (zlib.compress(b"\0" * BOMB_SIZE, 9), FLAG_ZLIB | FLAG_BYTES),
    "truncated zlib": (zlib.compress(b"abc" * 1000)[:-4], FLAG_ZLIB | FLAG_BYTES),
    "bad zstd": (b"\x28\xb5\x2f\xfd garbage", FLAG_ZSTD | FLAG_BYTES),
}


@pytest.mark.parametrize("case", list(BROKEN))
@pytest.mark.parametrize("mode", ["json", "pickle-zlib", "json-signed"])
@pytest.mark.parametrize("name", NAMES)
def test_a_foreign_or_broken_item_is_a_miss_for_its_key_alone(
    name: str, mode: str, case: str, memcached_server: servers.Server
) -> None:
    address = memcached_server.address
    adapter = _adapter(name, address, **MODES[mode])
    data, flags = BROKEN[case]
    bad, good = _key("bad"), [_key("good") for _ in range(3)]
    _raw_set(address, bad, data, flags)
    assert adapter.set_multi(dict.fromkeys(good, "v")) == []
    tracemalloc.start()
    try:
        assert adapter.get(bad) is None
        assert adapter.get_multi([good[0], bad, *good[1:]]) == dict.fromkeys(good, "v")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024  # the bomb was not inflated
    assert adapter.get(good[0]) == "v"  # the connection is still in step


@pytest.mark.parametrize("name", NAMES)
def test_pylibmcs_own_zlib_flag_is_a_miss(name: str, memcached_server: servers.Server) -> None:
    # Flag 8 is pylibmc's zlib bit, which no codec writes: a miss everywhere.
    # (pylibmc's C code would inflate it first: the adapter reads values itself.)
    address = memcached_server.address
    adapter, key = _adapter(name, address, serializer="json"), _key()
    _raw_set(address, key, zlib.compress(b"plain text"), 8 | FLAG_STR)
    assert adapter.get(key) is None
    assert adapter.get_multi([key]) == {}


# -- compression --------------------------------------------------------------------


@pytest.mark.parametrize("compressor", ["zlib", "zstd"])
@pytest.mark.parametrize("name", NAMES)
def test_a_large_compressible_value_takes_less_server_memory(
    name: str, compressor: str, memcached_server: servers.Server
) -> None:
    address = memcached_server.address
    settings = {"compress_over": 1024, "compressor": compressor, "serializer": "json"}
    adapter, key = _adapter(name, address, **settings), _key()
    value = ("caching toolkit " * 40_000)[:500_000]
    before = _server_bytes(address)
    assert adapter.set(key, value) is True
    grown = _server_bytes(address) - before
    assert grown < len(value) // 10
    item = _raw_get(address, key)
    assert item is not None
    assert item[1] == FLAG_STR | (FLAG_ZLIB if compressor == "zlib" else FLAG_ZSTD)
    for reader in NAMES:
        assert _adapter(reader, address, **settings).get(key) == value
    plain = _adapter(name, address, serializer="json")  # no compress_over: still reads it
    assert plain.get(key) == value


@pytest.mark.parametrize("name", NAMES)
def test_an_incompressible_value_is_stored_plain(
    name: str, memcached_server: servers.Server
) -> None:
    address = memcached_server.address
    adapter, key = _adapter(name, address, serializer="json", compress_over=1024), _key()
    value = b"\xff" + os.urandom(200_000)
    assert adapter.set(key, value) is True
    assert _raw_get(address, key) == (value, FLAG_BYTES)
    assert adapter.get(key) == value


# -- construction ---------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_from_url_takes_the_secret_from_the_environment(
    name: str, memcached_server: servers.Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = memcached_server.address
    monkeypatch.setenv("CACHING_TEST_SECRET", "from-env")
    monkeypatch.setenv("CACHING_TEST_OLD", "older")
    url = f"memcached://{address}?client={name}&serializer=json&secret_env=CACHING_TEST_SECRET"
    cache, key = from_url(url + "&compress_over=10&compressor=zstd"), _key()
    assert cache.set(key, {"a": [1]}) is True
    assert _adapter(name, address, serializer="json", secret="from-env").get(key) == {"a": [1]}
    assert _adapter(name, address, serializer="json", secret="other").get(key) is None
    rotated = from_url(
        f"memcached://{address}?client={name}&secret_env=CACHING_TEST_OLD,CACHING_TEST_SECRET"
        "&serializer=json"
    )
    assert rotated.get(key) == {"a": [1]}
    monkeypatch.delenv("CACHING_TEST_OLD")
    with pytest.raises(ValueError, match="CACHING_TEST_OLD") as raised:
        from_url(f"memcached://{address}?client={name}&secret_env=CACHING_TEST_OLD")
    assert "from-env" not in str(raised.value)
    with pytest.raises(ValueError, match="serializer"):
        from_url(f"memcached://{address}?client={name}&serializer=yaml")


@pytest.mark.parametrize("name", NAMES)
def test_bad_settings_raise(name: str) -> None:
    with pytest.raises(ValueError, match="serializer"):
        builder(name)("127.0.0.1:1", serializer="yaml")
    with pytest.raises(ValueError, match="compressor"):
        builder(name)("127.0.0.1:1", compressor="lz4")
    with pytest.raises(ValueError, match="secret"):
        builder(name)("127.0.0.1:1", secret="")
    with pytest.raises(TypeError, match="secret"):
        builder(name)("127.0.0.1:1", secret=[1])


def test_a_pylibmc_pool_must_decode_as_the_settings_need(
    memcached_server: servers.Server,
) -> None:
    address = memcached_server.address
    plain = Pool(lambda: client_factory(address), 2)
    with pytest.raises(TypeError, match="undecoded=True"):
        PylibmcAdapter(plain, secret="s")
    undecoded = Pool(lambda: client_factory(address, undecoded=True), 2)
    with pytest.raises(TypeError, match="client_factory"):
        PylibmcAdapter(undecoded)
    adapter, key = PylibmcAdapter(undecoded, secret="s"), _key()
    assert adapter.set(key, [1]) is True
    assert adapter.get(key) == [1]


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_item_is_a_miss_for_its_key_alone_in_the_default_format(
    build: Any, case: str, memcached_server: servers.Server, caplog: pytest.LogCaptureFixture
) -> None:
    # One broken item in a get_multi of 100 keys: the 99 others come back
    # (pylibmc read them in C before, which raised for the whole call).
    address = memcached_server.address
    adapter = build(address, **TIMEOUTS)
    data, flags = BROKEN[case]
    keys = [_key("k") for _ in range(100)]
    bad, good = keys[37], keys[:37] + keys[38:]
    assert adapter.set_multi({key: f"v{i}" for i, key in enumerate(good)}) == []
    _raw_set(address, bad, data, flags)
    with caplog.at_level(logging.WARNING):
        assert adapter.get(bad) is None
        found = adapter.get_multi(keys)
    assert len(found) == 99
    assert found == {key: f"v{i}" for i, key in enumerate(good)}
    assert adapter.get(good[0]) == "v0"  # the connection is still in step
    assert any("refused" in r.getMessage() for r in caplog.records)


#: Flags of a compressed bomb under pylibmc's own zlib bit (8), alone and with
#: the bits a reader might take it for.
BOMB_FLAGS = {
    "8": 8,
    "8+pickle": 8 | FLAG_PICKLE,
    "8+str": 8 | FLAG_STR,
    "8+pickle+signed": 8 | FLAG_PICKLE | FLAG_SIGNED,
    "8+zlib+signed+json": 8 | FLAG_ZLIB | FLAG_SIGNED | FLAG_JSON,
}

#: Settings of the pylibmc adapter the bomb is read under (the default first).
BOMB_MODES = ["default", "json", "pickle-signed", "pickle-zlib", "json-signed-zlib"]

_BOMB_RUN = """
import resource, sys
sys.path.insert(0, {root!r})
from caching.adapters.pylibmc import PylibmcAdapter

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux

modes, bombs = {modes!r}, {bombs!r}
adapters = [PylibmcAdapter({address!r}, timeout=5.0, **settings) for settings in modes]
for adapter in adapters:  # connected, with every module loaded, before the baseline
    adapter.set("bomb:good", "v")
    adapter.get_multi(["bomb:good", "bomb:other"])
before = peak()
wrong = []
for settings, adapter in zip(modes, adapters):
    assert adapter.set("bomb:good", "v") is True
    for key in bombs:
        if adapter.get(key) is not None:
            wrong.append(("get", settings, key))
        if adapter.get_multi(["bomb:good", key]) != {{"bomb:good": "v"}}:
            wrong.append(("get_multi", settings, key))
        try:
            adapter.incr(key)  # not a counter: the item is read to tell
            wrong.append(("incr", settings, key))
        except ValueError:
            pass
print("wrong", wrong)
print("grown", peak() - before)
"""


def test_pylibmcs_zlib_flag_is_never_inflated_in_any_mode(
    memcached_server: servers.Server,
) -> None:
    # A bomb (100 MiB of zeros, about 100 KiB compressed) under pylibmc's own
    # zlib flag: pylibmc's C code inflated it inside get, whatever the
    # adapter's settings. Read in a fresh process, whose peak RSS tells.
    address = memcached_server.address
    bomb = BROKEN["zlib bomb"][0]
    assert len(bomb) < 200 * 1024
    bombs = {}
    for label, flags in BOMB_FLAGS.items():
        bombs[label] = _key(f"bomb-{label}")
        _raw_set(address, bombs[label], bomb, flags)
    modes = [{} if mode == "default" else MODES[mode] for mode in BOMB_MODES]
    root = str(Path(__file__).parents[2])
    source = _BOMB_RUN.format(root=root, modes=modes, bombs=list(bombs.values()), address=address)
    run = subprocess.run(
        [sys.executable, "-c", source], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr[-2000:]
    wrong, grown = run.stdout.splitlines()[-2:]
    assert wrong == "wrong []"
    assert int(grown.split()[1]) < 32 * 1024 * 1024, grown  # the bomb is 100 MiB


@pytest.mark.parametrize("mode", ["default", "json", "pickle-signed"])
def test_pylibmcs_zlib_bomb_is_logged_once_per_period(
    mode: str, memcached_server: servers.Server, caplog: pytest.LogCaptureFixture
) -> None:
    address = memcached_server.address
    settings = {} if mode == "default" else MODES[mode]
    adapter = PylibmcAdapter(address, retry_timeout=30, **TIMEOUTS, **settings)
    key = _key("bomb")
    _raw_set(address, key, BROKEN["zlib bomb"][0], 8 | FLAG_PICKLE)
    tracemalloc.start()
    try:
        with caplog.at_level(logging.WARNING, logger="caching.adapters.pylibmc"):
            for _ in range(5):
                assert adapter.get(key) is None
                assert adapter.get_multi([key]) == {}
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024
    refused = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 1, [r.getMessage() for r in caplog.records]
    assert refused[0].levelno == logging.WARNING


class _ForeignPool:
    """A pool that is not the adapter's own (as wheezy's EagerPool)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def acquire(self) -> Any:
        return self.client

    def get_back(self, client: Any) -> None:
        pass


def test_a_foreign_pylibmc_pool_must_decode_as_the_settings_need(
    memcached_server: servers.Server,
) -> None:
    address, key = memcached_server.address, _key()
    plain = PylibmcAdapter(_ForeignPool(client_factory(address)), secret="s")
    with pytest.raises(TypeError, match="undecoded=True"):
        plain.set(key, 1)  # at first use: the foreign pool's client is read then
    adapter = PylibmcAdapter(_ForeignPool(client_factory(address, undecoded=True)), secret="s")
    assert adapter.set(key, [1]) is True
    assert adapter.get(key) == [1]
    item = _raw_get(address, key)
    assert item is not None
    assert item[1] == FLAG_PICKLE | FLAG_SIGNED
