"""caching.stats.StatsCache: after a scripted mix of calls, every count is
what was done, on MemoryCache, inside a CacheClient, and on each adapter
over a real memcached that is killed in the middle."""

from __future__ import annotations

import pytest

from caching import CacheClient, MemoryCache
from caching.errors import InvalidKeyError
from caching.stats import FIELDS, StatsCache
from tests import servers
from tests.adapters.conftest import NAMES, builder


def counts(stats: StatsCache, namespace: str = "") -> dict[str, tuple[int, int, int, int]]:
    """operation -> (calls, hits, misses, failures)."""
    return {
        op: (int(c["calls"]), int(c["hits"]), int(c["misses"]), int(c["failures"]))
        for op, c in stats.snapshot().get(namespace, {}).items()
    }


def script(stats: StatsCache, namespace: str | None = None) -> None:
    """4 sets, 1 add refused, 3 gets (2 hits), a get_multi of 3 (2 hits),
    2 incr (1 miss), a delete."""
    for key in ("a", "b", "c", "n"):
        assert stats.set(key, 1 if key == "n" else key, 0, namespace)
    assert not stats.add("a", "again", 0, namespace)
    assert stats.get("a", namespace) == "a"
    assert stats.get("b", namespace) == "b"
    assert stats.get("missing", namespace) is None
    assert stats.get_multi(["a", "c", "missing"], namespace) == {"a": "a", "c": "c"}
    assert stats.incr("n", 1, namespace) == 2
    assert stats.incr("no-counter", 1, namespace) is None
    assert stats.delete("b", 0, namespace)


EXPECTED = {
    "set": (4, 0, 0, 0),
    "add": (1, 0, 0, 0),
    "get": (3, 2, 1, 0),
    "get_multi": (1, 2, 1, 0),
    "incr": (2, 1, 1, 0),
    "delete": (1, 0, 0, 0),
}


def test_the_counts_are_what_was_done() -> None:
    stats = StatsCache(MemoryCache())
    script(stats)
    assert counts(stats) == EXPECTED
    snapshot = stats.snapshot()
    assert set(snapshot[""]["get"]) == set(FIELDS)
    assert snapshot[""]["get"]["seconds"] >= snapshot[""]["get"]["max_seconds"] > 0
    stats.reset()
    assert stats.snapshot() == {}


def test_bad_input_raises_and_counts_as_a_call_only() -> None:
    stats = StatsCache(MemoryCache())
    with pytest.raises(InvalidKeyError):
        stats.get("a key with spaces")
    with pytest.raises(TypeError):
        stats.get_multi("abc")
    assert counts(stats) == {"get": (1, 0, 0, 0), "get_multi": (1, 0, 0, 0)}


def test_inside_a_cache_client_per_namespace() -> None:
    first, second = StatsCache(MemoryCache()), StatsCache(MemoryCache())
    client = CacheClient({"users": first, "pages": second}, default_namespace="users")
    script(first, "users")  # type: ignore[arg-type]
    client.get("x", namespace="pages")
    client.get("x")  # routed to the default namespace, which the backend is told
    assert counts(first, "users") == {**EXPECTED, "get": (4, 2, 2, 0)}
    assert counts(second, "pages") == {"get": (1, 0, 1, 0)}
    assert set(first.snapshot()) == {"users"}


@pytest.mark.memcached
@pytest.mark.parametrize("name", NAMES)
def test_failures_are_counted_through_a_killed_server(name: str) -> None:
    server = servers.memcached()
    with servers.running(server):
        stats = StatsCache(builder(name)(server.address))
        script(stats)
        assert counts(stats) == EXPECTED
        server.stop()
        stats.reset()
        assert stats.set("a", "a") is False
        assert stats.get("a") is None
        assert stats.get_multi(["a", "c"]) == {}
        assert stats.incr("n") is None
        with pytest.raises(InvalidKeyError):  # bad input: no failure, no I/O
            stats.get("bad key")
        assert counts(stats) == {
            "set": (1, 0, 0, 1),
            "get": (2, 0, 1, 1),
            "get_multi": (1, 0, 2, 1),
            "incr": (1, 0, 1, 1),
        }
        server.start()
        stats.backend.close()  # type: ignore[attr-defined]
