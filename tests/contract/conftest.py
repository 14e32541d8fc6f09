"""Fixtures over every backend of this project: ``backend``, ``cache`` and ``clock``.

The contract suite (``test_backends.py``) and the pattern tests
(``tests.shared``) run on each backend of :data:`tests.contract.backends.BACKENDS`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from freezegun import freeze_time

from caching.contract import Cache
from caching.testing.clock import REAL_CLOCK, Clock
from tests.contract.backends import BACKENDS, Backend

__all__ = ["Clock", "backend", "built", "cache", "clock", "clock_of"]


@pytest.fixture(params=BACKENDS, ids=lambda backend: backend.name)
def backend(request: pytest.FixtureRequest) -> Backend:
    return request.param  # type: ignore[no-any-return]


def built(backend: Backend, request: pytest.FixtureRequest) -> Cache:
    """A fresh, empty ``backend``."""
    cache = backend.build(request)
    assert cache.flush_all() is True
    return cache


@pytest.fixture
def cache(backend: Backend, request: pytest.FixtureRequest) -> Cache:
    """A fresh, empty backend."""
    return built(backend, request)


def clock_of(backend: Backend) -> Iterator[Clock]:
    """Frozen, ticked time for in-process backends; real sleeps for servers."""
    if backend.fake_clock:
        with freeze_time("2026-11-21 12:00:00.25") as frozen:
            yield Clock(now=time.time, advance=lambda seconds: frozen.tick(seconds), frozen=True)
    else:
        yield REAL_CLOCK


@pytest.fixture
def clock(backend: Backend) -> Iterator[Clock]:
    """The time ``backend`` sees."""
    yield from clock_of(backend)
