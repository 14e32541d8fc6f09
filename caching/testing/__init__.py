"""The contract suite as public API: test any backend against CONTRACT.md.

:class:`ContractTests` (pytest) holds every contract test; subclass it with a
``cache`` fixture, as :mod:`caching.testing.suite` shows. The probes of
``python -m caching check`` (:mod:`caching.testing.probes`) need only the
standard library, so importing this package does not import pytest until
``ContractTests`` is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from caching.testing.clock import REAL_CLOCK, Clock

if TYPE_CHECKING:
    from caching.testing.suite import ContractTests

__all__ = ["REAL_CLOCK", "Clock", "ContractTests"]


def __getattr__(name: str) -> Any:
    if name == "ContractTests":  # imports pytest
        from caching.testing.suite import ContractTests

        return ContractTests
    raise AttributeError(f"module 'caching.testing' has no attribute {name!r}")
