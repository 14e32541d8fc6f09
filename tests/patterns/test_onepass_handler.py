"""OnePassHandler: once per period per message, across processes; never loses a record."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from caching import MemoryCache, NullCache
from caching.contract import Cache
from caching.key_rules import Key, key_bytes
from caching.patterns.onepass_handler import OnePassHandler
from tests.shared import Clock, backend, cache, clock, memcached_url, timed_backends
from tests.workers import ListHandler, log_same_message, run_processes, run_threads

__all__ = ["backend", "cache", "clock", "memcached_url"]


@pytest.fixture
def inner() -> ListHandler:
    return ListHandler()


def make_logger(name: str, handler: logging.Handler) -> Iterator[logging.Logger]:
    logger = logging.getLogger(f"tests.test_logging.{name}")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        yield logger
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def logger(cache: Cache, inner: ListHandler) -> Iterator[logging.Logger]:
    yield from make_logger("every-backend", OnePassHandler(inner, cache, timedelta(minutes=5)))


@timed_backends
def test_a_message_passes_once_per_period(cache: Cache, inner: ListHandler, clock: Clock) -> None:
    handler = OnePassHandler(inner, cache, timedelta(seconds=2))
    for logger in make_logger("period", handler):
        _log_twice_per_period(logger, inner, clock)


def _log_twice_per_period(logger: logging.Logger, inner: ListHandler, clock: Clock) -> None:
    for _ in range(3):
        logger.error("disk full on %s", "db1")
        logger.error("disk full on %s", "db2")
    assert inner.messages == ["disk full on db1", "disk full on db2"]
    clock.advance(3.1)
    logger.error("disk full on %s", "db1")
    assert inner.messages[-1] == "disk full on db1"
    assert len(inner.messages) == 3


def test_keys_are_valid_whatever_the_message(logger: logging.Logger, inner: ListHandler) -> None:
    messages = ["with spaces", "new\nline", "ключ 键", "x" * 5000, ""]
    for message in messages:
        logger.error(message)
        logger.error(message)
    assert inner.messages == messages


def test_default_key_is_a_hash_of_the_message(cache: Cache, inner: ListHandler) -> None:
    handler = OnePassHandler(inner, cache, 60)
    key = handler.key_encode("some message")
    key_bytes(key)
    assert len(key) == 40


def test_threads_logging_the_same_message_pass_it_once(
    logger: logging.Logger, inner: ListHandler
) -> None:
    def work(_: int) -> None:
        for _ in range(20):
            logger.warning("slow query")

    run_threads(8, work)
    assert inner.messages == ["slow query"]


def test_inner_level_and_filters_apply(cache: Cache, inner: ListHandler) -> None:
    inner.setLevel(logging.ERROR)
    for logger in make_logger("levels", OnePassHandler(inner, cache, 60)):
        logger.warning("below the inner level")
        logger.error("at the inner level")
    assert inner.messages == ["at the inner level"]


class DownCache(NullCache):
    """add fails (server down), get misses."""

    def add(self, key: Key, value: Any, time: Any = 0, namespace: str | None = None) -> bool:
        return False


class RaisingCache(NullCache):
    """A cache outside the contract that raises."""

    def add(self, key: Key, value: Any, time: Any = 0, namespace: str | None = None) -> bool:
        raise ConnectionError("down")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("broken", [DownCache, RaisingCache])
def test_a_cache_failure_passes_a_message_once_per_period(
    inner: ListHandler, broken: type[Cache]
) -> None:
    """Never zero times (a failure loses no message), at most once per
    period in this process (wheezy and this package before 0.2 passed every
    record while the cache was down)."""
    clock = FakeClock()
    handler = OnePassHandler(inner, broken(), 60, clock=clock)
    for logger in make_logger(broken.__name__, handler):
        for _ in range(100):
            logger.error("first")
        logger.error("second")
        clock.now += 30
        logger.error("first")
        clock.now += 31  # the period of "first" is over
        logger.error("first")
        logger.error("first")
    assert inner.messages == ["first", "second", "first"]


class Switch(MemoryCache):
    """A MemoryCache that can be taken down (add fails, get misses), counting
    the calls it gets meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.calls_while_down = 0

    def add(self, key: Key, value: Any, time: Any = 0, namespace: str | None = None) -> bool:
        if self.down:
            self.calls_while_down += 1
            return False
        return super().add(key, value, time, namespace)

    def get(self, key: Key, namespace: str | None = None) -> Any:
        if self.down:
            self.calls_while_down += 1
            return None
        return super().get(key, namespace)


def test_a_failing_cache_is_left_alone_for_the_retry_period(inner: ListHandler) -> None:
    cache, clock = Switch(), FakeClock()
    handler = OnePassHandler(inner, cache, 60, retry_period=5, clock=clock)
    for logger in make_logger("retry", handler):
        cache.down = True
        logger.error("a")  # add fails, get misses: the cache failed
        assert cache.calls_while_down == 2
        for message in "bcde":
            logger.error(message)
        assert cache.calls_while_down == 2  # the filter of this process decides
        clock.now += 5
        logger.error("f")  # tried again
        assert cache.calls_while_down == 4
    assert inner.messages == list("abcdef")


def test_a_message_passes_once_per_process_across_a_failure_and_back(
    inner: ListHandler,
) -> None:
    cache, clock = Switch(), FakeClock()
    handler = OnePassHandler(inner, cache, 60, retry_period=1, clock=clock)
    for logger in make_logger("across", handler):
        logger.error("passed while the cache worked")
        cache.down = True
        logger.error("passed while the cache worked")  # remembered here
        logger.error("passed while the cache was down")
        cache.down = False
        clock.now += 2
        logger.error("passed while the cache was down")  # the cache is back: still once
        logger.error("passed while the cache worked")
        assert cache.get(handler.key_encode("passed while the cache worked")) is not None
    assert inner.messages == ["passed while the cache worked", "passed while the cache was down"]


@pytest.mark.memcached
def test_processes_logging_the_same_message_pass_it_once(memcached_url: str) -> None:
    results = run_processes(log_same_message, 3, memcached_url, 2, 5)
    messages = [message for per_process in results for message in per_process]
    assert messages.count("disk full on db1") == 1
    for index in range(3):
        assert messages.count(f"process {index} started") == 1
