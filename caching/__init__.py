"""caching: one cache contract -- memcached's -- and the patterns that make
caching safe to use.

Backends: :class:`MemoryCache` (in-process, the embedded default),
:class:`NullCache`, memcached adapters (``caching.pylibmc``,
``caching.pymemcache``, ``caching.memcache``), and :class:`CacheClient` to
route by namespace. Build one from a URL with :func:`from_url`.
"""

from __future__ import annotations

from typing import Any

from caching.client import CacheClient
from caching.contract import Cache
from caching.errors import CacheError, InvalidKeyError, MissingExtraError
from caching.memory import MemoryCache
from caching.null import NullCache
from caching.url import from_url

__version__ = "0.1.0"

__all__ = [
    "Cache",
    "CacheClient",
    "CacheDependency",
    "CacheError",
    "InvalidKeyError",
    "MemoryCache",
    "MissingExtraError",
    "NullCache",
    "__version__",
    "from_url",
]


def __getattr__(name: str) -> Any:
    # CacheDependency lives with the patterns; import it on first use.
    if name == "CacheDependency":
        from caching.patterns.dependency import CacheDependency

        return CacheDependency
    raise AttributeError(f"module 'caching' has no attribute {name!r}")
