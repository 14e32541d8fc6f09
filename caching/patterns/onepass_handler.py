"""``OnePassHandler``: pass a log record on once per period per distinct message.

wheezy.caching's ``wheezy.caching.logging.OnePassHandler`` (kept at
``caching.logging``). The period is kept in the cache with ``add``, so every
process that shares the cache (a memcached) lets the same message through
once per period between them.

While the shared cache fails, each process filters on its own: a distinct
message passes at most once per period in each process, and never zero
times (see :class:`OnePassHandler`).
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
from caching.patterns.fallback import DEFAULT_RETRY_PERIOD, Fallback, local_time

__all__ = ["LOCAL_MAX_MESSAGES", "OnePassHandler"]

#: Most distinct messages a handler remembers in its in-process filter (least
#: recently used forgotten first: beyond that many distinct messages in one
#: period, a forgotten one can pass again in this process).
LOCAL_MAX_MESSAGES = 10_000


class OnePassHandler(logging.Handler):
    """Proxy records to ``inner`` once per ``time`` per distinct message.

    For each record, the key ``key_encode(record.getMessage())`` is ``add``-ed
    to the cache for ``time`` seconds; the record goes to ``inner.handle``
    when the ``add`` succeeds (``handle`` applies the inner handler's filters,
    and its level is checked first). When the ``add`` fails, one ``get``
    tells whether another caller holds the message's period (the record is
    dropped) or the cache failed (the ``get`` misses too).

    While the cache fails, an in-process filter decides: a message passes at
    most once per ``time`` in each process, and never zero times -- with
    ``N`` processes it passes up to ``N`` times per period. The handler then
    leaves the cache alone for ``retry_period`` seconds and tries it again.
    The filter also remembers the messages this process passed while the
    cache worked, so a message is not passed again in one process when the
    cache fails or comes back within its period. An exception raised by a
    non-contract cache is a failure too.

    :param inner: the handler that outputs the records.
    :param cache: any backend of the contract.
    :param time: the period, ``int`` seconds or ``timedelta``.
    :param key_encode: message -> cache key; defaults to the hex SHA-1 of the
        message (``caching.encoding.hash_encode(hashlib.sha1)``), valid on
        every backend whatever the message.
    :param namespace: passed to every cache call.
    :param retry_period: seconds (``float`` or ``timedelta``) the cache is left
        alone after a failure. Keyword only.
    :param clock: monotonic time in seconds, for the retry period and the
        in-process filter (default :func:`time.monotonic`). Keyword only.
    :raises ValueError: ``retry_period`` is negative.
    """

    def __init__(
        self,
        inner: logging.Handler,
        cache: Cache,
        time: int | timedelta,
        key_encode: Callable[[str], Key] | None = None,
        namespace: str | None = None,
        *,
        retry_period: float | timedelta = DEFAULT_RETRY_PERIOD,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__()
        self.inner = inner
        self.cache = cache
        self.time = lifetime(time)
        self.key_encode = key_encode or hash_encode(hashlib.sha1)
        self.namespace = namespace
        self._fallback = Fallback(retry_period, clock, LOCAL_MAX_MESSAGES)
        self._local_time = local_time(self.time)

    def _first_in_period(self, record: logging.LogRecord) -> bool:
        fallback = self._fallback
        try:
            key = self.key_encode(record.getMessage())
        except Exception:  # a key_encode that raised: pass the record on
            return True
        local = fallback.local()
        if fallback.local_live() and local.get(key) is not None:
            return False  # this process passed it this period
        if not fallback.failing():
            try:
                if self.cache.add(key, record.created, self.time, self.namespace):
                    fallback.succeed()
                    return self._pass_here(key)
                if self.cache.get(key, self.namespace) is not None:
                    fallback.succeed()
                    return False  # another caller passed it this period
            except Exception:  # a cache outside the contract raised: a failure
                pass
            fallback.fail()
        return self._pass_here(key)

    def _pass_here(self, key: Key) -> bool:
        """Whether the message of ``key`` has not passed in this process this
        period (``add`` to the in-process filter, which then remembers it)."""
        fallback = self._fallback
        if fallback.local().add(key, 1, self._local_time):
            fallback.used_local(self._local_time)
            return True
        return False

    def emit(self, record: logging.LogRecord) -> None:
        """Pass ``record`` to the inner handler if its message is new this period.

        A record below the inner handler's level is dropped before the cache
        is asked, so it does not use up the message's period.
        """
        if record.levelno >= self.inner.level and self._first_in_period(record):
            self.inner.handle(record)
