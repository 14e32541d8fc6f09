"""incr and decr (CONTRACT.md, "Counters")."""

from __future__ import annotations

import pytest

from caching.contract import Cache

MAX = 2**64 - 1

__all__ = ["CounterTests"]


class CounterTests:
    """The contract's rules on ``incr`` and ``decr`` (CONTRACT.md, "Counters")."""

    section = "Counters"

    def test_missing_counter_is_none_and_not_created(self, cache: Cache) -> None:
        assert cache.incr("n") is None
        assert cache.decr("n") is None
        assert cache.get("n") is None

    def test_incr_and_decr_return_the_new_value(self, cache: Cache) -> None:
        cache.set("n", 10)
        assert cache.incr("n") == 11
        assert cache.incr("n", 5) == 16
        assert cache.decr("n") == 15
        assert cache.decr("n", 10) == 5
        assert cache.incr("n", 0) == 5

    def test_counter_reads_back_as_an_int(self, cache: Cache) -> None:
        cache.set("n", 100)
        assert cache.decr("n") == 99  # memcached pads the text to "99 "
        value = cache.get("n")
        assert value == 99
        assert type(value) is int

    def test_initial_value_creates_then_applies_delta(self, cache: Cache) -> None:
        assert cache.incr("up", namespace=None, initial_value=0) == 1
        assert cache.incr("up", initial_value=100) == 2
        assert cache.decr("down", initial_value=10) == 9
        assert cache.incr("big", 5, initial_value=10) == 15
        assert cache.get_multi(["up", "down", "big"]) == {"up": 2, "down": 9, "big": 15}

    def test_incr_wraps_at_2_to_the_64(self, cache: Cache) -> None:
        cache.set("n", MAX)
        assert cache.incr("n") == 0
        cache.set("n", MAX - 1)
        assert cache.incr("n", 3) == 1
        assert cache.incr("fresh", initial_value=MAX) == 0

    def test_decr_stops_at_zero(self, cache: Cache) -> None:
        cache.set("n", 3)
        assert cache.decr("n", 10) == 0
        assert cache.decr("n") == 0
        assert cache.decr("fresh", 5, initial_value=2) == 0

    def test_bool_counts_as_int(self, cache: Cache) -> None:
        cache.set("n", True)
        assert cache.incr("n") == 2

    @pytest.mark.parametrize("delta", [-1, 1.5, "1", None, 2**64])
    def test_bad_delta_raises_value_error(self, cache: Cache, delta: object) -> None:
        cache.set("n", 1)
        with pytest.raises(ValueError, match="delta"):
            cache.incr("n", delta)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="delta"):
            cache.decr("n", delta)  # type: ignore[arg-type]
        assert cache.get("n") == 1

    @pytest.mark.parametrize("initial", [-1, 1.0, "0", 2**64])
    def test_bad_initial_value_raises_value_error(self, cache: Cache, initial: object) -> None:
        with pytest.raises(ValueError, match="initial_value"):
            cache.incr("n", initial_value=initial)  # type: ignore[arg-type]
        assert cache.get("n") is None

    @pytest.mark.parametrize("value", [1.5, "12", b"12", "abc", -1, 2**64, [1], {"n": 1}])
    def test_non_counter_value_raises_and_backend_stays_healthy(
        self, cache: Cache, value: object
    ) -> None:
        cache.set("n", value)
        with pytest.raises(ValueError, match="increment or decrement"):
            cache.incr("n")
        with pytest.raises(ValueError, match="increment or decrement"):
            cache.decr("n", initial_value=5)
        assert cache.get("n") == value
        cache.set("ok", 1)
        assert cache.incr("ok") == 2
        assert cache.get("ok") == 2
