"""caching.adapters.serializer.Codec: the bytes and flags of serializer=,
secret= and compress_over=, pinned (other processes read them), without a
server."""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import logging
import os
import re
import sys
import zlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caching.adapters.serializer import (
    FLAG_BOOL,
    FLAG_BYTES,
    FLAG_INT,
    FLAG_JSON,
    FLAG_MSGPACK,
    FLAG_PICKLE,
    FLAG_SIGNED,
    FLAG_STR,
    FLAG_ZLIB,
    FLAG_ZSTD,
    TAG_SIZE,
    BadItemError,
    Codec,
    RefusalLog,
    dumps,
)
from caching.errors import MissingExtraError

KEY = b"user:1"


def test_the_default_codec_is_the_plain_format() -> None:
    codec = Codec()
    assert codec.plain
    for value in ["text", b"x", 5, True, [1], 1.5]:
        assert codec.dumps(KEY, value) == dumps(value)
    assert not Codec(serializer="json").plain
    assert not Codec(secret="s").plain
    assert not Codec(compress_over=0).plain


def test_json_items() -> None:
    codec = Codec(serializer="json")
    assert codec.dumps(KEY, [1, b"\x00", (2,)]) == (b'[1,{"$bytes":"AA=="},[2]]', FLAG_JSON)
    assert codec.dumps(KEY, {"$bytes": "x"}) == (b'{"$dict":[["$bytes","x"]]}', FLAG_JSON)
    assert codec.dumps(KEY, "text") == (b"text", FLAG_STR)
    assert codec.dumps(KEY, b"raw") == (b"raw", FLAG_BYTES)
    assert codec.dumps(KEY, "12") == (b'"12"', FLAG_JSON)
    assert codec.dumps(KEY, 12) == (b"12", FLAG_INT)
    assert codec.dumps(KEY, False) == (b"00", FLAG_BOOL)
    assert codec.loads(KEY, b'{"a":[1,{"$bytes":"AA=="}]}', FLAG_JSON) == {"a": [1, b"\x00"]}


def test_msgpack_items() -> None:
    msgpack = pytest.importorskip("msgpack")
    codec = Codec(serializer="msgpack")
    data, flags = codec.dumps(KEY, {"a": [1, b"\x00"]})
    assert flags == FLAG_MSGPACK
    assert msgpack.unpackb(data) == {"a": [1, b"\x00"]}
    assert codec.loads(KEY, data, flags) == {"a": [1, b"\x00"]}


def test_the_tag_is_hmac_sha256_over_key_flags_and_payload_at_the_end() -> None:
    codec = Codec(serializer="json", secret="k")
    data, flags = codec.dumps(KEY, [1])
    assert flags == FLAG_JSON | FLAG_SIGNED
    body, tag = data[:-TAG_SIZE], data[-TAG_SIZE:]
    assert body == b"[1]"
    signed = len(KEY).to_bytes(2, "big") + KEY + flags.to_bytes(4, "big") + body
    assert tag == hmac.new(b"k", signed, hashlib.sha256).digest()
    assert codec.loads(KEY, data, flags) == [1]
    with pytest.raises(BadItemError, match="wrong tag"):
        codec.loads(b"user:2", data, flags)


def _reference_tag(secret: bytes, key: bytes, flags: int, body: bytes) -> bytes:
    """The tag as the format defines it, by the stdlib's hmac alone."""
    signed = len(key).to_bytes(2, "big") + key + flags.to_bytes(4, "big") + body
    return hmac.new(secret, signed, hashlib.sha256).digest()


_LONG_SECRET = b"s" * 100  # longer than SHA-256's block: hashed first (RFC 2104)


@pytest.mark.parametrize(
    ("settings", "key", "value"),
    [
        ({}, KEY, b"v" * 100),  # bytes
        ({}, KEY, "text"),  # str
        ({}, KEY, "12"),  # quoted str
        ({}, KEY, 1.5),  # pickle
        ({}, KEY, b"12"),  # pickled bytes
        ({}, b"k" * 250, b"longest key"),  # the longest memcached key
        ({}, b"k" * 300, b"longer key"),  # a key past the table of lengths
        ({"compress_over": 10}, KEY, b"z" * 500),  # zlib
        ({"serializer": "json"}, KEY, [1, b"\x00"]),
        ({"secret": _LONG_SECRET}, KEY, b"v" * 100),
        ({"secret": ["new", "old"]}, KEY, b"v" * 100),  # the first signs
    ],
)
def test_signed_items_keep_the_format(settings: dict[str, Any], key: bytes, value: Any) -> None:
    # Items written before (by any version, by any adapter) must still read
    # back: the tag is pinned to the stdlib's hmac over the same bytes.
    secret = settings.pop("secret", "k")
    codec = Codec(secret=secret, **settings)
    data, flags = codec.dumps(key, value)
    first = secret[0] if isinstance(secret, list) else secret
    first = first.encode() if isinstance(first, str) else first
    assert flags & FLAG_SIGNED
    body, tag = data[:-TAG_SIZE], data[-TAG_SIZE:]
    assert tag == _reference_tag(first, key, flags, body)
    assert codec.loads(key, data, flags) == value
    with pytest.raises(BadItemError, match="wrong tag"):
        codec.loads(key + b"x", data, flags)


def test_an_item_signed_with_an_older_secret_reads_while_the_secret_is_listed() -> None:
    body = b"v" * 100
    flags = FLAG_BYTES | FLAG_SIGNED
    item = body + _reference_tag(b"old", KEY, flags, body)
    assert Codec(secret=["new", "old"]).loads(KEY, item, flags) == body
    assert Codec(secret=["new", "older", "old"]).loads(KEY, item, flags) == body
    with pytest.raises(BadItemError, match="wrong tag"):
        Codec(secret=["new", "older"]).loads(KEY, item, flags)


def test_a_well_tagged_item_with_flags_no_codec_writes_is_checked_then_refused() -> None:
    # Flags outside the codec's table of flag words are tagged over the same
    # bytes: the tag holds, and the flags are what refuses the item.
    flags = FLAG_BYTES | FLAG_SIGNED | 1 << 13
    item = b"abc" + _reference_tag(b"k", KEY, flags, b"abc")
    with pytest.raises(BadItemError, match="unknown flags"):
        Codec(secret="k").loads(KEY, item, flags)


_NUMBER = re.compile(rb"[ \t\n\v\f\r]*([+-]?)([0-9]+)")


def _counted_by_memcached(data: bytes) -> bool:
    """Whether memcached's incr takes ``data`` as a number (its safe_strtoull:
    leading digits then a space or the end, not negative, below 2**64)."""
    match = _NUMBER.match(data)
    if match is None or match.group(1) == b"-":
        return False
    rest = data[match.end() :]
    return (not rest or rest[:1] in b" \t\n\v\f\r") and int(match.group(2)) < 2**64


@given(
    st.one_of(
        st.text(), st.binary(), st.floats(), st.integers(), st.lists(st.integers(), max_size=3)
    )
)
def test_only_counters_are_numbers_to_memcached(value: Any) -> None:
    # A signed item whose tag starts with a space after digits must not count.
    for codec in (Codec(secret="k"), Codec(serializer="json", secret="k", compress_over=0)):
        data, flags = codec.dumps(KEY, value)
        counter = flags in (FLAG_INT, FLAG_BOOL)
        assert counter == (type(value) is int and 0 <= value < 2**64)
        assert _counted_by_memcached(data) == counter, data


def test_counters_are_unsigned_and_read_without_a_tag() -> None:
    codec = Codec(serializer="json", secret="k")
    assert codec.dumps(KEY, 42) == (b"42", FLAG_INT)
    assert codec.loads(KEY, b"42", FLAG_INT) == 42
    assert codec.loads(KEY, b"9  ", FLAG_INT) == 9  # memcached pads after a decr
    assert codec.loads(KEY, b"01", FLAG_BOOL) is True
    assert codec.loads(KEY, b"2", FLAG_BOOL) == 2  # a bool the server counted
    for data in (b"-1", b"+1", b" 1", b"1_0", b"\xd9\xa1", b"1" * 21):
        with pytest.raises(BadItemError):
            codec.loads(KEY, data, FLAG_INT)


@pytest.mark.parametrize("serializer", ["json", "msgpack"])
def test_a_pickle_is_never_read_by_a_data_only_serializer(serializer: str) -> None:
    pytest.importorskip("msgpack")
    data, flags = dumps([1])
    assert flags == FLAG_PICKLE
    with pytest.raises(BadItemError, match="a pickle"):
        Codec(serializer=serializer).loads(KEY, data, flags)


def test_compression_marks_the_flags_and_keeps_what_does_not_shrink() -> None:
    codec = Codec(serializer="json", compress_over=100)
    small = codec.dumps(KEY, "a" * 100)
    assert small == (b"a" * 100, FLAG_STR)
    data, flags = codec.dumps(KEY, "a" * 101)
    assert flags == FLAG_STR | FLAG_ZLIB
    assert zlib.decompress(data) == b"a" * 101
    noise = b"\xff" + os.urandom(500)
    assert Codec(compress_over=0).dumps(KEY, noise) == (noise, FLAG_BYTES)
    zstd = pytest.importorskip("zstandard")
    data, flags = Codec(compress_over=0, compressor="zstd").dumps(KEY, "b" * 1000)
    assert flags == FLAG_STR | FLAG_ZSTD
    assert zstd.ZstdDecompressor().decompress(data) == b"b" * 1000


@pytest.mark.parametrize("compressor", ["zlib", "zstd"])
def test_inflating_is_bounded(compressor: str) -> None:
    pytest.importorskip("zstandard")
    writer = Codec(compress_over=0, compressor=compressor)
    data, flags = writer.dumps(KEY, b"\xff" * 2000)
    reader = Codec(max_inflated=1999)
    with pytest.raises(BadItemError, match="inflates past 1999"):
        reader.loads(KEY, data, flags)
    assert Codec(max_inflated=2000).loads(KEY, data, flags) == b"\xff" * 2000


def test_bytes_in_json_are_documented_and_dict_tags_are_escaped() -> None:
    codec = Codec(serializer="json")
    for value in [{"$bytes": b"q"}, {"$dict": {"$bytes": "s"}}, {"$bytes": "x", "y": 1}]:
        data, flags = codec.dumps(KEY, value)
        assert codec.loads(KEY, data, flags) == value
    assert json.loads(codec.dumps(KEY, {"$bytes": "x", "y": 1})[0]) == {"$bytes": "x", "y": 1}


@pytest.mark.parametrize(
    ("module", "extra", "settings"),
    [
        ("msgpack", "msgpack", {"serializer": "msgpack"}),
        ("zstandard", "zstd", {"compress_over": 1, "compressor": "zstd"}),
    ],
)
def test_a_missing_library_names_its_extra(
    module: str, extra: str, settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    with pytest.raises(MissingExtraError, match=rf"caching-toolkit\[{extra}\]") as raised:
        Codec(**settings)
    assert raised.value.extra == extra


def test_refusals_are_logged_once_per_period(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    log = RefusalLog(logging.getLogger("caching.test"), 1.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING):
        assert log.report(b"k", "wrong tag") is True
        assert log.report(b"k", "wrong tag") is False
        now[0] = 1.0
        assert log.report(b"j", "no tag") is True
    assert len(caplog.records) == 2


_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(),
    st.binary(),
)
_DATA = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=8), inner, max_size=4),
    ),
    max_leaves=12,
)

_CODECS = [
    Codec(serializer="json"),
    Codec(serializer="json", secret=["a", "b"], compress_over=8),
    Codec(secret="a", compress_over=0),
]
if importlib.util.find_spec("msgpack") and importlib.util.find_spec("zstandard"):
    _CODECS += [
        Codec(serializer="msgpack", secret="a"),
        Codec(serializer="msgpack", compress_over=0, compressor="zstd"),
    ]


def _as_data(value: Any) -> Any:
    if type(value) in (list, tuple):
        return [_as_data(v) for v in value]
    if type(value) is dict:
        return {k: _as_data(v) for k, v in value.items()}
    return value


@given(_DATA)
def test_the_data_model_round_trips_in_every_mode(value: Any) -> None:
    for codec in _CODECS:
        got = codec.loads(KEY, *codec.dumps(KEY, value))
        expected = value if codec.serializer == "pickle" else _as_data(value)
        assert got == expected, codec
        assert type(got) is type(expected), codec
