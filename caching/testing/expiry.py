"""Expiry (CONTRACT.md, "Time").

In-process backends run these on frozen time; servers sleep for real, so the
waits stay whole seconds clear of memcached's one-second clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from caching.contract import Cache
from caching.testing.clock import Clock

THIRTY_DAYS = 2_592_000

#: The latest absolute expiry memcached keeps: it reads exptime as a signed
#: 32-bit number, so 2**31 (2038-01-19 03:14:08 UTC) and later are stored
#: and never readable (CONTRACT.md, "Time").
LATEST = 2**31 - 1

__all__ = ["ExpiryTests"]


class ExpiryTests:
    """The contract's rules on expiry (CONTRACT.md, "Time")."""

    section = "Time"

    def test_items_expire_by_the_contracts_rules(self, cache: Cache, clock: Clock) -> None:
        now = int(clock.now())
        assert cache.set("relative", 1, 2) is True
        assert cache.set("delta", 2, timedelta(seconds=2)) is True
        assert cache.set("subsecond", 3, timedelta(milliseconds=300)) is True
        assert cache.set("absolute", 4, now + 2) is True
        assert cache.set("never", 5, 0) is True
        assert cache.set("month", 6, THIRTY_DAYS) is True
        assert cache.set("long-delta", 7, timedelta(days=40)) is True
        assert cache.get_multi(
            ["relative", "delta", "absolute", "never", "month", "long-delta"]
        ) == {
            "relative": 1,
            "delta": 2,
            "absolute": 4,
            "never": 5,
            "month": 6,
            "long-delta": 7,
        }
        clock.advance(3.1)
        assert cache.get_multi(
            ["relative", "delta", "subsecond", "absolute", "never", "month", "long-delta"]
        ) == {"never": 5, "month": 6, "long-delta": 7}

    def test_relative_time_counts_whole_seconds(self, cache: Cache, clock: Clock) -> None:
        start = clock.now()
        if clock.frozen:  # exact: stored in second T, readable through T+1, gone at T+2
            assert cache.set("k", 1, 2) is True
            clock.advance(int(start) + 2 - start - 0.001)
            assert cache.get("k") == 1
            clock.advance(0.002)
            assert cache.get("k") is None
        else:
            # A server's clock: only what it cannot miss by a second. Stored
            # at the end of a server second, an item of 2 s is gone 1.0 s
            # later: 3 s leaves room for a loaded machine's 0.9 s sleep.
            assert cache.set("k", 1, 3) is True
            clock.advance(0.9)
            assert cache.get("k") == 1

    @pytest.mark.parametrize("time", [-1, -3600, -(2**64), THIRTY_DAYS + 1, timedelta(seconds=-5)])
    def test_time_in_the_past_stores_an_expired_item(
        self, cache: Cache, time: int | timedelta
    ) -> None:
        cache.set("k", "old")
        assert cache.set("k", "v", time) is True
        assert cache.get("k") is None
        assert cache.add("k", "fresh") is True
        assert cache.get("k") == "fresh"

    def test_absolute_timestamp_in_the_past(self, cache: Cache, clock: Clock) -> None:
        assert cache.set("k", "v", int(clock.now()) - 60) is True
        assert cache.get("k") is None

    def test_expired_item_behaves_as_missing(self, cache: Cache, clock: Clock) -> None:
        cache.set_multi({"add": 1, "replace": 1, "delete": 1, "incr": 1}, 2)
        cache.set("counter", 10, 2)
        assert cache.incr("counter") == 11  # incr keeps the expiry
        clock.advance(3.1)
        assert cache.add("add", 2) is True
        assert cache.get("add") == 2
        assert cache.replace("replace", 2) is False
        assert cache.delete("delete") is False
        assert cache.incr("incr") is None
        assert cache.get("counter") is None
        assert cache.incr("counter", initial_value=0) == 1

    def test_counter_created_by_initial_value_never_expires(
        self, cache: Cache, clock: Clock
    ) -> None:
        assert cache.incr("n", initial_value=0) == 1
        clock.advance(3.1)
        assert cache.incr("n") == 2

    def test_latest_time_memcached_keeps_is_kept(self, cache: Cache, clock: Clock) -> None:
        lands_before = timedelta(seconds=LATEST - int(clock.now()) - 60)
        assert cache.set("absolute", 1, LATEST) is True
        assert cache.add("added", 2, LATEST) is True
        assert cache.set_multi({"delta": 3, "multi": 4}, lands_before) == []
        assert cache.get_multi(["absolute", "added", "delta", "multi"]) == {
            "absolute": 1,
            "added": 2,
            "delta": 3,
            "multi": 4,
        }

    @pytest.mark.parametrize(
        "far",
        [LATEST + 1, 2**32, 2**32 + 3600, 2**63, 2**64, "lands-past", timedelta(days=36500)],
        ids=["2**31", "2**32", "2**32+3600", "2**63", "2**64", "lands-past-2038", "100-years"],
    )
    def test_time_memcached_cannot_keep_raises_value_error_and_stores_nothing(
        self, cache: Cache, clock: Clock, far: int | timedelta | str
    ) -> None:
        time = timedelta(seconds=LATEST + 60 - int(clock.now())) if far == "lands-past" else far
        assert cache.set("k", "old") is True
        for call in (
            lambda: cache.set("k", "new", time),  # type: ignore[arg-type]
            lambda: cache.add("missing", "new", time),  # type: ignore[arg-type]
            lambda: cache.add("k", "new", time),  # type: ignore[arg-type]  # refused anyway
            lambda: cache.replace("k", "new", time),  # type: ignore[arg-type]
            lambda: cache.replace("missing", "new", time),  # type: ignore[arg-type]
            lambda: cache.set_multi({"k": "new", "missing": 1}, time),  # type: ignore[arg-type]
            lambda: cache.add_multi({"missing": 1}, time),  # type: ignore[arg-type]
            lambda: cache.replace_multi({"k": "new"}, time),  # type: ignore[arg-type]
        ):
            with pytest.raises(ValueError, match="2038"):
                call()
        assert cache.get_multi(["k", "missing"]) == {"k": "old"}

    @pytest.mark.parametrize("time", [1.5, "10", None, True, [1]])
    def test_time_of_another_type_raises_type_error(self, cache: Cache, time: object) -> None:
        for call in (
            lambda: cache.set("k", 1, time),  # type: ignore[arg-type]
            lambda: cache.add("k", 1, time),  # type: ignore[arg-type]
            lambda: cache.replace("k", 1, time),  # type: ignore[arg-type]
            lambda: cache.set_multi({"k": 1}, time),  # type: ignore[arg-type]
            lambda: cache.add_multi({"k": 1}, time),  # type: ignore[arg-type]
            lambda: cache.replace_multi({"k": 1}, time),  # type: ignore[arg-type]
        ):
            with pytest.raises(TypeError):
                call()
        assert cache.get("k") is None
        assert cache.set("k", 0) is True
        with pytest.raises(TypeError):  # an add that is refused anyway checks its time first
            cache.add("k", 1, time)  # type: ignore[arg-type]
        assert cache.get("k") == 0
