"""``PythonMemcachedAdapter`` over python-memcached (``pip install 'caching-toolkit[memcache]'``).

python-memcached never raises on a server failure: it marks the server dead
for ``dead_retry`` seconds and answers ``0``/``None``. The adapter reads that
state after each call to log the failure, and sets finite defaults
(``socket_timeout`` 1 s, ``dead_retry`` 1 s; the library's are 3 s and 30 s).
Its ``Client`` is a ``threading.local``, so threads share one client object
per process and each has its own sockets and its own dead state of each
server; a forked child builds its own. When a server that failed answers
again in one thread, the adapter replaces the client, so that the other
threads do not wait out their own ``dead_retry`` (docs/FAILURES.md,
"Recovery").

Values use the format of :mod:`caching.adapters.serializer`, and the size limit is
left to the server (``server_max_value_length=0``), so a refused ``set``
also drops the old item, as memcached does.

Several servers are spread by python-memcached's CRC32 **modulo N**: adding
or removing one of N servers moves most keys (about 2/3 of them with three
servers), and a dead server's keys are rehashed onto the others. The
adapters place keys differently from one another: do not mix them on one
set of servers.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from caching.adapters.base import (
    DEFAULT_RETRY_TIMEOUT,
    DEFAULT_TIMEOUT,
    MemcacheApi,
    require,
)
from caching.adapters.options import ADAPTER_OPTIONS, as_servers
from caching.adapters.pool import Pool
from caching.adapters.serializer import Item, loads
from caching.counters import non_numeric
from caching.key_rules import Key

__all__ = ["URL_OPTIONS", "PythonMemcachedAdapter"]

logger = logging.getLogger(__name__)

#: Options of ``memcached://...?client=python-memcached``: ``timeout`` (the
#: socket timeout, also for connecting) and ``retry_timeout`` (``dead_retry``).
URL_OPTIONS = {name: ADAPTER_OPTIONS[name] for name in ("timeout", "retry_timeout")}

# The adapters' option names -> python-memcached's.
_RENAMED = {"timeout": "socket_timeout", "retry_timeout": "dead_retry"}


@cache
def _client_class() -> Any:
    """python-memcached's ``Client`` with the adapter's value format."""
    library = require("memcache", "memcache")

    class Host(library._Host):  # type: ignore[misc,name-defined]
        socket: Any
        buffer: bytes
        flush_on_next_connect: int
        deaduntil: float
        #: time.time() the socket was connected (this thread's)
        connected_at = 0.0

        def __del__(self) -> None:
            self.close_socket()  # a thread's sockets go with its local state

        def _get_socket(self) -> Any:
            # As python-memcached's, but closes the socket of a failed connect.
            if self._check_dead():
                return None
            if self.socket:
                return self.socket
            connection = socket.socket(self.family, socket.SOCK_STREAM)
            connection.settimeout(self.socket_timeout)
            try:
                connection.connect(self.address)
            except OSError as exc:
                connection.close()
                self.mark_dead(f"connect: {exc}")
                return None
            self.socket, self.buffer = connection, b""
            self.connected_at = time.time()  # the clock of deaduntil
            if self.flush_on_next_connect:
                self.flush()
                self.flush_on_next_connect = 0
            return connection

    class Client(library.Client):  # type: ignore[misc,name-defined]
        def set_servers(self, servers: list[str]) -> None:
            self.servers = [
                Host(
                    server,
                    self.debug,
                    dead_retry=self.dead_retry,
                    socket_timeout=self.socket_timeout,
                    flush_on_reconnect=self.flush_on_reconnect,
                )
                for server in servers
            ]
            self._init_buckets()

        def _val_to_store_info(self, value: Item, min_compress_len: int) -> tuple[int, int, bytes]:
            data, flags = value  # serialised by the adapter already
            return flags, len(data), data

        def _recv_value(self, server: Any, flags: int, length: int) -> Any:
            data = server.recv(length + 2)
            if len(data) != length + 2:
                raise library._Error(f"received {len(data)} bytes, expected {length + 2}")
            return loads(data[:-2], flags)

    return Client


class PythonMemcachedAdapter(MemcacheApi):
    """The contract over python-memcached.

    :param servers: ``"host:port"`` or a list of them (wheezy.caching passes
        the ``memcache.Client`` arguments: they are accepted as they are).
    :param args: more positional ``memcache.Client`` arguments.
    :param key_encode: applied to every key before it is checked (once per
        distinct key: the checked keys are remembered).
    :param kwargs: ``memcache.Client`` arguments; ``socket_timeout``
        defaults to 1 s and ``dead_retry`` to 1 s (the period of the failure
        warnings too). ``server_max_value_length`` and ``check_keys`` are
        set by the adapter.
    :raises MissingExtraError: python-memcached is not installed.
    """

    def __init__(
        self,
        servers: str | Sequence[str],
        *args: Any,
        key_encode: Callable[[Key], Key] | None = None,
        **kwargs: Any,
    ) -> None:
        library_client = _client_class()
        servers = as_servers(servers)
        kwargs.setdefault("socket_timeout", DEFAULT_TIMEOUT)
        kwargs.setdefault("dead_retry", DEFAULT_RETRY_TIMEOUT)
        kwargs.update(server_max_value_length=0, check_keys=False)
        pool = Pool(lambda: library_client(servers, *args, **kwargs), shared=True, close=_close)
        super().__init__(pool, servers, key_encode, logger, kwargs["dead_retry"], recovers=True)
        #: server -> time.time() of its last failure
        self._failed_at: dict[str, float] = {}
        self.ping_timeout = kwargs["socket_timeout"]

    url_options = URL_OPTIONS

    @classmethod
    def build(cls, servers: str | Sequence[str], **options: Any) -> PythonMemcachedAdapter:
        """As :meth:`MemcachedAdapter.build`: ``timeout`` is python-memcached's
        ``socket_timeout`` (for connecting too) and ``retry_timeout`` its
        ``dead_retry``; it has no ``connect_timeout`` or ``pool_size``."""
        return cls(servers, **{_RENAMED.get(name, name): value for name, value in options.items()})

    def _inspect(self, client: Any) -> None:
        # python-memcached never raises on a failure: read its dead state
        # after each call (deaduntil stays 0 while a server has not failed).
        for host in client.servers:
            if host.deaduntil:
                self._note_dead(client)
                return

    def _report(self, server: str, error: object, failed_at: float | None = None) -> None:
        """As the base's; ``failed_at`` (``time.time()``, default now) is when
        the server failed: a thread's dead state can be older than its report."""
        at = time.time() if failed_at is None else failed_at
        if at > self._failed_at.get(server, 0.0):
            self._failed_at[server] = at
        super()._report(server, error)

    def _answered(self, client: Any) -> list[str]:
        # A server is back when this thread holds a connection to it made
        # since its last failure, and no call marked it dead since. A failure
        # reported under all the servers' names (an exception, server
        # unknown) is over when any of them answers.
        down = self.failures.down
        back = [
            name
            for name, host in zip(self.servers, client.servers, strict=False)
            if name in down
            and host.socket
            and not host.deaduntil
            and host.connected_at > self._failed_at.get(name, 0.0)
        ]
        everyone = ",".join(self.servers)
        if back and everyone in down and everyone not in back:
            back.append(everyone)
        return back

    def _note_dead(self, client: Any) -> None:
        now = time.time()
        for name, host in zip(self.servers, client.servers, strict=False):
            if host.deaduntil > now:
                # Marked dead at deaduntil - dead_retry, perhaps well before.
                marked = host.deaduntil - host.dead_retry
                self._report(name, "marked dead by python-memcached", marked)

    def _store(self, mode: str, client: Any, key: bytes, item: Item, exptime: int) -> bool:
        return bool(getattr(client, mode)(key, item, exptime))

    def _delete_many(self, client: Any, keys: list[bytes]) -> bool:
        # python-memcached skips the keys of a dead server and still says 1;
        # their items may live on when it returns, so that is a failure.
        deleted = bool(client.delete_multi(keys))
        return deleted and not _any_dead(client)

    def _incr(self, client: Any, key: bytes, delta: int) -> int | None:
        return _counted(client.incr, key, delta)

    def _decr(self, client: Any, key: bytes, delta: int) -> int | None:
        return _counted(client.decr, key, delta)

    def _flush(self, client: Any) -> bool:
        """``flush_all`` on every server; ``False`` unless each answers OK."""
        flushed = True
        for host in client.servers:
            if not host.connect():
                flushed = False
                continue
            try:
                host.send_cmd(b"flush_all")
                answer = host.readline()
            except OSError as exc:
                host.mark_dead(exc)
                flushed = False
                continue
            if answer != b"OK":
                # Alive but refusing (twemproxy closes the connection on
                # flush_all): not a reason to stop using it.
                host.deaduntil = 0
                flushed = False
        return flushed


def _counted(call: Callable[[bytes, int], int | None], key: bytes, delta: int) -> int | None:
    try:
        return call(key, delta)
    except ValueError:  # int(b"CLIENT_ERROR cannot increment ...")
        raise non_numeric() from None


def _any_dead(client: Any) -> bool:
    now = time.time()
    return any(host.deaduntil > now for host in client.servers)


def _close(client: Any) -> None:
    client.disconnect_all()
