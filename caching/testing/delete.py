"""delete and delete_multi (CONTRACT.md, "Methods")."""

from __future__ import annotations

from caching.contract import Cache

__all__ = ["DeleteTests"]


class DeleteTests:
    """The contract's rules on ``delete`` and ``delete_multi`` (CONTRACT.md, "Methods")."""

    section = "Methods"

    def test_delete_reports_whether_an_item_was_removed(self, cache: Cache) -> None:
        cache.set("k", "v")
        assert cache.delete("k") is True
        assert cache.get("k") is None
        assert cache.delete("k") is False

    def test_delete_accepts_and_ignores_seconds(self, cache: Cache) -> None:
        cache.set("k", "v")
        assert cache.delete("k", 0) is True
        cache.set("k", "v")
        assert cache.delete("k", seconds=10) is True
        assert cache.add("k", "again") is True

    def test_delete_multi_is_true_whether_or_not_keys_existed(self, cache: Cache) -> None:
        cache.set_multi({"a": 1, "b": 2, "keep": 3})
        assert cache.delete_multi(["a", "b", "never-there"]) is True
        assert cache.get_multi(["a", "b", "keep"]) == {"keep": 3}
        assert cache.delete_multi([]) is True
        assert cache.delete_multi(["a"]) is True
