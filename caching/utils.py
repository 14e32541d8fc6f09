"""Compatibility path: ``wheezy.caching.utils``'s helpers.

``total_seconds`` lives in :mod:`caching.expiry`, ``encode_keys`` in
:mod:`caching.encoding`.
"""

from caching.encoding import encode_keys
from caching.expiry import total_seconds

__all__ = ["encode_keys", "total_seconds"]
