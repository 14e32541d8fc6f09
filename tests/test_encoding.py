"""Key encoders: every shipped encoder yields keys valid on every backend."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from caching.encoding import base64_encode, encode_keys, hash_encode, string_encode
from caching.key_rules import key_bytes

ANY_KEY = st.one_of(st.text(), st.binary())
ENCODERS = [string_encode, base64_encode, hash_encode(hashlib.sha1), hash_encode(hashlib.sha256)]


@given(ANY_KEY)
def test_every_encoder_yields_a_valid_key(key: str | bytes) -> None:
    for encode in ENCODERS:
        key_bytes(encode(key))  # raises InvalidKeyError if not


@given(ANY_KEY, ANY_KEY)
def test_string_encode_keeps_distinct_keys_distinct(a: str | bytes, b: str | bytes) -> None:
    def raw(key: str | bytes) -> bytes:
        return key.encode("utf-8", "surrogatepass") if isinstance(key, str) else key

    if raw(a) != raw(b) and len(string_encode(a)) < 200 and len(string_encode(b)) < 200:
        assert string_encode(a) != string_encode(b)


def test_string_encode_is_readable() -> None:
    assert string_encode("user:42") == b"user:42"
    assert string_encode("a b%") == b"a%20b%25"
    assert string_encode("caf\u00e9") == "caf\u00e9".encode()
    assert string_encode("x" * 300).startswith(b"sha1:")


def test_hash_encode_is_the_hex_digest() -> None:
    assert hash_encode(hashlib.sha1)("my key") == hashlib.sha1(b"my key").hexdigest().encode()


def test_base64_encode() -> None:
    assert base64_encode("my key") == b"bXkga2V5"
    assert base64_encode("").startswith(b"sha1:")


def test_encode_keys_maps_back_to_the_callers_keys() -> None:
    keys, mapping = encode_keys({"k1": 1, "k2": 2}, string_encode)
    assert keys == {b"k1": "k1", b"k2": "k2"}
    assert mapping == {b"k1": 1, b"k2": 2}
