"""set, add, replace and their _multi forms (CONTRACT.md, "Methods")."""

from __future__ import annotations

from caching.contract import Cache

__all__ = ["StoreTests"]


class StoreTests:
    """The contract's rules on ``set``, ``add``, ``replace`` and their ``_multi``
    forms (CONTRACT.md, "Methods")."""

    section = "Methods"

    def test_set_stores_and_overwrites(self, cache: Cache) -> None:
        assert cache.set("k", "v1") is True
        assert cache.get("k") == "v1"
        assert cache.set("k", "v2") is True
        assert cache.get("k") == "v2"

    def test_add_stores_only_when_missing(self, cache: Cache) -> None:
        assert cache.add("k", "first") is True
        assert cache.add("k", "second") is False
        assert cache.get("k") == "first"

    def test_replace_stores_only_when_present(self, cache: Cache) -> None:
        assert cache.replace("k", "v") is False
        assert cache.get("k") is None
        cache.set("k", "old")
        assert cache.replace("k", "new") is True
        assert cache.get("k") == "new"

    def test_a_stored_none_is_an_item(self, cache: Cache) -> None:
        assert cache.set("k", None) is True
        assert cache.get("k") is None
        assert cache.add("k", "x") is False
        assert cache.replace("k", "y") is True
        assert cache.get("k") == "y"

    def test_set_multi_stores_all(self, cache: Cache) -> None:
        assert cache.set_multi({"a": 1, "b": "two", b"c": [3]}) == []
        assert cache.get_multi(["a", "b", b"c"]) == {"a": 1, "b": "two", b"c": [3]}

    def test_set_multi_of_nothing(self, cache: Cache) -> None:
        assert cache.set_multi({}) == []
        assert cache.add_multi({}) == []
        assert cache.replace_multi({}) == []

    def test_add_multi_lists_the_keys_already_held(self, cache: Cache) -> None:
        cache.set("held", "old")
        cache.set(b"bytes-held", "old")
        not_stored = cache.add_multi({"held": "new", "fresh": "new", b"bytes-held": "new"})
        assert sorted(not_stored, key=repr) == sorted(["held", b"bytes-held"], key=repr)
        assert cache.get("held") == "old"
        assert cache.get("fresh") == "new"

    def test_replace_multi_lists_the_missing_keys(self, cache: Cache) -> None:
        cache.set("held", "old")
        assert cache.replace_multi({"held": "new", "missing": "new"}) == ["missing"]
        assert cache.get("held") == "new"
        assert cache.get("missing") is None

    def test_multi_failure_lists_keys_in_the_callers_form(self, cache: Cache) -> None:
        cache.set("\u00e9t\u00e9", 1)
        assert cache.add_multi({"\u00e9t\u00e9".encode(): 2}) == ["\u00e9t\u00e9".encode()]
        assert cache.add_multi({"\u00e9t\u00e9": 2}) == ["\u00e9t\u00e9"]

    def test_flush_all_drops_every_item(self, cache: Cache) -> None:
        cache.set_multi({"a": 1, "b": 2})
        cache.incr("n", initial_value=5)
        assert cache.flush_all() is True
        assert cache.get_multi(["a", "b", "n"]) == {}
        assert cache.add("a", 3) is True

    def test_every_method_takes_the_contracts_keyword_arguments(self, cache: Cache) -> None:
        assert cache.set("k", 1, time=0, namespace=None) is True
        assert cache.add("a", 1, time=0, namespace=None) is True
        assert cache.replace("k", 2, time=0, namespace=None) is True
        assert cache.set_multi({"m": 1}, time=0, namespace=None) == []
        assert cache.add_multi({"m": 1}, time=0, namespace=None) == ["m"]
        assert cache.replace_multi({"m": 2}, time=0, namespace=None) == []
        assert cache.get("k", namespace=None) == 2
        assert cache.get_multi(["k", "m"], namespace=None) == {"k": 2, "m": 2}
        assert cache.incr("n", delta=2, namespace=None, initial_value=0) == 2
        assert cache.decr("n", delta=1, namespace=None, initial_value=0) == 1
        assert cache.delete("k", seconds=0, namespace=None) is True
        assert cache.delete_multi(["m"], seconds=0, namespace=None) is True
