"""OnePassHandler: once per period per message, across processes; never loses a record."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from caching import NullCache
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


@pytest.mark.parametrize("broken", [DownCache, RaisingCache])
def test_a_cache_failure_never_loses_a_record(inner: ListHandler, broken: type[Cache]) -> None:
    for logger in make_logger(broken.__name__, OnePassHandler(inner, broken(), 60)):
        logger.error("first")
        logger.error("first")
    assert inner.messages == ["first", "first"]


@pytest.mark.memcached
def test_processes_logging_the_same_message_pass_it_once(memcached_url: str) -> None:
    results = run_processes(log_same_message, 3, memcached_url, 2, 5)
    messages = [message for per_process in results for message in per_process]
    assert messages.count("disk full on db1") == 1
    for index in range(3):
        assert messages.count(f"process {index} started") == 1
