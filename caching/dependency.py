"""``CacheDependency`` at wheezy.caching's module path (``wheezy.caching.dependency``).

The class lives in :mod:`caching.patterns.dependency`.
"""

from __future__ import annotations

from caching.patterns.dependency import CacheDependency

__all__ = ["CacheDependency"]
