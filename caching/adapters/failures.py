"""Rate-limited reporting of cache server failures (CONTRACT.md, "Failures").

A server failure never raises out of a contract call; it is logged at WARNING
on the adapter's logger at most once per server per period, never once per
call.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

__all__ = ["FailureLog"]


class FailureLog:
    """Logs one WARNING per server per ``period`` seconds.

    :param logger: where the warnings go (each adapter passes its module's
        logger, e.g. ``caching.adapters.pymemcache``).
    :param period: seconds during which further failures of the same server
        are not logged again; the adapters pass their retry period.
    :param clock: monotonic time in seconds; inject one in tests.
    """

    def __init__(
        self,
        logger: logging.Logger,
        period: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.period = period
        self._clock = clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def report(self, server: str, error: object) -> bool:
        """Note a failure of ``server``; log it unless logged within the period.

        :param server: the server's address, as configured.
        :param error: the exception or reason, shown in the message.
        :returns: whether a warning was logged.
        """
        now = self._clock()
        with self._lock:
            last = self._last.get(server)
            if last is not None and now - last < self.period:
                return False
            self._last[server] = now
        self.logger.warning(
            "memcached server %s failed (%s); calls answer as misses until it is back",
            server,
            error,
        )
        return True
