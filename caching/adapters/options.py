"""Options of the memcached adapters, as given in a ``memcached://`` URL.

``memcached://host:port[,host:port...]?client=NAME&option=value...`` takes
the options below. ``client=python-memcached`` takes only ``timeout`` and
``retry_timeout``: that library has one socket timeout, for connecting too,
and one connection per thread instead of a pool.

``connect_timeout``
    seconds (float) to wait for a TCP connection; default 0.5.
``timeout``
    seconds (float) to wait for an answer; a hung server costs at most this
    per call; default 1.
``retry_timeout``
    seconds (float) a failed server is left alone before it is tried again,
    and between two warnings about it; default 1.
``pool_size``
    most idle connections (clients) kept per process; default 16.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["ADAPTER_OPTIONS", "as_servers"]


def _seconds(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise ValueError("must be a positive number of seconds")
    return value


def _size(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be >= 1")
    return value


#: ``caching.url.parse_options`` spec of the options every adapter takes.
ADAPTER_OPTIONS: dict[str, Callable[[str], Any]] = {
    "connect_timeout": _seconds,
    "timeout": _seconds,
    "retry_timeout": _seconds,
    "pool_size": _size,
}


def as_servers(servers: str | Sequence[str]) -> list[str]:
    """``"host:port"`` or a sequence of them, as a non-empty list.

    :raises TypeError: neither a ``str`` nor a sequence of ``str``.
    :raises ValueError: no server.
    """
    listed = [servers] if isinstance(servers, str) else list(servers)
    if not all(isinstance(server, str) for server in listed):
        raise TypeError(f"servers must be 'host:port' strings, got {servers!r}")
    if not listed:
        raise ValueError("no memcached server given")
    return listed
