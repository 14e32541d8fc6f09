"""Round trips to memcached servers, for ``ping()`` (a health check).

A ping opens a connection of its own to the server and sends memcached's
``version`` command, so it answers for the server itself, whatever state the
client library's pooled connections are in.
"""

from __future__ import annotations

import socket
import time

__all__ = ["connect", "round_trip", "server_stats"]


def connect(address: str, timeout: float) -> socket.socket:
    """A connection of its own to ``address`` (``"host:port"``, ``"host"``
    or ``"unix:/path"``), opened within ``timeout`` seconds.

    :raises OSError: refused, unreachable or timed out.
    :raises ValueError: a port that is not a number.
    """
    if address.startswith("unix:"):
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(timeout)
        try:
            connection.connect(address[len("unix:") :])
        except OSError:
            connection.close()
            raise
        return connection
    host, _, port = address.rpartition(":") if ":" in address else (address, "", "11211")
    return socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)


def round_trip(address: str, timeout: float) -> float | None:
    """Seconds from connecting to ``address`` to its answer to ``version``.

    :param address: ``"host:port"``, ``"host"`` (memcached's port, 11211)
        or ``"unix:/path"``.
    :param timeout: seconds to wait for the connection, then for the answer.
    :returns: the round trip in seconds (``float``), or ``None`` when the
        server refuses the connection, does not answer within ``timeout``,
        or answers something that is not memcached's ``VERSION ...``.
        Never raises for a server failure.
    """
    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    try:
        with connect(address, timeout) as connection:
            connection.sendall(b"version\r\n")
            reply = b""
            while not reply.endswith(b"\r\n"):
                connection.settimeout(max(0.001, deadline - time.monotonic()))
                chunk = connection.recv(256)
                if not chunk or len(reply) > 1024:
                    return None
                reply += chunk
    except (OSError, ValueError):
        return None
    if not reply.startswith(b"VERSION "):
        return None
    return time.perf_counter() - started


def server_stats(address: str, timeout: float) -> dict[str, str] | None:
    """memcached's own counters (its ``stats`` command), on a connection of
    its own.

    :param address: as :func:`round_trip`.
    :param timeout: seconds to wait for the connection, then for the answer.
    :returns: name -> value as memcached sends them (``"get_hits"`` ->
        ``"42"``), or ``None`` when the server refuses the connection, does
        not answer in time, or answers something else (twemproxy closes the
        connection: it does not forward ``stats``). Never raises for a
        server failure.
    """
    deadline = time.monotonic() + timeout
    reply = b""
    try:
        with connect(address, timeout) as connection:
            connection.sendall(b"stats\r\n")
            while not reply.endswith(b"END\r\n"):
                connection.settimeout(max(0.001, deadline - time.monotonic()))
                chunk = connection.recv(65536)
                if not chunk or len(reply) > 1 << 20:
                    return None
                reply += chunk
    except (OSError, ValueError):
        return None
    stats = {}
    for line in reply.decode("ascii", "replace").splitlines()[:-1]:
        kind, _, rest = line.partition(" ")
        if kind != "STAT":
            return None
        name, _, value = rest.partition(" ")
        stats[name] = value
    return stats
