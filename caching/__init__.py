"""caching: one cache contract -- memcached's -- and the patterns that make
caching safe to use.

Backends: :class:`MemoryCache` (in-process, the embedded default),
:class:`NullCache`, memcached adapters (:mod:`caching.adapters`: pylibmc,
pymemcache, python-memcached), and :class:`CacheClient` to
route by namespace. Build one from a URL with :func:`from_url`; declare
cache regions with :class:`~caching.regions.Region` and configure them at
start-up with :func:`configure`.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from caching.client import CacheClient
from caching.contract import Cache
from caching.errors import (
    DISTRIBUTION,
    CacheError,
    InvalidKeyError,
    MissingExtraError,
    RegionNotConfiguredError,
)
from caching.memory import MemoryCache
from caching.null import NullCache
from caching.url import from_url

if TYPE_CHECKING:  # imported on first use (see __getattr__)
    from caching.patterns.dependency import CacheDependency
    from caching.regions import Region, configure

try:
    __version__ = version(DISTRIBUTION)
except PackageNotFoundError:  # imported from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "Cache",
    "CacheClient",
    "CacheDependency",
    "CacheError",
    "InvalidKeyError",
    "MemoryCache",
    "MissingExtraError",
    "NullCache",
    "Region",
    "RegionNotConfiguredError",
    "__version__",
    "configure",
    "from_url",
]


def __getattr__(name: str) -> Any:
    # CacheDependency lives with the patterns; import it on first use.
    if name == "CacheDependency":
        from caching.patterns.dependency import CacheDependency

        return CacheDependency
    if name in ("Region", "configure"):  # regions live with the patterns too
        from caching import regions

        return getattr(regions, name)
    raise AttributeError(f"module 'caching' has no attribute {name!r}")
