"""Compatibility path: ``MemcachedClient`` over pymemcache, named as the other two.

``MemcachedClient`` is :class:`caching.adapters.pymemcache.PymemcacheAdapter`.
"""

from caching.adapters.pymemcache import PymemcacheAdapter as MemcachedClient

__all__ = ["MemcachedClient"]
