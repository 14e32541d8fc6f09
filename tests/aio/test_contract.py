"""The contract suite (:class:`caching.testing.ContractTests`, its one copy)
on every async backend of :data:`tests.aio.backends.ASYNC_BACKENDS`, through
the sync facade; no backend gets an override."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from caching.contract import Cache
from caching.testing import Clock, ContractTests
from tests.aio.backends import ASYNC_BACKENDS
from tests.contract.backends import Backend
from tests.contract.conftest import built, clock_of


@pytest.fixture(params=ASYNC_BACKENDS, ids=lambda backend: backend.name)
def backend(request: pytest.FixtureRequest) -> Backend:
    return request.param  # type: ignore[no-any-return]


class TestAsyncContract(ContractTests):
    @pytest.fixture
    def cache(self, backend: Backend, request: pytest.FixtureRequest) -> Cache:
        return built(backend, request)

    @pytest.fixture
    def clock(self, backend: Backend) -> Iterator[Clock]:
        yield from clock_of(backend)
