"""``PylibmcAdapter`` over pylibmc (``pip install 'caching-toolkit[pylibmc]'``).

pylibmc wraps libmemcached. The adapter's clients use the text protocol
(binary mode marks a server dead for seconds after an ``incr`` on a
non-number, and raises on ``replace`` of a missing key), ketama consistent
hashing (removing one of N servers moves about 1/N of the keys), TCP_NODELAY
and finite timeouts. Values are stored in the format of
:mod:`caching.adapters.serializer`; keys are checked by :mod:`caching.key_rules` before any
I/O (pylibmc's text mode would send ``"a\\r\\nflush_all"`` as it is).

Limitation: pylibmc's ``incr``/``decr`` take a C ``int``, so a ``delta``
above ``2**31 - 1`` raises ``ValueError`` here (the other adapters take any
delta up to ``2**64 - 1``).

Each pylibmc client keeps its own failure state of each server
(libmemcached's retry wait). With one server, the adapter keeps the one
state instead (docs/FAILURES.md, "Recovery"): it holds off for
``retry_timeout`` after a failure, tries the server on a reset client
(``disconnect_all``), and retires every pooled client when it answers.

A foreign pool (anything with ``acquire``/``get_back`` but the adapter's
own :class:`~caching.adapters.pool.Pool`, e.g. wheezy's ``EagerPool`` of
:func:`client_factory` clients) is fork-safe too: in a process other than
the one a client was made in, the adapter never uses that client (its
sockets are the parent's) but a ``clone()`` of it, made once per client and
process, and keeps the parent's clients from ever being freed there
(:func:`~caching.adapters.pool.keep_forever`).
"""

from __future__ import annotations

import logging
import os
import weakref
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from caching.adapters.base import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_RETRY_TIMEOUT,
    DEFAULT_TIMEOUT,
    NON_NUMERIC,
    MemcacheApi,
    require,
)
from caching.adapters.options import as_servers
from caching.adapters.pool import Lease, Pool, PoolLike, checkout, keep_forever, process_id
from caching.adapters.serializer import (
    MARKED_TEXT,
    Codec,
    counter_value,
    from_native,
    raw,
)
from caching.counters import MAX_COUNTER
from caching.key_rules import Key
from caching.store_rules import ADD, REPLACE, SET

__all__ = ["MAX_DELTA", "PylibmcAdapter", "client_factory"]

logger = logging.getLogger(__name__)

#: Largest ``delta`` pylibmc passes to ``incr``/``decr`` (a C ``int``).
MAX_DELTA = 2**31 - 1


@cache
def _client_class(undecoded: bool = False) -> Any:
    """pylibmc's ``Client`` storing the items of :mod:`caching.adapters.serializer`.

    Values arrive serialised by the adapter: ``serialize`` is the identity,
    ``tuple`` (docs/PERFORMANCE.md, "pylibmc in C"). ``deserialize`` is
    pylibmc's own, in C, which reads the format's flags as
    :func:`~caching.adapters.serializer.loads` does but for quoted and bool
    items, which it reads as str (the adapter's ``get`` and ``get_multi``
    finish them with :func:`~caching.adapters.serializer.from_native`).

    ``undecoded``: the client of an adapter with a
    :class:`~caching.adapters.serializer.Codec`; its ``deserialize`` hands
    each item over as ``(data, flags)``
    (:func:`~caching.adapters.serializer.raw`), so that pylibmc's C decoder
    never unpickles it (it still inflates an item with its own zlib flag, 8,
    first, which no codec writes: docs/ADAPTERS.md).
    """
    library = require("pylibmc", "pylibmc")

    class Client(library.Client):  # type: ignore[misc,name-defined]
        serialize = staticmethod(tuple)

    if not undecoded:
        return Client

    class UndecodedClient(Client):
        deserialize = staticmethod(raw)

    return UndecodedClient


def _undecoded(client: Any) -> bool:
    """Whether ``client`` hands items over undecoded (``_client_class(True)``)."""
    return getattr(type(client), "deserialize", None) is raw


def client_factory(servers: str | Sequence[str], *, undecoded: bool = False, **kwargs: Any) -> Any:
    """Make a pylibmc client for :class:`PylibmcAdapter` (wheezy.caching's name).

    :param servers: ``"host:port"`` or a list of them.
    :param undecoded: a client for an adapter built with ``serializer=``,
        ``secret=`` or ``compress_over=``: it hands every item over as
        ``(data, flags)`` for the adapter to check and read.
    :param kwargs: ``pylibmc.Client`` arguments; ``binary`` defaults to
        ``False`` and ``behaviors`` to ``tcp_nodelay``, ``ketama``,
        ``connect_timeout`` 500 ms, ``_poll_timeout`` 1000 ms and
        ``retry_timeout`` 1 s (each can be overridden).
    :returns: a client that stores values in the adapter's format.
    :raises MissingExtraError: pylibmc is not installed.
    """
    kwargs.setdefault("binary", False)
    behaviors = kwargs.setdefault("behaviors", {})
    behaviors.setdefault("tcp_nodelay", True)
    behaviors.setdefault("ketama", True)
    behaviors.setdefault("connect_timeout", int(DEFAULT_CONNECT_TIMEOUT * 1000))
    behaviors.setdefault("_poll_timeout", int(DEFAULT_TIMEOUT * 1000))
    behaviors.setdefault("retry_timeout", max(1, round(DEFAULT_RETRY_TIMEOUT)))
    # libmemcached names a Unix socket by its bare path, not "unix:/path".
    specs = [server.removeprefix("unix:") for server in as_servers(servers)]
    client = _client_class(undecoded)(specs, **kwargs)
    client._caching_pid = os.getpid()  # the process its sockets will belong to
    return client


class _Own:
    """What this process uses for one client of a foreign pool: the client
    itself in the process that made it, a clone of it elsewhere; and the
    adapter's generation it was last reset for."""

    __slots__ = ("client", "generation", "pid")

    def __init__(self, pid: int, generation: int, client: Any) -> None:
        self.pid = pid
        self.generation = generation
        self.client = client


#: The attribute of a foreign pool's client that holds its :class:`_Own`.
_OWN = "_caching_own"

# Adapters over foreign pools, told when this process is a fork's child.
_FOREIGN: weakref.WeakSet[PylibmcAdapter] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for adapter in list(_FOREIGN):
        adapter._forked()


os.register_at_fork(after_in_child=_after_fork_in_child)


class PylibmcAdapter(MemcacheApi):
    """The contract over pylibmc.

    :param pool: as in wheezy.caching, a pool of clients made by
        :func:`client_factory` (anything with ``acquire``/``get_back``: a
        :class:`~caching.adapters.pool.Pool`, or a foreign pool such as
        wheezy's ``EagerPool``, whose clients a forked child replaces by clones);
        or ``"host:port"`` or a list of servers, for which the adapter
        builds its own fork-safe pool. The servers' names (for the log, and
        to know whether there is one) are read from a client: of a ``Pool``
        when the adapter is built (making a client, which does no I/O), of a
        foreign pool at its first checkout.
    :param key_encode: applied to every key before it is checked (once per
        distinct key: the checked keys are remembered).
    :param connect_timeout: seconds to wait for a connection.
    :param timeout: seconds to wait for an answer (libmemcached's poll
        timeout); a hung server costs this much per call.
    :param retry_timeout: whole seconds a failed server is left alone, and
        between two warnings about it.
    :param pool_size: most idle clients kept for reuse.
    :param serializer: ``"pickle"`` (default), ``"json"`` or ``"msgpack"``.
    :param secret: signs and checks every item (``str``/``bytes``, or a list
        of them for rotation: the first signs).
    :param compress_over: bytes; longer values are compressed.
    :param compressor: ``"zlib"`` or ``"zstd"``.
        (These four as :class:`~caching.adapters.serializer.Codec`; with any
        of them, a pool given must hold ``client_factory(...,
        undecoded=True)`` clients.)
    :param client_options: more :func:`client_factory` arguments.
    :raises MissingExtraError: pylibmc (or the serializer's or compressor's
        library) is not installed.
    :raises TypeError: a pool whose clients do not decode as the settings
        need (read from a ``Pool`` now, a foreign pool's at first use).
    """

    max_delta = MAX_DELTA

    def __init__(
        self,
        pool: PoolLike[Any] | str | Sequence[str],
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
        library = require("pylibmc", "pylibmc")
        codec = Codec(serializer, secret, compress_over, compressor)
        if isinstance(pool, (str, Sequence)):
            servers = as_servers(pool)
            behaviors = {
                "connect_timeout": max(1, round(connect_timeout * 1000)),
                "_poll_timeout": max(1, round(timeout * 1000)),
                "retry_timeout": max(1, round(retry_timeout)),
                **client_options.pop("behaviors", {}),
            }
            options = {**client_options, "behaviors": behaviors, "undecoded": not codec.plain}
            pool = Pool(lambda: client_factory(servers, **options), pool_size, close=_close)
        elif isinstance(pool, Pool):
            with checkout(pool) as client:  # makes a client if none is idle; no I/O
                servers = _addresses(client) or ["pool"]
                _check_decoding(client, codec)
        else:
            servers = ["pool"]  # until its first client names them (_adopt)
        # One server: the adapter's hold-off is its one failure state.
        single = len(servers) == 1 and servers != ["pool"]
        super().__init__(pool, servers, key_encode, logger, retry_timeout, single, codec=codec)
        if not isinstance(pool, Pool):
            self._generation = 0
            self._built_pid = os.getpid()
            # Every client this process used and the pool still holds (the
            # pool's, or clones, which their original holds): a fork's child
            # keeps them, never freed (keep_forever). Weak: a client the
            # pool drops is freed as usual.
            self._used: weakref.WeakSet[Any] = weakref.WeakSet()
            self._checkout = self._foreign_lender(pool)
            _FOREIGN.add(self)
        self.ping_timeout = timeout
        self.errors = (library.Error,)
        # A value over the item size; in binary mode, replace of a missing key.
        self.refusals = (library.TooBig, library.NotFound)
        # Replies libmemcached could not read, or error lines it read but may
        # have left more of (memcached answers some commands with two lines):
        # its connections are closed too.
        self.bad_replies = (
            library.UnknownReadFailure,
            library.ProtocolError,
            library.ClientError,
            library.ServerError,
        )
        self._client_get = library.Client.get
        # pylibmc's C methods (they return True or False) as the operations of
        # set/add/replace (docs/PERFORMANCE.md, "pylibmc in C").
        self._stores = {mode: getattr(library.Client, mode) for mode in (SET, ADD, REPLACE)}
        self._not_found = library.NotFound
        self._too_big = library.TooBig
        self._client_error = library.ClientError

    # -- a foreign pool ---------------------------------------------------

    def _foreign_lender(self, pool: PoolLike[Any]) -> Callable[[], Lease[Any]]:
        """The checkout of a foreign pool: the client of this process for
        each client the pool hands out (see :meth:`_adopt`)."""

        def lend() -> Lease[Any]:
            original = pool.acquire()
            own = getattr(original, _OWN, None)
            if own is None or own.pid != process_id() or own.generation != self._generation:
                try:
                    own = self._adopt(original, own)
                except BaseException:
                    pool.get_back(original)
                    raise
            return Lease(own.client, lambda lease: pool.get_back(original))

        return lend

    def _adopt(self, original: Any, own: _Own | None) -> _Own:
        """This process's client for ``original``, checked out of a foreign
        pool: ``original`` itself if it was made here, else a clone made
        once (a parent's client is never used, closed or freed here). A
        client used before a server came back is reset first."""
        pid = process_id()
        if own is not None and own.pid == pid:  # a server is back since its last use
            own.client.disconnect_all()
            own.generation = self._generation
            return own
        if own is None and getattr(original, "_caching_pid", self._built_pid) == pid:
            client = original
        else:
            client = original.clone()
            client._caching_pid = pid
        _check_decoding(client, self.codec)
        own = _Own(pid, self._generation, client)
        setattr(original, _OWN, own)
        self._used.add(original)
        if client is not original:
            self._used.add(client)
        if self.servers == ["pool"]:
            self._learn_servers(original)
        return own

    def _learn_servers(self, client: Any) -> None:
        """Name the foreign pool's servers (for the log), from its first client;
        with one server, keep its health (the hold-off)."""
        servers = _addresses(client)
        if servers:
            self.servers = servers
            self._hold_off = self._recovers = len(servers) == 1

    def _forked(self) -> None:
        """In a fork's child: the clients used so far are the parent's."""
        used, self._used = list(self._used), weakref.WeakSet()
        keep_forever(used)

    def _renew(self) -> None:
        if isinstance(self.pool, Pool):
            super()._renew()
        else:  # each client is reset when next checked out (_adopt)
            self._generation += 1

    def _refusal(self, error: BaseException) -> bool:
        # libmemcached's MEMCACHED_SERVER_MEMORY_ALLOCATION_FAILURE (48): the
        # server answered "SERVER_ERROR out of memory storing object" (a full
        # memcached -M), which pylibmc raises as its bare Error.
        return str(error).startswith(_OUT_OF_MEMORY)

    def _refused(
        self,
        client: Any,
        refusal: BaseException,
        operation: Callable[..., Any],
        args: tuple[Any, ...],
    ) -> None:
        # memcached unlinks the old item when it refuses a too large ``set``;
        # libmemcached may refuse one without sending it. (With the client in
        # hand: a second checkout could wait forever on a full foreign pool.)
        if isinstance(refusal, self._too_big) and operation is self._stores[SET]:
            client.delete(args[0])

    def get(self, key: Key, namespace: str | None = None) -> Any:
        # As the base's, with pylibmc's C method as the operation and
        # from_native's check inline (docs/PERFORMANCE.md, "pylibmc in C").
        if not self._plain:  # an undecoded item, read by the codec
            stored_key = self._stored_keys[key]
            item = self._run(self._client_get, None, (stored_key,))
            return None if item is None else self._decoded(stored_key, item)
        value = self._run(self._client_get, None, (self._stored_keys[key],))
        if type(value) is str and value[:1] in MARKED_TEXT:  # quoted, or a bool
            return self._native(value)
        return value

    def _hits(self, found: dict[Key, Any]) -> dict[Key, Any]:
        # The base's scan for None, which also finds the quoted and bool items.
        for value in found.values():
            if value is None or (type(value) is str and value[:1] in MARKED_TEXT):
                read = {key: self._native(v) for key, v in found.items() if v is not None}
                return {key: v for key, v in read.items() if v is not None}
        return found

    def _client_servers(self, client: Any) -> list[str]:
        return _addresses(client)

    def _native(self, value: str) -> Any:
        """:func:`from_native` of a value pylibmc read; ``None`` (a miss, the
        failure reported) for a bool item whose text is not a number, which
        no client of this format wrote."""
        try:
            return from_native(value)
        except ValueError as exc:
            self._bad_reply_seen(",".join(self.servers), str(exc))
            return None

    def _delete_many(self, client: Any, keys: list[bytes]) -> bool:
        client.delete_multi(keys)  # False when one was missing: not a failure
        return True

    def _incr(self, client: Any, key: bytes, delta: int) -> int | None:
        return self._counted(client, client.incr, key, delta)

    def _decr(self, client: Any, key: bytes, delta: int) -> int | None:
        return self._counted(client, client.decr, key, delta)

    def _counted(
        self, client: Any, call: Callable[[bytes, int], int], key: bytes, delta: int
    ) -> int | None:
        try:
            return call(key, delta)
        except self._not_found:
            return None
        except self._client_error:
            # pylibmc does not say which CLIENT_ERROR the server answered:
            # the item itself, read on a new connection (the old one may
            # hold more of a reply), tells "not a counter" from a reply
            # that does not belong here.
            client.disconnect_all()
            if _is_counter(client, key):
                raise
            return NON_NUMERIC

    def _flush(self, client: Any) -> bool:
        return bool(client.flush_all())


_MISSING = object()

#: How pylibmc's message for libmemcached's return code 48 begins.
_OUT_OF_MEMORY = "error 48 from "


def _is_counter(client: Any, key: bytes) -> bool:
    """Whether ``key``'s item is one memcached counts (or is missing): read
    after a ``CLIENT_ERROR`` to ``incr``/``decr``. (A stored ``None`` is an
    item that is not a counter.)"""
    value = client.get(key, _MISSING)
    if value is _MISSING:
        return True  # gone, or not readable: not the non-numeric answer
    if _undecoded(client):
        value = counter_value(value)
    try:
        value = from_native(value)
    except ValueError:
        return False
    return isinstance(value, int) and 0 <= value < MAX_COUNTER


def _check_decoding(client: Any, codec: Codec) -> None:
    """Refuse a client that would decode items otherwise than ``codec`` needs:
    in C (it unpickles) under a codec, undecoded without one."""
    if _undecoded(client) == codec.plain:
        need = "client_factory(..., undecoded=True)" if not codec.plain else "client_factory()"
        raise TypeError(f"with {codec!r} the pool's clients must be made by {need}")


def _close(client: Any) -> None:
    client.disconnect_all()


def _addresses(client: Any) -> list[str]:
    """The servers of a pylibmc client as ``"host:port"`` or ``"unix:/path"``
    (``[]`` if it does not say): libmemcached names a Unix socket by its bare
    path, and a host without a port has memcached's default port."""
    addresses = getattr(client, "addresses", None)
    if not isinstance(addresses, list):
        return []
    return [_address(str(address)) for address in addresses]


def _address(address: str) -> str:
    if address.startswith("/"):
        return f"unix:{address}"
    return address if ":" in address else f"{address}:11211"
