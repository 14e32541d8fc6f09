"""The contract suite (:class:`caching.testing.ContractTests`) on every backend
of this project: the list is :data:`tests.contract.backends.BACKENDS`, and no
backend gets an override."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from caching.contract import Cache
from caching.testing import Clock, ContractTests
from tests.contract.backends import Backend
from tests.contract.conftest import built, clock_of


class TestContract(ContractTests):
    @pytest.fixture
    def cache(self, backend: Backend, request: pytest.FixtureRequest) -> Cache:
        return built(backend, request)

    @pytest.fixture
    def clock(self, backend: Backend) -> Iterator[Clock]:
        yield from clock_of(backend)
