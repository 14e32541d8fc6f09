"""``OnePassHandler``: pass a log record on once per period per distinct message.

wheezy.caching's ``wheezy.caching.logging.OnePassHandler`` (kept at
``caching.logging``). The period is kept in the cache with ``add``, so every
process that shares the cache (a memcached) lets the same message through
once per period between them.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import timedelta

from caching.contract import Cache
from caching.encoding import hash_encode
from caching.expiry import lifetime
from caching.key_rules import Key

__all__ = ["OnePassHandler"]


class OnePassHandler(logging.Handler):
    """Proxy records to ``inner`` once per ``time`` per distinct message.

    For each record, the key ``key_encode(record.getMessage())`` is ``add``-ed
    to the cache for ``time`` seconds; the record goes to ``inner.handle``
    when the ``add`` succeeds (``handle`` applies the inner handler's filters,
    and its level is checked first). When the ``add`` fails, the handler checks the
    key is really there (one ``get``): if the cache failed or dropped it, the
    record is passed on anyway, so a cache failure never loses a record. An
    exception raised by a non-contract cache is treated the same way.

    :param inner: the handler that outputs the records.
    :param cache: any backend of the contract.
    :param time: the period, ``int`` seconds or ``timedelta``.
    :param key_encode: message -> cache key; defaults to the hex SHA-1 of the
        message (``caching.encoding.hash_encode(hashlib.sha1)``), valid on
        every backend whatever the message.
    :param namespace: passed to every cache call.
    """

    def __init__(
        self,
        inner: logging.Handler,
        cache: Cache,
        time: int | timedelta,
        key_encode: Callable[[str], Key] | None = None,
        namespace: str | None = None,
    ) -> None:
        super().__init__()
        self.inner = inner
        self.cache = cache
        self.time = lifetime(time)
        self.key_encode = key_encode or hash_encode(hashlib.sha1)
        self.namespace = namespace

    def _first_in_period(self, record: logging.LogRecord) -> bool:
        try:
            key = self.key_encode(record.getMessage())
            if self.cache.add(key, record.created, self.time, self.namespace):
                return True
            return self.cache.get(key, self.namespace) is None
        except Exception:  # a cache outside the contract raised: log anyway
            return True

    def emit(self, record: logging.LogRecord) -> None:
        """Pass ``record`` to the inner handler if its message is new this period.

        A record below the inner handler's level is dropped before the cache
        is asked, so it does not use up the message's period.
        """
        if record.levelno >= self.inner.level and self._first_in_period(record):
            self.inner.handle(record)
