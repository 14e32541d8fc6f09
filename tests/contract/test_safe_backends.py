"""The contract suite (:class:`caching.testing.ContractTests`) on memcached
adapters in their safe modes: ``serializer="json"`` or ``"msgpack"`` with
``secret=`` (without compression, which would store the suite's
compressible oversized values: tests/adapters/test_codec.py). Only the value
tests read the serializer (:func:`caching.testing.values.serializer_of`):
values outside the json data model must raise ``TypeError``; no backend gets
an override."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from caching.adapters.pylibmc import PylibmcAdapter
from caching.adapters.pymemcache import PymemcacheAdapter
from caching.contract import Cache
from caching.testing import Clock, ContractTests
from tests import servers
from tests.contract.backends import TIMEOUTS, Backend
from tests.contract.conftest import built, clock_of

pytestmark = pytest.mark.memcached

SECRET = "contract-suite-secret"


def _server(request: pytest.FixtureRequest) -> str:
    server: servers.Server = request.getfixturevalue("memcached_server")
    return server.address


def _pylibmc_json_signed(request: pytest.FixtureRequest) -> Cache:
    return PylibmcAdapter(_server(request), serializer="json", secret=SECRET, **TIMEOUTS)


def _pymemcache_msgpack_signed(request: pytest.FixtureRequest) -> Cache:
    return PymemcacheAdapter(
        _server(request),
        serializer="msgpack",
        secret=[SECRET, "old"],
        **TIMEOUTS,
    )


SAFE_BACKENDS = [
    Backend("pylibmc-json-signed", _pylibmc_json_signed),
    Backend("pymemcache-msgpack-signed", _pymemcache_msgpack_signed),
]


@pytest.fixture(params=SAFE_BACKENDS, ids=lambda backend: backend.name)
def safe_backend(request: pytest.FixtureRequest) -> Backend:
    return request.param  # type: ignore[no-any-return]


class TestSafeContract(ContractTests):
    @pytest.fixture
    def cache(self, safe_backend: Backend, request: pytest.FixtureRequest) -> Cache:
        return built(safe_backend, request)

    @pytest.fixture
    def clock(self, safe_backend: Backend) -> Iterator[Clock]:
        yield from clock_of(safe_backend)
