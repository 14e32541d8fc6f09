"""What the cache does, in numbers: :class:`StatsCache` counts each call of a
backend (``caching.stats.prometheus`` exports the counts)."""

from caching.stats.proxy import FIELDS, StatsCache

__all__ = ["FIELDS", "StatsCache"]
