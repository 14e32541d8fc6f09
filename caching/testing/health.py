"""``ping()`` (CONTRACT.md, "Health")."""

from __future__ import annotations

from caching.contract import Cache

__all__ = ["HealthTests"]


class HealthTests:
    """The contract's health call on a live backend (CONTRACT.md, "Health")."""

    section = "Health"

    def test_ping_gives_each_servers_round_trip_in_seconds(self, cache: Cache) -> None:
        answers = cache.ping()
        assert isinstance(answers, dict)
        assert answers, "ping() names at least one server"
        for server, seconds in answers.items():
            assert isinstance(server, str)
            assert server
            assert isinstance(seconds, float), f"{server} did not answer: {seconds!r}"
            assert 0.0 <= seconds < 60.0

    def test_ping_changes_nothing(self, cache: Cache) -> None:
        cache.set("k", "v")
        cache.ping()
        assert cache.get("k") == "v"
        assert cache.get_multi(["k", "caching-ping"]) == {"k": "v"}
