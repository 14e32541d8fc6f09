"""caching.adapters.base.StoredKeys: the bytes key sent for each caller's key,
checked once and remembered (no server needed)."""

from __future__ import annotations

import pytest

from caching import InvalidKeyError
from caching.adapters.base import StoredKeys
from caching.key_rules import Key


def test_stored_key_is_the_utf8_bytes_of_a_str_and_a_bytes_key_as_it_is() -> None:
    stored = StoredKeys(None)
    assert stored["user:1"] == b"user:1"
    assert stored["caf\u00e9"] == "caf\u00e9".encode()
    assert stored[b"raw\xff"] == b"raw\xff"


@pytest.mark.parametrize("key", ["", "a b", "a\r\nflush_all", "x" * 251, "\u00e9" * 126, b"\x00"])
def test_an_invalid_key_raises_every_time_and_is_not_remembered(key: Key) -> None:
    stored = StoredKeys(None)
    for _ in range(2):
        with pytest.raises(InvalidKeyError):
            stored[key]
    assert len(stored) == 0


@pytest.mark.parametrize("key", [1, 1.0, None, bytearray(b"k"), ["k"]], ids=repr)
def test_a_key_of_the_wrong_type_raises_type_error(key: object) -> None:
    stored = StoredKeys(None)
    with pytest.raises(TypeError):
        stored[key]  # type: ignore[index]
    assert len(stored) == 0


def test_a_str_key_and_its_bytes_give_one_stored_key() -> None:
    stored = StoredKeys(None)
    assert stored["k\u00e9"] == stored["k\u00e9".encode()]


def test_key_encode_runs_once_per_distinct_key() -> None:
    calls: list[Key] = []

    def encode(key: Key) -> Key:
        calls.append(key)
        return f"ns:{key!s}"

    stored = StoredKeys(encode)
    assert [stored["a"], stored["b"], stored["a"]] == [b"ns:a", b"ns:b", b"ns:a"]
    assert calls == ["a", "b"]


def test_key_encode_may_turn_an_invalid_key_into_a_valid_one() -> None:
    stored = StoredKeys(lambda key: "h:" + str(len(key)))
    assert stored["with space\r\n" * 30] == b"h:360"


def test_the_memo_is_bounded_and_keeps_answering_after_it_starts_over() -> None:
    stored = StoredKeys(None, size=10)
    keys = [f"k{i}" for i in range(35)]
    for key in keys:
        assert stored[key] == key.encode()
        assert len(stored) <= 10
    assert [stored[key] for key in keys] == [key.encode() for key in keys]
