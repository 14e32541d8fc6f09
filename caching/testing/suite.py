"""``ContractTests``: every test of the contract, for any backend."""

from __future__ import annotations

import pytest

from caching.contract import Cache
from caching.testing.clock import REAL_CLOCK, Clock
from caching.testing.concurrency import ConcurrencyTests
from caching.testing.counters import CounterTests
from caching.testing.delete import DeleteTests
from caching.testing.expiry import ExpiryTests
from caching.testing.health import HealthTests
from caching.testing.keys import KeyTests
from caching.testing.read import ReadTests
from caching.testing.rules import RuleTests
from caching.testing.store import StoreTests
from caching.testing.values import ValueTests

__all__ = ["SECTIONS", "ContractTests"]


class ContractTests(
    StoreTests,
    ReadTests,
    DeleteTests,
    CounterTests,
    ExpiryTests,
    KeyTests,
    ValueTests,
    ConcurrencyTests,
    HealthTests,
    RuleTests,
):
    """The whole contract (CONTRACT.md) as pytest tests, for any backend.

    Subclass it in a test module and give it a ``cache`` fixture that returns
    the backend to test::

        import pytest
        from caching.testing import ContractTests

        class TestMyBackend(ContractTests):
            @pytest.fixture
            def cache(self):
                return MyBackend()

    Every test starts with ``cache.flush_all()``, which must answer ``True``:
    point a server backend at a server of its own. The ``clock`` fixture is
    real time (:data:`~caching.testing.clock.REAL_CLOCK`, the expiry tests
    sleep about 15 s in all); an in-process backend can override it with a
    frozen clock, e.g. ``freezegun``::

            @pytest.fixture
            def clock(self):
                with freezegun.freeze_time() as frozen:
                    yield Clock(now=time.time, advance=frozen.tick, frozen=True)

    The suite needs pytest and nothing else.
    """

    @pytest.fixture
    def cache(self) -> Cache:
        """The backend under test: override this fixture."""
        pytest.fail(
            f"{type(self).__name__} needs a `cache` fixture returning the backend to test",
            pytrace=False,
        )

    @pytest.fixture
    def clock(self) -> Clock:
        """The time the backend sees: real time unless overridden."""
        return REAL_CLOCK

    @pytest.fixture(autouse=True)
    def _start_empty(self, cache: Cache) -> None:
        assert cache.flush_all() is True, "flush_all() must empty the backend before each test"


#: The parts of the suite, one class per theme, each naming its CONTRACT.md
#: section (``section``).
SECTIONS: tuple[type, ...] = ContractTests.__bases__
