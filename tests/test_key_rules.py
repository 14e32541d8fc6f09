"""caching.key_rules and the adapters' inline key check: the fast paths accept
exactly the keys the full rules accept, and give the same bytes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caching.adapters.base import StoredKeys
from caching.errors import InvalidKeyError
from caching.key_rules import MAX_KEY_LENGTH, Key, is_valid_key, key_bytes, plain_keys

keys = st.one_of(
    st.text(max_size=260),
    st.text(st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=260),
    st.binary(max_size=260),
)


def _plain(key: object) -> bool:
    return (
        type(key) is str
        and 0 < len(key) <= MAX_KEY_LENGTH
        and all(0x21 <= ord(char) <= 0x7E for char in key)
    )


@pytest.mark.parametrize(
    ("listed", "plain"),
    [
        ([], True),
        (["a", "b:c", "~!@#$%^&*()"], True),
        (["a" * 250], True),
        (["a" * 251], False),
        ([""], False),
        (["a b"], False),
        (["tab\there"], False),
        (["a\r\nflush_all"], False),
        (["del\x7f"], False),
        (["\u00e9"], False),  # valid, but not as it is: its bytes differ
        ([b"a"], False),
        (["a", b"a"], False),
        ([1], False),
        ([None], False),
        # more than 64 characters in all: the bytes.translate check
        (["a" * 40, "b" * 40], True),
        (["a" * 40, "b c" + "d" * 40], False),
        (["a" * 70 + "\x7f"], False),
        (["a" * 70 + "\x00"], False),
        (["a" * 70, "x\ty"], False),
        (["a" * 70, "\u00e9"], False),
        (["a" * 70, b"a"], False),
    ],
    ids=repr,
)
def test_plain_keys(listed: list[Key], plain: bool) -> None:
    assert plain_keys(listed) is plain


@given(st.lists(keys, max_size=5))
def test_plain_keys_are_the_printable_ascii_str_keys(listed: list[Key]) -> None:
    assert plain_keys(listed) is all(_plain(key) for key in listed)
    if plain_keys(listed):
        assert all(key_bytes(key) == key.encode() for key in listed)  # type: ignore[union-attr]


@given(st.lists(keys, max_size=5))
def test_plain_keys_of_a_long_batch_are_the_printable_ascii_str_keys(listed: list[Key]) -> None:
    """A batch of more than 64 characters is checked another way
    (docs/PERFORMANCE.md, "Batches of keys"): the same answers."""
    padded = ["p" * 65, *listed]
    assert plain_keys(padded) is all(_plain(key) for key in padded)


#: The adapters' key check, shared by the examples (so that the checked keys
#: it remembers are looked up too).
STORED_KEYS = StoredKeys(None)


@given(keys)
def test_adapter_key_check_is_the_key_rules(key: Key) -> None:
    try:
        expected = key_bytes(key)
    except ValueError as exc:
        with pytest.raises(type(exc)):
            STORED_KEYS[key]
    else:
        assert STORED_KEYS[key] == expected
        assert STORED_KEYS[key] == expected  # remembered


@pytest.mark.parametrize(
    "key", ["k", "a" * 250, b"\x80\xff", "", "a b", "a" * 251, "\ud800", b"\x01", 1, None]
)
def test_is_valid_key_answers_as_key_bytes_decides(key: object) -> None:
    try:
        key_bytes(key)  # type: ignore[arg-type]
    except (InvalidKeyError, TypeError):
        expected = False
    else:
        expected = True
    assert is_valid_key(key) is expected


@pytest.mark.parametrize("key", [1, None, 1.5, ("a",)], ids=repr)
def test_a_key_of_another_type_raises_the_rules_own_type_error(key: object) -> None:
    """The key rules' message names the type (a compiled module's argument
    check would raise its own, naming the annotation instead)."""
    from caching import MemoryCache

    message = f"cache key must be str or bytes, not {type(key).__name__}"
    with pytest.raises(TypeError, match=f"^{message}$"):
        key_bytes(key)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=f"^{message}$"):
        MemoryCache().get(key)  # type: ignore[arg-type]
    assert plain_keys([key]) is False  # type: ignore[list-item]
    assert plain_keys((key,)) is False  # type: ignore[arg-type]
