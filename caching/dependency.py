"""Compatibility path: ``wheezy.caching.dependency``'s ``CacheDependency``.

The class lives in :mod:`caching.patterns.dependency`.
"""

from caching.patterns.dependency import CacheDependency

__all__ = ["CacheDependency"]
