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

python-memcached reads replies loosely: it takes a ``VALUE`` line for
another key as the answer, raises ``ValueError``/``KeyError`` on a reply it
cannot parse, and leaves unread replies on the connection, so that later
calls read the answers meant for earlier ones. The adapter's client speaks
the few commands the adapter sends (``get``, ``set``/``add``/``replace``,
their batches, ``delete``, ``incr``/``decr``, ``flush_all``) itself, over
python-memcached's connections and server choice: every reply is checked
against the command (the key of each ``VALUE``, the ``END``, the data's
``\\r\\n``, the one-line answers a command can get), a connection holding
bytes no command asked for is replaced before the next command, and one that
gets an unexpected reply is closed at once; the call answers "nothing
happened" and the adapter logs it once per period (docs/FAILURES.md,
"Misbehaving servers").

Several servers are spread by python-memcached's CRC32 **modulo N**: adding
or removing one of N servers moves most keys (about 2/3 of them with three
servers), and a dead server's keys are rehashed onto the others. The
adapters place keys differently from one another: do not mix them on one
set of servers.
"""

from __future__ import annotations

import logging
import select
import socket
import time
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from caching.adapters.base import (
    DEFAULT_RETRY_TIMEOUT,
    DEFAULT_TIMEOUT,
    NON_NUMERIC,
    MemcacheApi,
    require,
)
from caching.adapters.options import ADAPTER_OPTIONS, CODEC_OPTIONS, as_servers
from caching.adapters.pool import Pool
from caching.adapters.serializer import FLAG_INT, Codec, Item, counter_value, loads, raw
from caching.key_rules import Key

__all__ = ["URL_OPTIONS", "PythonMemcachedAdapter"]

logger = logging.getLogger(__name__)

#: Options of ``memcached://...?client=python-memcached``: ``timeout`` (the
#: socket timeout, also for connecting), ``retry_timeout`` (``dead_retry``)
#: and the value format's (``serializer``, ``secret_env``...).
URL_OPTIONS = {
    **{name: ADAPTER_OPTIONS[name] for name in ("timeout", "retry_timeout")},
    **CODEC_OPTIONS,
}

# The adapters' option names -> python-memcached's.
_RENAMED = {"timeout": "socket_timeout", "retry_timeout": "dead_retry"}


#: memcached's answer to incr/decr of an item that is not a counter.
NON_NUMERIC_REPLY = b"CLIENT_ERROR cannot increment or decrement non-numeric value"

_COMMANDS = {name: name.encode("ascii") for name in ("set", "add", "replace", "incr", "decr")}
_STORE_REPLIES = frozenset({b"STORED", b"NOT_STORED", b"EXISTS", b"NOT_FOUND"})
_DELETE_REPLIES = frozenset({b"DELETED", b"NOT_FOUND"})


class OutOfStepError(Exception):
    """A reply the command did not ask for, or could not get: the
    connection is out of step with the server and is closed."""


def _stored_reply(line: bytes) -> bool:
    # SERVER_ERROR (too large, out of memory): refused, and the connection
    # stays in step (memcached swallows the data).
    return line in _STORE_REPLIES or line.startswith(b"SERVER_ERROR ")


def _counter_reply(line: bytes) -> bool:
    return line.isdigit() or line == b"NOT_FOUND" or line == NON_NUMERIC_REPLY


def _delete_reply(line: bytes) -> bool:
    return line in _DELETE_REPLIES


def _header(line: bytes, asked: Any) -> tuple[bytes, int, int]:
    """``(key, flags, length)`` of a ``VALUE`` line naming a key in ``asked``."""
    parts = line.split(b" ")
    if (
        len(parts) != 4
        or parts[0] != b"VALUE"
        or parts[1] not in asked
        or not parts[2].isdigit()
        or not parts[3].isdigit()
    ):
        raise OutOfStepError(f"expected END or VALUE of a key asked for, got {line[:60]!r}")
    return parts[1], int(parts[2]), int(parts[3])


@cache
def _client_class(undecoded: bool = False) -> Any:
    """python-memcached's ``Client`` with the adapter's value format and a
    strict reading of the replies to the commands the adapter sends.

    ``undecoded``: for an adapter with a :class:`Codec`, the client hands
    every item over as ``(data, flags)``, for the adapter to check and read.
    """
    decode = raw if undecoded else loads
    library = require("memcache", "memcache")
    dead = (library._ConnectionDeadError, library._Error, OSError)

    class Host(library._Host):  # type: ignore[misc,name-defined]
        socket: Any
        buffer: bytes
        flush_on_next_connect: int
        deaduntil: float
        #: time.time() the socket was connected (this thread's)
        connected_at = 0.0
        #: Why this connection was last found out of step (reported and
        #: cleared by the adapter after the call); ``None`` when in step.
        trouble: str | None = None
        _poll: Any = None

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
            poller = select.poll()
            poller.register(connection, select.POLLIN)
            self.socket, self.buffer, self._poll = connection, b"", poller.poll
            self.connected_at = time.time()  # the clock of deaduntil
            if self.flush_on_next_connect:
                self.flush()
                self.flush_on_next_connect = 0
            return connection

        def close_socket(self) -> None:
            super().close_socket()
            self.buffer, self._poll = b"", None

        def send_cmd(self, cmd: bytes | str) -> None:
            self.send_cmds((cmd.encode("utf-8") if isinstance(cmd, str) else cmd) + b"\r\n")

        def send_cmds(self, cmds: bytes | str) -> None:
            # Nothing may be waiting before a command: bytes left over (a
            # reply not asked for, the rest of one given up on) would be read
            # as its answer.
            if self.buffer or (self._poll is not None and self._poll(0)):
                self._replace_connection()
            self.socket.sendall(cmds.encode("utf-8") if isinstance(cmds, str) else cmds)

        def _replace_connection(self) -> None:
            """Drop a connection holding unread bytes (or closed by the
            server) for a new one; unread bytes are noted as trouble."""
            unread = self.buffer
            if not unread:
                try:
                    unread = self.socket.recv(4096, socket.MSG_PEEK)  # readable: no wait
                except OSError:  # reset by the server
                    unread = b""
            self.close_socket()
            if unread:
                self.trouble = f"{len(unread)} bytes no command asked for: {unread[:40]!r}"
            if not self._get_socket():  # refused: marked dead
                raise OSError(f"cannot reconnect to {self}")

        def readlines(self, count: int) -> list[bytes]:
            """The next ``count`` reply lines (without ``\\r\\n``), in as few
            receives as they arrive in; what follows stays buffered.

            :raises _ConnectionDeadError: the connection closed first (the
                server is marked dead).
            """
            buf = self.buffer
            while buf.count(b"\r\n") < count:
                data = self.socket.recv(65536) if self.socket else b""
                if not data:
                    self.mark_dead("connection closed in readlines()")
                    raise library._ConnectionDeadError()
                buf += data
            *lines, self.buffer = buf.split(b"\r\n", count)
            return lines

        def out_of_step(self, reason: str) -> None:
            """The reply was not one the command can get: close the connection."""
            self.trouble = reason
            self.close_socket()

        def ask(self, request: bytes, valid: Callable[[bytes], bool]) -> bytes | None:
            """Send ``request`` and read its one-line reply: the line, or
            ``None`` when the server failed (marked dead) or the reply is not
            ``valid`` (connection closed)."""
            try:
                self.send_cmds(request)
                line: bytes = self.readline(True)
            except dead as exc:
                self.mark_dead(exc)
                return None
            if valid(line):
                return line
            self.out_of_step(f"unexpected reply {line[:60]!r} to {request[:40]!r}")
            return None

    class Client(library.Client):  # type: ignore[misc,name-defined]
        def __init__(
            self,
            *args: Any,
            on_refused: Callable[[bytes, str], object] | None = None,
            **kwargs: Any,
        ) -> None:
            # A threading.local: run again, with these arguments, in each thread.
            super().__init__(*args, **kwargs)
            #: Told of each item ``loads`` could not read (a miss).
            self.on_refused = on_refused
            #: No key_encoder of the caller's (python-memcached's own is the identity).
            self._plain_keys = kwargs.get("key_encoder") is None

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

        def _map_and_prefix_keys(self, key_iterable: Any, key_prefix: Any) -> Any:
            # As python-memcached's, without its per-key hashing and
            # connection check where there is one server, no prefix and no
            # key_encoder: every key goes to that server (or none if it is
            # down), under its UTF-8 bytes.
            if len(self.buckets) != 1 or key_prefix or not self._plain_keys:
                return super()._map_and_prefix_keys(key_iterable, key_prefix)
            server = self.buckets[0]
            if not server.connect():
                return {}, {}
            originals = {
                (key.encode("utf-8") if type(key) is str else key): key for key in key_iterable
            }
            return {server: list(originals)}, originals

        def _val_to_store_info(self, value: Item, min_compress_len: int) -> tuple[int, int, bytes]:
            data, flags = value  # serialised by the adapter already
            return flags, len(data), data

        def _recv_value(self, server: Any, flags: int, length: int) -> Any:
            data = server.recv(length + 2)
            if len(data) != length + 2:
                raise library._Error(f"received {len(data)} bytes, expected {length + 2}")
            if data[-2:] != b"\r\n":
                raise OutOfStepError(f"a value of {length} bytes not followed by \\r\\n")
            try:
                return decode(data[:-2], flags)
            except Exception as exc:  # an item loads cannot read: a miss for its key alone
                if self.on_refused is not None:
                    self.on_refused(b"(flags %d)" % flags, f"{type(exc).__name__}: {exc}")
                return None

        # -- the commands the adapter sends, read strictly ------------------

        def get(self, key: bytes, default: Any = None) -> Any:
            server, key = self._get_server(self.key_encoder(key))
            if not server:
                return None
            try:
                server.send_cmds(b"get " + key + b"\r\n")
                line = server.readline(True)
                if line == b"END":
                    return None
                _, flags, length = _header(line, (key,))
                value = self._recv_value(server, flags, length)
                line = server.readline(True)
                if line != b"END":
                    raise OutOfStepError(f"expected END after the value, got {line[:60]!r}")
                return value
            except dead as exc:
                server.mark_dead(exc)
            except Exception as exc:  # out of step, or a value that cannot be read
                server.out_of_step(f"{type(exc).__name__}: {exc}")
            return None

        def get_multi(self, keys: Any, key_prefix: bytes = b"") -> dict[Any, Any]:
            server_keys, originals = self._map_and_prefix_keys(keys, key_prefix)
            sent = []
            for server, wanted in server_keys.items():
                try:
                    server.send_cmds(b"get " + b" ".join(wanted) + b"\r\n")
                except dead as exc:
                    server.mark_dead(exc)
                    continue
                sent.append((server, frozenset(wanted)))
            found: dict[Any, Any] = {}
            for server, asked in sent:
                part = {}
                try:
                    line = server.readline(True)
                    while line != b"END":
                        key, flags, length = _header(line, asked)
                        part[originals[key]] = self._recv_value(server, flags, length)
                        line = server.readline(True)
                except dead as exc:
                    server.mark_dead(exc)
                    continue
                except Exception as exc:  # none of this server's answers is trusted
                    server.out_of_step(f"{type(exc).__name__}: {exc}")
                    continue
                found.update(part)
            return found

        def _set(
            self,
            cmd: str,
            key: bytes,
            val: Item,
            time: int,
            min_compress_len: int = 0,
            noreply: bool = False,
        ) -> bool:
            server, key = self._get_server(key)
            if not server:
                return False
            data, flags = val
            request = b"%s %s %d %d %d\r\n%s\r\n" % (
                _COMMANDS[cmd],
                key,
                flags,
                time,
                len(data),
                data,
            )
            return server.ask(request, _stored_reply) == b"STORED"  # type: ignore[no-any-return]

        def set_multi(
            self,
            mapping: dict[bytes, Item],
            time: int = 0,
            key_prefix: bytes = b"",
            min_compress_len: int = 0,
            noreply: bool = False,
        ) -> list[bytes]:
            return self.store_multi("set", mapping, time, key_prefix)

        def store_multi(
            self, cmd: str, mapping: dict[bytes, Item], time: int = 0, key_prefix: bytes = b""
        ) -> list[bytes]:
            """``set``, ``add`` or ``replace`` (``cmd``) of every item of
            ``mapping``: each server's commands in one write, then its
            replies read (one round trip per server); the keys not stored."""
            command = _COMMANDS[cmd]
            server_keys, originals = self._map_and_prefix_keys(mapping, key_prefix)
            placed = set(originals.values())
            not_stored = [key for key in mapping if key not in placed]  # no live server
            sent = []
            for server, keys in server_keys.items():
                parts = []
                for key in keys:
                    data, flags = mapping[originals[key]]
                    parts.append(b"%s %s %d %d %d\r\n" % (command, key, flags, time, len(data)))
                    parts.append(data + b"\r\n")
                request = b"".join(parts)
                try:
                    server.send_cmds(request)
                except dead as exc:
                    server.mark_dead(exc)
                    not_stored.extend(originals[key] for key in keys)
                    continue
                sent.append((server, keys))
            for server, keys in sent:
                try:
                    lines = server.readlines(len(keys))
                except dead as exc:
                    server.mark_dead(exc)
                    not_stored.extend(originals[key] for key in keys)
                    continue
                for line in lines:
                    if not _stored_reply(line):
                        server.out_of_step(f"unexpected reply {line[:60]!r} to {cmd}")
                        not_stored.extend(originals[key] for key in keys)
                        break
                else:
                    not_stored.extend(
                        originals[key]
                        for key, line in zip(keys, lines, strict=True)
                        if line != b"STORED"
                    )
            return not_stored

        def delete(self, key: bytes, noreply: bool = False) -> int:
            server, key = self._get_server(self.key_encoder(key))
            if not server:
                return 0
            return int(server.ask(b"delete " + key + b"\r\n", _delete_reply) == b"DELETED")

        def delete_multi(
            self,
            keys: list[bytes],
            time: int | None = None,
            key_prefix: bytes = b"",
            noreply: bool = False,
        ) -> int:
            server_keys, originals = self._map_and_prefix_keys(keys, key_prefix)
            complete = len(set(originals.values())) == len(set(keys))  # each on a live server
            sent = []
            for server, wanted in server_keys.items():
                try:
                    server.send_cmds(b"".join(b"delete " + key + b"\r\n" for key in wanted))
                except dead as exc:
                    server.mark_dead(exc)
                    complete = False
                    continue
                sent.append((server, wanted))
            for server, wanted in sent:
                try:
                    for _ in wanted:
                        line = server.readline(True)
                        if not _delete_reply(line):
                            raise OutOfStepError(f"unexpected reply {line[:60]!r} to delete")
                except dead as exc:
                    server.mark_dead(exc)
                    complete = False
                except OutOfStepError as exc:
                    server.out_of_step(str(exc))
                    complete = False
            return int(complete)

        def _incrdecr(self, cmd: str, key: bytes, delta: int, noreply: bool = False) -> int | None:
            server, key = self._get_server(key)
            if not server:
                return None
            line = server.ask(b"%s %s %d\r\n" % (_COMMANDS[cmd], key, delta), _counter_reply)
            if line is None or line == b"NOT_FOUND":
                return None
            if line == NON_NUMERIC_REPLY:
                return NON_NUMERIC
            return int(line)

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
    :param serializer: ``"pickle"`` (default), ``"json"`` or ``"msgpack"``.
    :param secret: signs and checks every item (``str``/``bytes``, or a list
        of them for rotation: the first signs).
    :param compress_over: bytes; longer values are compressed.
    :param compressor: ``"zlib"`` or ``"zstd"``.
        (These four as :class:`~caching.adapters.serializer.Codec`.)
    :raises MissingExtraError: python-memcached (or the serializer's or
        compressor's library) is not installed.
    """

    def __init__(
        self,
        servers: str | Sequence[str],
        *args: Any,
        key_encode: Callable[[Key], Key] | None = None,
        serializer: str = "pickle",
        secret: str | bytes | Sequence[str | bytes] | None = None,
        compress_over: int | None = None,
        compressor: str = "zlib",
        **kwargs: Any,
    ) -> None:
        codec = Codec(serializer, secret, compress_over, compressor)
        library_client = _client_class(not codec.plain)
        servers = as_servers(servers)
        kwargs.setdefault("socket_timeout", DEFAULT_TIMEOUT)
        kwargs.setdefault("dead_retry", DEFAULT_RETRY_TIMEOUT)
        kwargs.update(server_max_value_length=0, check_keys=False, on_refused=self._refused_item)
        pool = Pool(lambda: library_client(servers, *args, **kwargs), shared=True, close=_close)
        super().__init__(
            pool, servers, key_encode, logger, kwargs["dead_retry"], recovers=True, codec=codec
        )
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
        # after each call (deaduntil stays 0 while a server has not failed),
        # and the trouble the strict client noted.
        for host in client.servers:
            if host.deaduntil or host.trouble:
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
            if name in down and self._fresh(host, name)
        ]
        everyone = ",".join(self.servers)
        if everyone in down and everyone not in back:
            failed_at = self._failed_at.get(everyone, 0.0)
            if any(self._fresh(host, everyone, failed_at) for host in client.servers):
                back.append(everyone)
        return back

    def _fresh(self, host: Any, name: str, failed_at: float | None = None) -> bool:
        """Whether this thread holds a live connection to ``host`` made since
        ``name``'s last failure."""
        since = self._failed_at.get(name, 0.0) if failed_at is None else failed_at
        return bool(host.socket) and not host.deaduntil and host.connected_at > since

    def _note_dead(self, client: Any) -> None:
        now = time.time()
        for name, host in zip(self.servers, client.servers, strict=False):
            if host.trouble:  # answered, out of step: logged, its health unchanged
                self._bad_reply_seen(name, host.trouble)
                host.trouble = None
            if host.deaduntil > now:
                # Marked dead at deaduntil - dead_retry, perhaps well before.
                marked = host.deaduntil - host.dead_retry
                self._report(name, "marked dead by python-memcached", marked)

    def _refused_item(self, key: bytes, reason: str) -> None:
        """An item :func:`loads` could not read: a miss, logged once per period."""
        self._item_refusals.report(key, reason)

    def _store(self, mode: str, client: Any, key: bytes, item: Item, exptime: int) -> bool:
        return bool(getattr(client, mode)(key, item, exptime))

    def _store_batch(
        self, client: Any, mode: str, items: dict[bytes, Item], exptime: int
    ) -> list[bytes]:
        # One round trip per server for every mode (the strict client's
        # store_multi; python-memcached's own pipelines set only).
        return list(client.store_multi(mode, items, exptime))

    def _gets(self, client: Any, key: bytes) -> tuple[Any, Any]:
        # python-memcached keeps the token in cas_ids while cache_cas is on.
        client.cache_cas = True
        client.cas_ids.pop(key, None)
        value = client.gets(key)
        token = client.cas_ids.get(key)
        if type(value) is tuple:  # an item handed over undecoded
            counted = counter_value(value)
            value = value if counted is None else counted  # no counter: stays a tuple
        return value, token

    def _cas(self, client: Any, key: bytes, value: int, token: Any) -> bool:
        # The strict client's own command (python-memcached's cas goes
        # through the store path, which this adapter replaced).
        client.cache_cas = False
        client.cas_ids.pop(key, None)
        server, stored_key = client._get_server(key)
        if not server:
            return False
        data = str(value).encode("ascii")
        request = b"cas %s %d 0 %d %d\r\n%s\r\n" % (stored_key, FLAG_INT, len(data), token, data)
        return server.ask(request, _stored_reply) == b"STORED"  # type: ignore[no-any-return]

    def _delete_many(self, client: Any, keys: list[bytes]) -> bool:
        # python-memcached skips the keys of a dead server and still says 1;
        # their items may live on when it returns, so that is a failure.
        deleted = bool(client.delete_multi(keys))
        return deleted and not _any_dead(client)

    def _incr(self, client: Any, key: bytes, delta: int) -> int | None:
        return client.incr(key, delta)  # type: ignore[no-any-return]

    def _decr(self, client: Any, key: bytes, delta: int) -> int | None:
        return client.decr(key, delta)  # type: ignore[no-any-return]

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
                # flush_all): not a reason to stop using it, nor the
                # connection, which may hold more of the answer.
                host.close_socket()
                host.deaduntil = 0
                flushed = False
        return flushed


def _any_dead(client: Any) -> bool:
    now = time.time()
    return any(host.deaduntil > now for host in client.servers)


def _close(client: Any) -> None:
    client.disconnect_all()
