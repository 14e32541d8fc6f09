"""Compatibility path: ``wheezy.caching.logging``'s ``OnePassHandler``.

The handler lives in :mod:`caching.patterns.onepass_handler`.
"""

from caching.patterns.onepass_handler import OnePassHandler

__all__ = ["OnePassHandler"]
