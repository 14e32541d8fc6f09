"""caching.adapters.failures.FailureLog: one warning per server per period,
one INFO when a failed server is back."""

from __future__ import annotations

import logging

import pytest

from caching.adapters.failures import FailureLog


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == level]


def test_back_is_logged_once_per_recovery(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tests.failures")
    clock = Clock()
    log = FailureLog(logging.getLogger("tests.failures"), 1.0, clock)
    assert log.recovered("a:1") is False  # never failed: nothing to say
    assert log.report("a:1", "refused") is True
    assert log.report("a:1", "refused") is False  # within the period
    assert log.down == {"a:1"}
    assert log.recovered("a:1") is True
    assert log.recovered("a:1") is False
    assert log.down == frozenset()
    clock.now += 2
    assert log.report("a:1", "refused") is True
    assert log.recovered("a:1") is True
    assert _messages(caplog, logging.INFO) == ["memcached server a:1 is back"] * 2
    assert len(_messages(caplog, logging.WARNING)) == 2


def test_servers_are_down_and_back_one_by_one() -> None:
    log = FailureLog(logging.getLogger("tests.failures"), 1.0, Clock())
    log.report("a:1", "refused")
    log.report("b:2", "timeout")
    assert log.recovered("b:2") is True
    assert log.down == {"a:1"}
