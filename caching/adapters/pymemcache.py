"""``PymemcacheAdapter`` over pymemcache (``pip install 'caching-toolkit[pymemcache]'``).

One server uses ``pymemcache.Client``; several use ``HashClient``, which
spreads keys by rendezvous hashing (removing one of N servers moves about 1/N
of the keys) and leaves a failed server alone for ``retry_timeout`` seconds.

Settings the adapter always uses, whatever the caller passes:
``default_noreply=False`` (pymemcache's ``True`` makes ``add``, ``replace``,
``delete`` and refused values all report success), finite timeouts (the
library's default waits forever on a hung server), the values format of
:mod:`caching.adapters.serializer`, and keys checked by :mod:`caching.key_rules` before any
I/O. Clients are pooled (a pymemcache ``Client`` is not thread-safe) and
never shared with a forked child.

pymemcache closes a connection when it cannot read a reply, but not always:
an ``incr``/``decr``/``delete``/``flush_all`` reply it does not expect is
read as a value (``ValueError`` out of ``int()``) or as "not deleted", with
the connection left as it is, and bytes that arrive after a reply (a reply
not asked for, the rest of one given up on) are read as the answer to the
next command. The adapter's clients check those replies too, and, before
each command, that nothing is waiting on the connection: one holding unread
bytes (logged) or closed by the server is replaced by a new one before the
command is sent (docs/FAILURES.md, "Misbehaving servers").
"""

from __future__ import annotations

import logging
import select
import socket
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from caching.adapters.base import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_RETRY_TIMEOUT,
    DEFAULT_TIMEOUT,
    NON_NUMERIC,
    MemcachedAdapter,
    require,
)
from caching.adapters.options import as_servers
from caching.adapters.pool import Pool
from caching.adapters.serializer import Codec, Item, loads
from caching.key_rules import Key, key_stored
from caching.store_rules import ADD, REPLACE, SET

__all__ = ["PymemcacheAdapter"]

logger = logging.getLogger(__name__)


class _Serde:
    """pymemcache's serde hook: values arrive already serialised. An item
    :func:`loads` cannot read (flags no adapter writes, bytes that do not
    decode as their flags say, a pickle of a class gone) is a miss for its
    key alone, reported to ``refused(key, error)``."""

    def __init__(self, refused: Callable[[bytes, Exception], object]) -> None:
        self.refused = refused

    def serialize(self, key: bytes, value: Item) -> Item:
        return value

    def deserialize(self, key: bytes, value: bytes, flags: int) -> Any:
        try:
            return loads(value, flags)
        except Exception as exc:  # UnpicklingError, UnicodeDecodeError, ValueError...
            self.refused(key, exc)
            return None


class _UndecodedSerde(_Serde):
    """The serde of an adapter with a :class:`Codec`: items are handed over
    as ``(data, flags)``, for the adapter to check and read."""

    def deserialize(self, key: bytes, value: bytes, flags: int) -> Any:
        return value, flags


def _address(server: Any) -> str:
    return f"{server[0]}:{server[1]}" if isinstance(server, tuple) else str(server)


def _close(client: Any) -> None:
    client.close()


@cache
def _library() -> Any:
    return require("pymemcache", "pymemcache")


#: memcached's ``CLIENT_ERROR cannot increment or decrement non-numeric
#: value``, as pymemcache's ``MemcacheClientError`` carries it.
NON_NUMERIC_ERROR = b"cannot increment or decrement non-numeric value"


#: The store modes as pymemcache's command names.
_MODES = {mode: mode.encode("ascii") for mode in (SET, ADD, REPLACE)}


#: The replies of a store that did not store (a SERVER_ERROR line aside).
_NOT_STORED = frozenset({b"NOT_STORED", b"EXISTS", b"NOT_FOUND"})


def _counter_reply(line: bytes) -> bool:
    return line.isdigit() or line == b"NOT_FOUND"


#: The one-line replies each command the adapter sends through
#: ``_misc_cmd`` can get (error lines are raised by pymemcache first).
_MISC_REPLIES: dict[bytes, Callable[[bytes], bool]] = {
    b"delete": frozenset({b"DELETED", b"NOT_FOUND"}).__contains__,
    b"incr": _counter_reply,
    b"decr": _counter_reply,
    b"flush_all": frozenset({b"OK"}).__contains__,
}


@cache
def _client_classes() -> tuple[Any, Any]:
    """pymemcache's ``Client`` and ``HashClient`` (over that ``Client``),
    strict about what waits on a connection and about one-line replies."""
    library = _library()
    base = library.Client
    unknown = library.exceptions.MemcacheUnknownError
    closed = library.exceptions.MemcacheUnexpectedCloseError
    fetch, store, misc = base._fetch_cmd, base._store_cmd, base._misc_cmd

    class Client(base):  # type: ignore[misc,valid-type]
        _poll: Any = None

        def _connect(self) -> None:
            base._connect(self)
            poller = select.poll()
            poller.register(self.sock, select.POLLIN)
            self._poll = poller.poll

        def close(self) -> None:
            base.close(self)
            self._poll = None  # polled only while its socket is open

        disconnect_all = close  # pymemcache's alias names the base's close

        #: Called with the server and a reason when a connection is found
        #: holding bytes no command asked for (the adapter logs it).
        on_unread: Callable[[str, str], None] | None = None

        def _out_of_step(self) -> None:
            """Before a command, something is waiting on the connection:
            bytes (a reply not asked for, the rest of one given up on), or
            the end of a connection the server closed. The connection is
            dropped and the command goes out on a new one (it has sent
            nothing yet)."""
            try:
                unread = self.sock.recv(4096, socket.MSG_PEEK)  # readable: no wait
            except OSError:  # reset by the server
                unread = b""
            self.close()
            if unread and self.on_unread is not None:
                reason = f"{len(unread)} bytes no command asked for: {unread[:40]!r}"
                self.on_unread(_address(self.server), reason)

        # The check inline in each command: one poll, no extra call.

        def _fetch_cmd(
            self, name: bytes, keys: Any, expect_cas: bool, key_prefix: bytes = b""
        ) -> Any:
            if self._poll is not None and self._poll(0):
                self._out_of_step()
            return fetch(self, name, keys, expect_cas, key_prefix)

        def _store_cmd(
            self,
            name: bytes,
            values: Any,
            expire: int,
            noreply: bool,
            flags: int | None = None,
            cas: bytes | None = None,
        ) -> Any:
            if self._poll is not None and self._poll(0):
                self._out_of_step()
            return store(self, name, values, expire, noreply, flags, cas)

        def store_batch(self, name: bytes, items: dict[bytes, Item], expire: int) -> list[bytes]:
            """``name`` (``set``, ``add`` or ``replace``) of every item, as
            pymemcache's ``_store_cmd`` sends them (one write, then one reply
            line per command, in order) without its per-key work: the keys
            come checked and the items serialised by the adapter. The keys
            not stored; a ``SERVER_ERROR`` (too large, out of memory) is one
            of them and leaves the connection in step (memcached has read
            the data). A reply the commands cannot get closes the connection
            and raises ``MemcacheUnknownError``; a failure closes it too."""
            if self._poll is not None and self._poll(0):
                self._out_of_step()
            if self.sock is None:
                self._connect()
            request = b"".join(
                b"%s %s %d %d %d\r\n%s\r\n" % (name, key, flags, expire, len(data), data)
                for key, (data, flags) in items.items()
            )
            try:
                self.sock.sendall(request)
                lines: list[bytes] = []
                rest = b""
                while len(lines) < len(items):
                    chunk = self.sock.recv(65536)
                    if not chunk:
                        raise closed()
                    *done, rest = (rest + chunk).split(b"\r\n")
                    lines += done
            except Exception:
                self.close()
                raise
            if len(lines) != len(items) or rest:
                self.close()
                raise unknown(f"{len(lines) - len(items)} reply lines too many to {name!r}")
            failed = []
            for key, line in zip(items, lines, strict=True):
                if line != b"STORED":
                    if line not in _NOT_STORED and not line.startswith(b"SERVER_ERROR "):
                        self.close()
                        raise unknown(f"unexpected reply {line[:60]!r} to {name!r}")
                    failed.append(key)
            return failed

        def _misc_cmd(
            self, cmds: Any, cmd_name: bytes, noreply: bool | None, end_tokens: Any = None
        ) -> list[bytes]:
            if self._poll is not None and self._poll(0):
                self._out_of_step()
            lines: list[bytes] = misc(self, cmds, cmd_name, noreply, end_tokens)
            valid = _MISC_REPLIES.get(cmd_name)
            if valid is not None:
                for line in lines:
                    if not valid(line):
                        self.close()
                        raise unknown(f"unexpected reply {line[:60]!r} to {cmd_name!r}")
            return lines

    class HashClient(library.HashClient):  # type: ignore[misc,name-defined]
        client_class = Client
        on_unread: Callable[[str, str], None] | None = None

        def add_server(self, server: Any, port: Any = None) -> None:
            super().add_server(server, port)
            for node in self.clients.values():
                node.on_unread = self.on_unread

    return Client, HashClient


class PymemcacheAdapter(MemcachedAdapter):
    """The contract over pymemcache.

    :param servers: ``"host:port"`` or a list of them (``"unix:/path"`` for a
        socket); several servers are spread by consistent hashing.
    :param key_encode: applied to every key before it is checked (once per
        distinct key: the checked keys are remembered).
    :param connect_timeout: seconds to wait for a connection.
    :param timeout: seconds to wait for an answer; a hung server costs this
        much per call.
    :param retry_timeout: seconds a failed server is left alone (with several
        servers) and between two warnings about it.
    :param pool_size: most idle clients kept for reuse.
    :param serializer: ``"pickle"`` (default), ``"json"`` or ``"msgpack"``.
    :param secret: signs and checks every item (``str``/``bytes``, or a list
        of them for rotation: the first signs).
    :param compress_over: bytes; longer values are compressed.
    :param compressor: ``"zlib"`` or ``"zstd"``.
        (These four as :class:`~caching.adapters.serializer.Codec`.)
    :param client_options: more keyword arguments for ``pymemcache.Client``
        or ``HashClient`` (not ``serde``, ``default_noreply`` or
        ``ignore_exc``, which the adapter sets).
    :raises MissingExtraError: pymemcache is not installed.
    """

    def __init__(
        self,
        servers: str | Sequence[str],
        key_encode: Callable[[Key], Key] | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        timeout: float = DEFAULT_TIMEOUT,
        retry_timeout: float = DEFAULT_RETRY_TIMEOUT,
        pool_size: int = 16,
        serializer: str = "pickle",
        secret: str | bytes | Sequence[str | bytes] | None = None,
        compress_over: int | None = None,
        compressor: str = "zlib",
        **client_options: Any,
    ) -> None:
        library = _library()
        codec = Codec(serializer, secret, compress_over, compressor)
        servers = as_servers(servers)
        options: dict[str, Any] = {
            "connect_timeout": connect_timeout,
            "timeout": timeout,
            "no_delay": True,
            **client_options,
            "serde": (_Serde if codec.plain else _UndecodedSerde)(self._refused_item),
            "default_noreply": False,
            "allow_unicode_keys": True,
        }
        client_class, hash_client_class = _client_classes()
        if len(servers) == 1:
            make: Callable[[], Any] = lambda: client_class(servers[0], **options)  # noqa: E731
        else:
            options.update(retry_timeout=retry_timeout, dead_timeout=retry_timeout)
            options.update(use_pooling=False, ignore_exc=False)
            make = lambda: hash_client_class(servers, **options)  # noqa: E731

        def factory() -> Any:
            client = make()
            client.on_unread = self._unread
            if hasattr(client, "clients"):  # a HashClient: its nodes too
                for node in client.clients.values():
                    node.on_unread = self._unread
            return client

        pool = Pool(factory, pool_size, close=_close)
        # HashClient leaves a failed server alone for dead_timeout; Client has
        # no such period, so the adapter holds off itself (the one failure
        # state of its server for every pooled client: docs/FAILURES.md).
        hold_off = len(servers) == 1
        super().__init__(pool, servers, key_encode, logger, retry_timeout, hold_off, codec=codec)
        self.ping_timeout = timeout
        exceptions = library.exceptions
        self.errors = (exceptions.MemcacheError, OSError)
        # A server that answers a line it should not is alive: no hold-off.
        self.bad_replies = (
            exceptions.MemcacheUnknownError,
            exceptions.MemcacheClientError,
            exceptions.MemcacheUnknownCommandError,
        )
        self._client_error = exceptions.MemcacheClientError
        self._server_error = exceptions.MemcacheServerError
        self._closed_error = exceptions.MemcacheUnexpectedCloseError

    def _store(self, mode: str, client: Any, key: bytes, item: Item, exptime: int) -> bool:
        try:
            return bool(getattr(client, mode)(key, item, exptime, noreply=False))
        except self._server_error as exc:
            if isinstance(exc, self._closed_error):
                raise
            # The server answered SERVER_ERROR: it refused this item (larger
            # than the item size, or out of memory under memcached -M).
            return False

    def _store_batch(
        self, client: Any, mode: str, items: dict[bytes, Item], exptime: int
    ) -> list[bytes]:
        # One write of every command, then the replies: one round trip per
        # server for any mode (pymemcache's own set_many does so for set
        # only, with per-key work the adapter has done already).
        name = _MODES[mode]
        if len(self.servers) == 1:
            return client.store_batch(name, items, exptime)  # type: ignore[no-any-return]
        failed: list[bytes] = []
        for node, keys in self._by_node(client, items).items():
            batch = {key: items[key] for key in keys}
            try:  # None: a node left alone after a failure
                refused = client._safely_run_func(
                    node, node.store_batch, None, name, batch, exptime
                )
            except self.errors as exc:
                self._report(_address(node.server), exc)
                refused = None
            except Exception as exc:  # a reply pymemcache could not read
                node.close()
                self._bad_reply_seen(_address(node.server), repr(exc))
                refused = None
            failed += keys if refused is None else refused
        return failed

    def _by_node(self, client: Any, keys: Any) -> dict[Any, list[Any]]:
        """A HashClient's keys by the node that holds them (keys with no
        live node left out); ``str`` keys placed by their UTF-8 bytes, as
        every call places them."""
        batches: dict[Any, list[Any]] = {}
        unplaced = False
        for key in keys:
            node = client._get_client(key_stored(key))
            if node is not None:
                batches.setdefault(node, []).append(key)
            else:
                unplaced = True
        if unplaced:  # no live server for some keys: this call met a failure
            self._count_failure()
        return batches

    def _get(self, client: Any, key: bytes) -> Any:
        return client.get(key)

    def _get_many(self, client: Any, keys: list[Key]) -> dict[Key, Any]:
        if len(self.servers) == 1:
            return client.get_many(keys)  # type: ignore[no-any-return]
        # HashClient.get_many drops every server's answers when one fails:
        # ask server by server (through its own failure bookkeeping) so that
        # the part that could be read is returned.
        # HashClient places a key by hashing its repr: always the bytes,
        # so that "k" and b"k" land on the server every call uses.
        found: dict[Key, Any] = {}
        for node, batch in self._by_node(client, keys).items():
            try:
                found.update(client._safely_run_func(node, node.get_many, {}, batch))
            except self.errors as exc:
                self._report(_address(node.server), exc)
            except Exception as exc:  # a reply pymemcache could not read
                node.close()
                self._bad_reply_seen(_address(node.server), repr(exc))
        return found

    def _delete(self, client: Any, key: bytes) -> bool:
        return bool(client.delete(key, noreply=False))

    def _delete_many(self, client: Any, keys: list[bytes]) -> bool:
        if len(self.servers) == 1:  # one write, then the replies
            return bool(client.delete_many(keys, noreply=False))
        # HashClient.delete_many deletes key by key: each node's batch in
        # one round trip instead, through its own failure bookkeeping.
        deleted = True
        for node, batch in self._by_node(client, keys).items():
            try:  # None: a node left alone after a failure
                done = client._safely_run_func(node, node.delete_many, None, batch, noreply=False)
                deleted = deleted and done is not None
            except self.errors as exc:
                self._report(_address(node.server), exc)
                deleted = False
            except Exception as exc:  # a reply pymemcache could not read
                node.close()
                self._bad_reply_seen(_address(node.server), repr(exc))
                deleted = False
        return deleted

    def _incr(self, client: Any, key: bytes, delta: int) -> int | None:
        return self._counted(client.incr, key, delta)

    def _decr(self, client: Any, key: bytes, delta: int) -> int | None:
        return self._counted(client.decr, key, delta)

    def _counted(self, call: Callable[[bytes, int], Any], key: bytes, delta: int) -> int | None:
        try:
            return call(key, delta)  # type: ignore[no-any-return]
        except self._client_error as exc:
            if exc.args and exc.args[0] == NON_NUMERIC_ERROR:
                return NON_NUMERIC
            raise  # another CLIENT_ERROR: a reply that does not belong here

    def _refused_item(self, key: bytes, error: Exception) -> None:
        """An item :func:`loads` could not read: a miss, logged once per period."""
        self._item_refusals.report(key, f"{type(error).__name__}: {error}")

    def _unread(self, server: str, reason: str) -> None:
        """A connection held bytes no command asked for: it was replaced."""
        self._bad_reply_seen(server, reason)

    def _flush(self, client: Any) -> bool:
        try:
            return bool(client.flush_all(noreply=False))
        except self._closed_error:
            # The server (twemproxy) took the command and closed the
            # connection: a refusal, not a failure; pymemcache reconnects.
            return False
