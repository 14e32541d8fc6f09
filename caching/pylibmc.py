"""Compatibility path: ``wheezy.caching.pylibmc``'s names.

``MemcachedClient`` is :class:`caching.adapters.pylibmc.PylibmcAdapter`.
"""

from caching.adapters.pylibmc import PylibmcAdapter as MemcachedClient
from caching.adapters.pylibmc import client_factory

__all__ = ["MemcachedClient", "client_factory"]
