"""Compatibility path: ``wheezy.caching.memcache``'s names.

``MemcachedClient`` is :class:`caching.adapters.python_memcached.PythonMemcachedAdapter`;
``Client`` is python-memcached's ``memcache.Client``, or ``None`` when it is
not installed, as wheezy.caching exports it.
"""

from typing import Any

from caching.adapters.python_memcached import PythonMemcachedAdapter as MemcachedClient

try:
    from memcache import Client  # type: ignore[import-untyped]
except ImportError:  # python-memcached is an extra
    Client: Any = None  # type: ignore[no-redef]

__all__ = ["Client", "MemcachedClient"]
