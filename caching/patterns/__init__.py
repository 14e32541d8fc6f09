"""Patterns on top of the contract, at wheezy.caching's names.

``from caching.patterns import Cached, OnePass, key_builder`` works as
``from wheezy.caching.patterns import ...`` does.
"""

from __future__ import annotations

from caching.patterns.cached import Cached
from caching.patterns.dependency import CacheDependency
from caching.patterns.key_builders import key_builder, key_format, key_formatter
from caching.patterns.onepass import OnePass

__all__ = ["CacheDependency", "Cached", "OnePass", "key_builder", "key_format", "key_formatter"]
