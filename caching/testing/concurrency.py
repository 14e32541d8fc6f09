"""Concurrency (CONTRACT.md, "Counters" and "Concurrency")."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from caching.contract import Cache
from caching.testing.threads import run_threads

THREADS = 8
INCREMENTS = 500

__all__ = ["ConcurrencyTests"]


class ConcurrencyTests:
    """The contract's rules on atomic counters and ``add`` (CONTRACT.md, "Concurrency")."""

    section = "Concurrency"

    @pytest.fixture(autouse=True)
    def _switch_often(self) -> Iterator[None]:
        """Threads switch every 10 µs (CPython's default is 5 ms, long enough
        for a thread to finish its work unbroken and hide a missing lock)."""
        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-5)
        yield
        sys.setswitchinterval(interval)

    def test_concurrent_incr_loses_nothing_including_first_creation(self, cache: Cache) -> None:
        def work(index: int) -> None:
            for _ in range(INCREMENTS):
                assert cache.incr("hits", initial_value=0) is not None

        run_threads(THREADS, work)
        assert cache.get("hits") == THREADS * INCREMENTS

    def test_concurrent_decr_stops_at_zero(self, cache: Cache) -> None:
        cache.set("stock", 1000)

        def work(index: int) -> None:
            for _ in range(200):
                cache.decr("stock")

        run_threads(THREADS, work)
        assert cache.get("stock") == 0

    def test_exactly_one_concurrent_add_wins(self, cache: Cache) -> None:
        for round_ in range(20):
            winners: list[int] = []

            def work(index: int, key: str = f"lock-{round_}", winners: list[int] = winners) -> None:
                if cache.add(key, index):
                    winners.append(index)

            run_threads(THREADS, work)
            assert len(winners) == 1
            assert cache.get(f"lock-{round_}") == winners[0]
