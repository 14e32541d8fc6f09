"""Open the backend a command line ``--url`` names, and make sure it answers.

Adapters never raise on a dead server (they answer ``False``/``None``), so a
server that cannot be reached is found by asking: ``ping()`` names each
server that does not answer (a plain socket connection then tells a refused
one from a silent one), and a set/get round trip through the adapter shows
that it stores.
"""

from __future__ import annotations

import os
import time
from urllib.parse import urlsplit

from caching.adapters.health import connect
from caching.cli.errors import EXIT_UNREACHABLE, EXIT_USAGE, CliError
from caching.contract import Cache
from caching.testing.probes import probe_key
from caching.url import from_url, parse_servers

__all__ = [
    "DEFAULT_URL",
    "open_cache",
    "open_reached",
    "reachability",
    "server_addresses",
    "unreachable",
]

#: The embedded default: an in-process ``MemoryCache``, no server needed.
DEFAULT_URL = "memory://"

#: Seconds to wait for a TCP or Unix socket connection.
CONNECT_TIMEOUT = 2.0

#: Set/get round trips tried before a server that accepts connections is
#: reported as not answering, and the seconds between two tries.
ROUND_TRIPS = 2
ROUND_TRIP_PAUSE = 1.5

_HINT = "start one with: memcached {where}  (Debian: apt-get install memcached)"


def _hint(address: str) -> str:
    # memcached refuses to run as root without -u: name a user then.
    as_user = " -u nobody" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
    if address.startswith("unix:"):
        return _HINT.format(where=f"-s {address[len('unix:') :]}{as_user}")
    return _HINT.format(where=f"-l 127.0.0.1 -p {address.rpartition(':')[2]}{as_user}")


def server_addresses(url: str) -> list[str]:
    """The servers of a ``memcached://`` URL (``[]`` for in-process schemes)."""
    parts = urlsplit(url)
    if parts.scheme != "memcached":
        return []
    return parse_servers(url, parts.netloc)


def unreachable(address: str) -> CliError:
    """Why ``address`` did not answer ``ping()``: refused, or silent."""
    try:
        connect(address, CONNECT_TIMEOUT).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return CliError(
            f"cannot connect to memcached at {address}: {reason}; {_hint(address)}",
            EXIT_UNREACHABLE,
        )
    return CliError(
        f"{address} accepted the connection but did not answer memcached's version "
        "command in time (is it a memcached server or proxy?)",
        EXIT_UNREACHABLE,
    )


def reachability(cache: Cache) -> str:
    """``ping()`` every server of ``cache``: one line naming each round trip.

    :raises CliError: a server that does not answer (exit 3), with the
        reason (refused or silent) and how to start a memcached.
    """
    answered = []
    for address, seconds in cache.ping().items():
        if seconds is None:
            raise unreachable(address)
        shown = f"{seconds * 1e6:.0f} µs" if seconds < 0.001 else f"{seconds * 1000:.1f} ms"
        answered.append(f"{address} {shown}")
    return ", ".join(answered)


def _round_trip(cache: Cache) -> bool:
    key = probe_key("reachable")
    stored = cache.set(key, "ok", 60)
    answered = cache.get(key)
    cache.delete(key)
    return stored and answered == "ok"


def _check_round_trip(url: str, cache: Cache) -> None:
    # One blip (a proxy's first connection to its backend timing out) must not
    # read as "unreachable": try again once the adapter's hold-off (1 s by
    # default) has passed.
    for attempt in range(ROUND_TRIPS):
        if attempt:
            time.sleep(ROUND_TRIP_PAUSE)
        if _round_trip(cache):
            return
    raise CliError(
        f"{url} answered ping but {ROUND_TRIPS} set/get round trips failed (see any warning above)",
        EXIT_UNREACHABLE,
    )


def open_reached(url: str) -> tuple[Cache, str]:
    """Build the backend of ``url`` with :func:`~caching.url.from_url` and
    prove that its servers answer: ``ping()`` of each (:func:`reachability`),
    then a set/get round trip (skipped for ``null://``, which never stores
    anything).

    :param url: a cache URL (``memory://``, ``memcached://host:port?...``).
    :returns: the backend, and the line naming each server's round trip.
    :raises CliError: a bad URL or a missing client library (exit 2); a
        server that cannot be reached or does not answer (exit 3).
    """
    cache = open_cache(url, reachable=False)
    line = reachability(cache)
    if not url.startswith("null:"):
        _check_round_trip(url, cache)
    return cache, line


def open_cache(url: str, *, reachable: bool = True) -> Cache:
    """Build the backend of ``url``; as :func:`open_reached` when
    ``reachable``, else without contacting any server.

    :raises CliError: as :func:`open_reached`.
    """
    if reachable:
        return open_reached(url)[0]
    try:
        return from_url(url)
    except (ValueError, ImportError) as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
