"""Key rules (CONTRACT.md, "Keys"): every backend refuses what memcached would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from caching import InvalidKeyError
from caching.contract import Cache

VALID = ["k", "a" * 250, b"b" * 250, "\u00e9" * 125, "\u2603", b"\x80\xff", "~!@#$%^&*()"]
INVALID = [
    "",
    b"",
    "a b",
    "tab\there",
    "a\r\nflush_all",
    "x\r\nset injected 0 0 1\r\nZ",
    "nul\x00",
    "del\x7f",
    b"\x01",
    "a" * 251,
    b"b" * 251,
    "\u00e9" * 126,  # 252 bytes in UTF-8
    "\ud800",  # a lone surrogate has no UTF-8 form
]

CALLS: dict[str, Callable[[Cache, Any], Any]] = {
    "set": lambda c, k: c.set(k, 1),
    "add": lambda c, k: c.add(k, 1),
    "replace": lambda c, k: c.replace(k, 1),
    "get": lambda c, k: c.get(k),
    "delete": lambda c, k: c.delete(k),
    "incr": lambda c, k: c.incr(k, initial_value=0),
    "decr": lambda c, k: c.decr(k, initial_value=0),
    "set_multi": lambda c, k: c.set_multi({"ok": 1, k: 1}),
    "add_multi": lambda c, k: c.add_multi({"ok": 1, k: 1}),
    "replace_multi": lambda c, k: c.replace_multi({"ok": 1, k: 1}),
    "get_multi": lambda c, k: c.get_multi(["ok", k]),
    "delete_multi": lambda c, k: c.delete_multi(["ok", k]),
}

__all__ = ["KeyTests"]


class KeyTests:
    """The contract's rules on the key rules (CONTRACT.md, "Keys")."""

    section = "Keys"

    @pytest.mark.parametrize("key", VALID, ids=repr)
    def test_valid_keys_round_trip(self, cache: Cache, key: str | bytes) -> None:
        assert cache.set(key, "v") is True
        assert cache.get(key) == "v"
        assert cache.get_multi([key]) == {key: "v"}
        assert cache.delete(key) is True

    @pytest.mark.parametrize("call", CALLS, ids=str)
    @pytest.mark.parametrize("key", INVALID, ids=repr)
    def test_invalid_key_raises_before_anything_happens(
        self, cache: Cache, call: str, key: str | bytes
    ) -> None:
        cache.set("ok", "kept")
        with pytest.raises(InvalidKeyError):
            CALLS[call](cache, key)
        assert cache.get("ok") == "kept"

    @pytest.mark.parametrize("call", CALLS, ids=str)
    @pytest.mark.parametrize("key", [1, 1.5, None, ("t",), bytearray(b"k")], ids=repr)
    def test_key_of_another_type_raises_type_error(
        self, cache: Cache, call: str, key: object
    ) -> None:
        with pytest.raises(TypeError):
            CALLS[call](cache, key)

    def test_invalid_key_error_is_a_value_error(self) -> None:
        assert issubclass(InvalidKeyError, ValueError)

    def test_injected_command_creates_nothing(self, cache: Cache) -> None:
        with pytest.raises(InvalidKeyError):
            cache.set("x\r\nset injected 0 0 1\r\nZ", "v")
        assert cache.get("injected") is None
        assert cache.set("after", "fine") is True
        assert cache.get("after") == "fine"
