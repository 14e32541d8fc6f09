"""Fixtures of the contract suite: ``cache`` (every backend) and ``clock``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from freezegun import freeze_time

from caching.contract import Cache
from tests.contract.backends import BACKENDS, Backend


@pytest.fixture(params=BACKENDS, ids=lambda backend: backend.name)
def backend(request: pytest.FixtureRequest) -> Backend:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def cache(backend: Backend, request: pytest.FixtureRequest) -> Cache:
    """A fresh, empty backend."""
    built = backend.build(request)
    assert built.flush_all() is True
    return built


@dataclass
class Clock:
    """The time the backend under test sees."""

    now: Callable[[], float]
    advance: Callable[[float], None]


@pytest.fixture
def clock(backend: Backend) -> Iterator[Clock]:
    """Frozen, ticked time for in-process backends; real sleeps for servers."""
    if backend.fake_clock:
        with freeze_time("2026-11-21 12:00:00.25") as frozen:
            yield Clock(now=time.time, advance=lambda seconds: frozen.tick(seconds))
    else:
        yield Clock(now=time.time, advance=time.sleep)
