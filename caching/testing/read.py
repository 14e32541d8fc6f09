"""get and get_multi (CONTRACT.md, "Methods" and "Keys")."""

from __future__ import annotations

import pytest

from caching.contract import Cache

__all__ = ["ReadTests"]


class ReadTests:
    """The contract's rules on ``get`` and ``get_multi`` (CONTRACT.md, "Methods")."""

    section = "Methods"

    def test_get_misses_with_none(self, cache: Cache) -> None:
        assert cache.get("missing") is None

    def test_get_multi_returns_only_the_keys_found(self, cache: Cache) -> None:
        cache.set_multi({"a": 1, "b": 2})
        assert cache.get_multi(["a", "b", "missing"]) == {"a": 1, "b": 2}

    def test_get_multi_leaves_out_stored_none(self, cache: Cache) -> None:
        cache.set("none", None)
        cache.set("zero", 0)
        assert cache.get_multi(["none", "zero"]) == {"zero": 0}

    def test_get_multi_keys_results_as_the_caller_gave_them(self, cache: Cache) -> None:
        cache.set("k\u00e9", "v")
        found = cache.get_multi(["k\u00e9", "k\u00e9".encode()])
        assert found == {"k\u00e9": "v", "k\u00e9".encode(): "v"}
        assert all(type(key) in (str, bytes) for key in found)

    def test_get_multi_with_a_key_twice(self, cache: Cache) -> None:
        cache.set("a", 1)
        assert cache.get_multi(["a", "a", "missing", "missing"]) == {"a": 1}
        assert cache.get_multi(["a", b"a", "a"]) == {"a": 1, b"a": 1}

    def test_get_multi_of_nothing(self, cache: Cache) -> None:
        assert cache.get_multi([]) == {}

    def test_get_multi_takes_any_iterable(self, cache: Cache) -> None:
        cache.set_multi({"a": 1, "b": 2})
        assert cache.get_multi(key for key in ("a", "b")) == {"a": 1, "b": 2}
        assert cache.get_multi(("a",)) == {"a": 1}

    @pytest.mark.parametrize("single", ["ab", b"ab"])
    def test_get_multi_refuses_a_single_key(self, cache: Cache, single: str | bytes) -> None:
        cache.set("a", 1)
        with pytest.raises(TypeError):
            cache.get_multi(single)  # type: ignore[arg-type]

    def test_str_key_and_its_utf8_bytes_name_one_item(self, cache: Cache) -> None:
        cache.set("caf\u00e9", 1)
        assert cache.get("caf\u00e9".encode()) == 1
        cache.set(b"plain", 2)
        assert cache.get("plain") == 2
        assert cache.delete("caf\u00e9".encode()) is True
        assert cache.get("caf\u00e9") is None

    def test_binary_bytes_keys_are_distinct_items(self, cache: Cache) -> None:
        cache.set(b"\xff\xfe", "binary")
        cache.set("\u00ff\u00fe", "text")
        assert cache.get(b"\xff\xfe") == "binary"
        assert cache.get("\u00ff\u00fe") == "text"
