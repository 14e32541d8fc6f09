"""``PylibmcAdapter`` over pylibmc (``pip install 'caching-toolkit[pylibmc]'``).

pylibmc wraps libmemcached. The adapter's clients use the text protocol
(binary mode marks a server dead for seconds after an ``incr`` on a
non-number, and raises on ``replace`` of a missing key), ketama consistent
hashing (removing one of N servers moves about 1/N of the keys), TCP_NODELAY
and finite timeouts. Values are stored in the format of
:mod:`caching.adapters.serializer`; keys are checked by :mod:`caching.key_rules` before any
I/O (pylibmc's text mode would send ``"a\\r\\nflush_all"`` as it is).

pylibmc's ``incr``/``decr`` take a C ``int``: a ``delta`` above ``2**31 - 1``
goes, where the adapter knows the key's server, through memcached's meta
arithmetic (``ma``) on the batch connection below, and otherwise through a
``gets``/``cas`` loop, which writes the item back with the expiry memcached
tells (``mg <key> t``) where it can ask, without one where it cannot
(docs/ADAPTERS.md, "Counters over the whole range").

Values are never read through pylibmc, whose C code inflates an item
carrying its zlib flag (8) before anything else sees it, without a bound:
``get``, ``get_multi`` and ``gets`` go out on text-protocol connections of
each pooled client's own (:mod:`caching.adapters.text_connection`), and each item is
read by :func:`~caching.adapters.serializer.loads` (or the codec), alone, so
that a broken one is a miss for its key alone (docs/ADAPTERS.md, "pylibmc's
reads").

libmemcached sends ``set_multi``, ``add_multi`` and ``delete_multi`` one
command at a time, each waiting for its reply. The adapter sends those
batches on text-protocol connections of each pooled client's own instead
(the same connections, one per server): each server's commands in one write, then
its replies, one round trip for the call. With several servers it groups the
keys by the server libmemcached puts each on (pylibmc's ``hash``: the index
of that server under the client's hashing and distribution), unless
libmemcached may move keys (docs/ADAPTERS.md, "Round trips of the ``_multi``
calls").

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
import operator
import os
import pickle
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from time import monotonic
from typing import Any

from caching import counters
from caching.adapters import pool as _pool
from caching.adapters.base import (
    BATCH_LIMIT,
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
    FLAG_BOOL,
    FLAG_BYTES,
    FLAG_INT,
    FLAG_PICKLE,
    BadItemError,
    Codec,
    Item,
    loads,
    raw,
)
from caching.adapters.text_connection import (
    SEND_WHOLE,
    Found,
    OutOfStepError,
    TextConnection,
    address_of,
)
from caching.counters import MAX_COUNTER
from caching.expiry import MAX_RELATIVE
from caching.key_rules import Key, key_stored
from caching.store_rules import ADD, REPLACE, SET

__all__ = ["MAX_DELTA", "PylibmcAdapter", "client_factory"]

logger = logging.getLogger(__name__)

#: Largest ``delta`` pylibmc passes to ``incr``/``decr`` (a C ``int``); a
#: larger one goes through memcached's meta arithmetic or a ``gets``/``cas``
#: loop (:meth:`PylibmcAdapter._large_count`).
MAX_DELTA = 2**31 - 1

#: ``cas`` attempts of one large-delta ``incr``/``decr`` before it answers
#: "nothing happened" (each failed attempt means another writer changed the
#: item meanwhile).
_CAS_TRIES = 100


@cache
def _client_class(undecoded: bool = False) -> Any:
    """pylibmc's ``Client`` storing the items of :mod:`caching.adapters.serializer`.

    Values arrive serialised by the adapter: ``serialize`` is the identity,
    ``tuple`` (docs/PERFORMANCE.md, "pylibmc in C"). The adapter reads no
    value through the client (:mod:`caching.adapters.text_connection`), so its
    ``deserialize`` only matters to other code using the client: pylibmc's
    own, in C, or, with ``undecoded`` (the client of an adapter with a
    :class:`~caching.adapters.serializer.Codec`), one that hands each item
    over as ``(data, flags)`` (:func:`~caching.adapters.serializer.raw`), so
    that pylibmc never unpickles it. (pylibmc still inflates an item with its
    own zlib flag, 8, before ``deserialize``: docs/ADAPTERS.md.)
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

#: The attribute of a pooled client that says whether the adapter may place
#: its keys itself (:func:`_placeable`).
_PLACEABLE = "_caching_placeable"

#: The store modes as text-protocol commands.
_COMMANDS = {mode: mode.encode("ascii") for mode in (SET, ADD, REPLACE)}

_STORE_REPLIES = frozenset({b"STORED", b"NOT_STORED", b"EXISTS", b"NOT_FOUND"})
#: The reply of one stored item.
_STORED = b"STORED\r\n"
_DELETE_REPLIES = frozenset({b"DELETED", b"NOT_FOUND"})


#: memcached's answer to incr/decr of an item that is not a counter.
_NON_NUMERIC_REPLY = b"CLIENT_ERROR cannot increment or decrement non-numeric value"


def _meta_complete(lines: list[bytes]) -> bool:
    """Whether ``lines`` hold the whole reply to one ``ma ... v``: a value
    (``VA <size>`` and the number) or one line (``NF``, an error)."""
    return bool(lines) and (len(lines) >= 2 or not lines[0].startswith(b"VA "))


#: ``b"<length>\\r\\n"`` of the data lengths met (at most 4,096 of them).
_LENGTHS: dict[int, bytes] = {}


def _length_line(length: int) -> bytes:
    text = b"%d\r\n" % length
    if len(_LENGTHS) < 4096:
        _LENGTHS[length] = text
    return text


def _store_request(command: bytes, items: dict[bytes, Item], exptime: int) -> bytes:
    """The text-protocol commands storing ``items`` (``command``: ``set``,
    ``add`` or ``replace``), joined once from their parts, with no number
    formatted per item but a new data length or flags
    (docs/PERFORMANCE.md, "pylibmc's batches")."""
    lead = command + b" "
    between = b"\r\n" + lead
    lengths = _LENGTHS
    parts = [lead]
    last, middle = -1, b""  # (flags are never negative)
    for key, (data, flags) in items.items():
        if flags != last:
            middle = b" %d %d " % (flags, exptime)
            last = flags
        size = len(data)
        parts += (key, middle, lengths.get(size) or _length_line(size), data, between)
    parts[-1] = b"\r\n"
    return b"".join(parts)


#: ``b"get <key>\r\n"`` of the keys read (at most 4,096 of them: the
#: request of a key read again costs one dict lookup, where its two
#: concatenations cost about 900 instructions; docs/PERFORMANCE.md).
_GET_LINES: dict[bytes, bytes] = {}


def _get_line(key: bytes) -> bytes:
    line = b"get " + key + b"\r\n"
    if len(_GET_LINES) >= 4096:
        _GET_LINES.clear()
    _GET_LINES[key] = line
    return line


#: The data of an item.
_data = operator.itemgetter(0)

#: ``pickle.loads`` as a global (one lookup less per read of a pickled item).
_unpickle = pickle.loads


def _store_reply(line: bytes) -> bool:
    # SERVER_ERROR (out of memory, too large): refused; memcached has read
    # the data, so the connection stays in step.
    return line in _STORE_REPLIES or line.startswith(b"SERVER_ERROR ")


def _placeable(client: Any) -> bool:
    """Whether libmemcached places ``client``'s keys where its ``hash(key)``
    (``memcached_generate_hash``: the index of the server in the client's
    list) says, so that the adapter can send a batch to each server itself:
    not with the ``random`` distribution, with hosts sorted (the index is
    then one of the sorted list), or with failed servers ejected
    (``remove_failed``/``auto_eject``: libmemcached then moves a failed
    server's keys), nor with replicas (``num_replicas``, binary mode:
    libmemcached writes and deletes each key on its server and the next
    ones too). Read once per client."""
    placeable: bool | None = getattr(client, _PLACEABLE, None)
    if placeable is None:
        behaviors = client.behaviors
        placeable = (
            behaviors.get("distribution") != "random"
            and not behaviors.get("_sort_hosts")
            and not behaviors.get("auto_eject")
            and not behaviors.get("num_replicas")
        )
        setattr(client, _PLACEABLE, placeable)
    return placeable


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
            specs = as_servers(pool)
            # As the adapter connects to them, and names them in the log.
            servers = [address_of(spec) for spec in specs]
            behaviors = {
                "connect_timeout": max(1, round(connect_timeout * 1000)),
                "_poll_timeout": max(1, round(timeout * 1000)),
                "retry_timeout": max(1, round(retry_timeout)),
                **client_options.pop("behaviors", {}),
            }
            options = {**client_options, "behaviors": behaviors, "undecoded": not codec.plain}
            pool = Pool(lambda: client_factory(specs, **options), pool_size, close=_close)
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
        # pylibmc's C methods (they return True or False) as the operations of
        # set/add/replace (docs/PERFORMANCE.md, "pylibmc in C").
        self._stores = {mode: getattr(library.Client, mode) for mode in (SET, ADD, REPLACE)}
        self._not_found = library.NotFound
        self._too_big = library.TooBig
        self._client_error = library.ClientError
        self._connection_error = library.ConnectionError
        self._protocol_error = library.ProtocolError
        #: Servers (of several) whose batches failed -> monotonic time until
        #: which their keys fail at once (:meth:`_batches`).
        self._pipes_down: dict[str, float] = {}

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
            _close(own.client)
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
        # Read on the adapter's own connection (caching.adapters.text_connection), never
        # by pylibmc, whose C code inflates an item with its zlib flag first.
        return self._run(self._read_value, None, (self._stored_keys[key],))

    def _read_value(self, client: Any, key: bytes) -> Any:
        """The value of ``key``'s item: in the plain format read by
        :func:`~caching.adapters.serializer.loads`, else by the codec;
        ``None`` on a miss, and (logged at most once per period) for an item
        it cannot read: flags no adapter writes, bytes that do not decode as
        their flags say, a pickle that cannot be read, a wrong tag.
        (:meth:`_fetch` and the common flags' reading inline, for the codec
        too: docs/PERFORMANCE.md, "pylibmc's reads", "Signed items".)"""
        try:
            connections: _Connections | None = client._caching_connections
        except AttributeError:
            connections = None
        if connections is None or connections.pid != _pool._PID:  # process_id(), inline
            connections = _connections(client)
        index = 0 if connections.single else client.hash(key)
        connection = connections.connections[index]
        if connection is None or connection.poll(0):  # not usable (TextConnection.usable)
            connection = self._reconnect(client, connections, index)
        try:
            found = connection.fetch_one(_GET_LINES.get(key) or _get_line(key), key)
        except OSError as exc:
            raise self._connection_error(f"{connection.address}: {exc}") from exc
        except OutOfStepError as exc:
            raise self._protocol_error(f"{connection.address}: {exc}") from exc
        if found is None:
            return None
        data, flags = found[1], found[2]
        if not self._plain:  # _decoded inline
            try:
                return self.codec.loads(key, data, flags)
            except BadItemError as exc:
                self._item_refusals.report(key, exc)
                return None
        if flags == FLAG_BYTES:
            return data
        try:
            if flags == FLAG_PICKLE:  # loads' pickle case, inline
                return _unpickle(data)
            return loads(data, flags)
        except Exception as exc:  # ValueError, UnpicklingError, AttributeError...
            self._item_refusals.report(key, f"{type(exc).__name__}: {exc}")
            return None

    def _read_item(self, client: Any, key: bytes) -> Item | None:
        """``(data, flags)`` of ``key``'s item, ``None`` on a miss."""
        found = self._fetch(client, key, b"get ")
        return None if found is None else (found[1], found[2])

    def _fetch(self, client: Any, key: bytes, command: bytes) -> Found | None:
        """The item of ``key`` read with ``command`` (``get``/``gets``) on
        ``client``'s :class:`~caching.adapters.text_connection.TextConnection`
        to the key's server; ``None`` on a miss."""
        try:
            connections: _Connections | None = client._caching_connections
        except AttributeError:
            connections = None
        if connections is None or connections.pid != process_id():
            connections = _connections(client)
        index = 0 if connections.single else client.hash(key)
        connection = connections.connections[index]
        if connection is None or connection.poll(0):  # not usable (TextConnection.usable)
            connection = self._reconnect(client, connections, index)
        try:
            return connection.fetch_one(command + key + b"\r\n", key)
        except OSError as exc:
            raise self._connection_error(f"{connection.address}: {exc}") from exc
        except OutOfStepError as exc:
            raise self._protocol_error(f"{connection.address}: {exc}") from exc

    def _get_many(self, client: Any, keys: list[Key]) -> dict[Key, Any]:
        # One ``get`` of all the keys per server, on the adapter's own
        # connections (TextConnection.fetch); plain items of other flags than
        # bytes read with loads, each alone (a broken one is a miss for its
        # key alone); under a codec, handed over undecoded.
        connections: _Connections | None = getattr(client, _CONNECTIONS, None)
        if connections is None or connections.pid != process_id():
            connections = _connections(client)
        if connections.single:
            groups = {0: keys}
        else:
            groups = {}
            place = client.hash
            for key in keys:
                groups.setdefault(place(key_stored(key)), []).append(key)
        found: dict[Key, Any] = {}
        failure: BaseException | None = None
        plain = self._plain
        for index, asked in groups.items():
            address = connections.addresses[index]
            try:
                connection = connections.connections[index]
                if connection is None or not connection.usable():
                    connection = self._reconnect(client, connections, index)
                try:
                    read, others = connection.fetch(asked, plain)
                except OSError as exc:
                    raise self._connection_error(f"{address}: {exc}") from exc
            except self.errors as exc:
                if len(groups) == 1:
                    raise
                failure = exc  # the keys of the other servers still come back
                continue
            except OutOfStepError as exc:
                if len(groups) == 1:
                    raise self._protocol_error(f"{address}: {exc}") from exc
                self._bad_reply_seen(address, str(exc))  # its keys alone miss
                continue
            if len(groups) == 1:
                found = read
            else:
                found.update(read)
            for key, data, flags in others:
                try:
                    value = loads(data, flags)
                except Exception as exc:  # a broken item: a miss for its key alone
                    self._item_refusals.report(key_stored(key), f"{type(exc).__name__}: {exc}")
                    continue
                if value is not None:
                    found[key] = value
        if failure is not None:
            self._failed(failure)
        return found

    def _reconnect(self, client: Any, connections: _Connections, index: int) -> TextConnection:
        """A new text connection of ``client`` to its ``index``-th server, in
        place of one that is not :meth:`~TextConnection.usable`: what it held
        that no command asked for is logged; closed by the server (a
        restart), libmemcached's own connection to it is as dead and would
        fail the next call, so both are made again. With several servers,
        one reported down is not tried (its keys fail at once) until the
        server watch sees it back.

        :raises pylibmc.ConnectionError: (one of :attr:`errors`) the server
            is down or cannot be reached.
        """
        connection = connections.connections[index]
        address = connections.addresses[index]
        if connection is not None:
            connections.connections[index] = None
            if connection.sock.fileno() >= 0:
                unread = connection.unread()
                connection.close()
                if unread:
                    reason = f"{len(unread)} bytes no command asked for: {unread[:40]!r}"
                    self._bad_reply_seen(address, reason)
                else:
                    client.disconnect_all()
        if not connections.single and address in self.failures.down:
            raise self._connection_error(f"{address}: down (waiting for the server watch)")
        try:
            connection = TextConnection(address, connections.connect_timeout, connections.timeout)
        except OSError as exc:
            raise self._connection_error(f"{address}: {exc}") from exc
        connections.connections[index] = connection
        return connection

    def _hits(self, found: dict[Key, Any]) -> dict[Key, Any]:
        return found  # _get_many leaves out misses and stored None values

    def _client_servers(self, client: Any) -> list[str]:
        return _addresses(client)

    def _reset(self, client: Any) -> None:
        _close_connections(client)
        super()._reset(client)

    def _recovered(self, server: str) -> None:
        self._pipes_down.pop(server, None)
        super()._recovered(server)

    def _placement(self, client: Any) -> list[str] | None:
        """The servers in libmemcached's order when the adapter can send
        commands to a key's server itself (:func:`_placeable`); ``None``
        when only libmemcached knows where a key goes (a foreign pool whose
        servers are not known yet, a distribution the adapter cannot
        follow)."""
        servers = self.servers
        if len(servers) == 1:
            return None if servers == ["pool"] else servers
        return servers if _placeable(client) else None

    def _grouped(
        self, client: Any, servers: list[str], keys: Iterable[bytes]
    ) -> dict[str, list[bytes]]:
        """``keys`` by the server libmemcached puts each on (pylibmc's
        ``hash``: ``memcached_generate_hash``, ketama or modula as the
        client is configured), in order."""
        if len(servers) == 1:
            return {servers[0]: list(keys)}
        index = client.hash
        groups: dict[str, list[bytes]] = {}
        for key in keys:
            address = servers[index(key)]
            group = groups.get(address)
            if group is None:
                groups[address] = [key]
            else:
                group.append(key)
        return groups

    def _connection(self, client: Any, address: str) -> TextConnection:
        """``client``'s text connection to ``address``, one of its servers
        (:meth:`_reconnect` when it is not usable).

        :raises pylibmc.ConnectionError: as :meth:`_reconnect`; also an
            address that is none of the client's servers.
        """
        connections: _Connections | None = getattr(client, _CONNECTIONS, None)
        if connections is None or connections.pid != process_id():
            connections = _connections(client)
        index = connections.index.get(address)
        if index is None:
            raise self._connection_error(f"{address}: not a server of {client!r}")
        connection = connections.connections[index]
        if connection is None or not connection.usable():
            connection = self._reconnect(client, connections, index)
        return connection

    def _key_connection(self, client: Any, key: bytes) -> TextConnection | None:
        """The text connection to ``key``'s server, ``None`` when only
        libmemcached knows which it is."""
        servers = self._placement(client)
        if servers is None:
            return None
        address = servers[0] if len(servers) == 1 else servers[client.hash(key)]
        return self._connection(client, address)

    def _replies(self, client: Any, address: str, request: bytes, count: int) -> bytes:
        """Send ``request`` (``count`` one-line commands) to ``address`` and
        read the replies, the failures as pylibmc's: a server failure is a
        ``ConnectionError`` (one of :attr:`errors`), a reply out of step a
        ``ProtocolError`` (one of :attr:`bad_replies`)."""
        connection = self._connection(client, address)
        try:
            return connection.batch(request, count)
        except OSError as exc:
            raise self._connection_error(f"{address}: {exc}") from exc
        except OutOfStepError as exc:
            raise self._protocol_error(str(exc)) from exc

    def _batches(
        self, client: Any, requests: dict[str, tuple[bytes, int]]
    ) -> dict[str, bytes | None]:
        """Each server's replies to its ``(request, count)``: with one
        server, as :meth:`_replies` (its failure raises, for ``_run`` and
        the hold-off); with several, every request is sent, then each
        server's replies are read (one round trip for all), and a server
        that fails (or is known down: no I/O) fails its own keys alone
        (``None``), reported under its own address."""
        servers = self.servers
        if len(servers) == 1:
            ((address, (request, count)),) = requests.items()
            return {address: self._replies(client, address, request, count)}
        answers: dict[str, bytes | None] = dict.fromkeys(requests)
        # Sent, replies not read yet: (address, connection, count, request
        # when it is over SEND_WHOLE, sent later while its replies are read).
        sent: list[tuple[str, TextConnection, int, bytes | None]] = []
        now = monotonic()
        down = self.failures.down
        try:
            for address, (request, count) in requests.items():
                if address in down or self._pipes_down.get(address, 0.0) > now:
                    self._count_failure()  # libmemcached's retry wait, for every client
                    continue
                try:
                    connection = self._connection(client, address)
                    if len(request) > SEND_WHOLE:
                        sent.append((address, connection, count, request))
                        continue
                    connection.send(request)
                except (OSError, self._connection_error) as exc:
                    self._pipe_failed(address, exc)
                    continue
                sent.append((address, connection, count, None))
            # The long requests first, the others' servers answering meanwhile.
            sent.sort(key=lambda entry: entry[3] is None)
            while sent:
                address, connection, count, long = sent[0]
                try:
                    if long is None:
                        answers[address] = connection.replies(count)
                    else:
                        answers[address] = connection.batch(long, count)
                except OSError as exc:
                    self._pipe_failed(address, exc)
                except OutOfStepError as exc:  # the connection is closed
                    self._bad_reply_seen(address, str(exc))
                del sent[0]
        except BaseException:
            # Anything else (KeyboardInterrupt, gevent.Timeout, a bug): no
            # connection is left with replies no one reads.
            for _, connection, _, _ in sent:
                connection.close()
            raise
        return answers

    def _pipe_failed(self, address: str, error: Exception) -> None:
        """A batch to ``address`` (one of several servers) failed: its keys
        fail at once for ``retry_timeout`` (until the watch sees it back)."""
        self._pipes_down[address] = monotonic() + self.retry_timeout
        if not isinstance(error, self._connection_error):
            error = self._connection_error(f"{address}: {error}")
        self._report(address, error)

    def _lines(
        self, client: Any, address: str, reply: bytes, valid: Callable[[bytes], bool]
    ) -> list[bytes] | None:
        """The reply lines of a batch, each checked by ``valid``; one that a
        command cannot get raises ``ProtocolError`` with one server, and
        with several fails that server's keys (``None``), reported."""
        lines = reply.split(b"\r\n")
        del lines[-1]
        for line in lines:
            if not valid(line):
                reason = f"unexpected reply {line[:60]!r} from {address}"
                if len(self.servers) == 1:
                    raise self._protocol_error(reason)
                connections: _Connections = getattr(client, _CONNECTIONS)
                connection = connections.connections[connections.index[address]]
                if connection is not None:
                    connection.close()
                self._bad_reply_seen(address, reason)
                return None
        return lines

    def _store_items(
        self, client: Any, mode: str, items: dict[bytes, Item], exptime: int
    ) -> list[bytes]:
        # One server, a batch under BATCH_LIMIT bytes (so no item is over it):
        # the request in one join, one write, the replies in one read,
        # checked against "STORED" x count at once (docs/PERFORMANCE.md,
        # "pylibmc's batches"). Several: straight to _store_batch when no
        # item can be over it. Else the base's split, then _store_batch.
        servers = self.servers
        if len(servers) == 1 and servers != ["pool"]:
            request = _store_request(_COMMANDS[mode], items, exptime)
            if len(request) <= BATCH_LIMIT:
                address = servers[0]
                count = len(items)
                reply = self._replies(client, address, request, count)
                if reply == _STORED * count:
                    return []
                return self._not_stored(client, address, items, reply) or []
        elif sum(map(len, map(_data, items.values()))) <= BATCH_LIMIT:
            return self._store_batch(client, mode, items, exptime)
        return super()._store_items(client, mode, items, exptime)

    def _not_stored(
        self, client: Any, address: str, items: dict[bytes, Item], reply: bytes
    ) -> list[bytes] | None:
        """The keys of ``items`` that ``address``'s ``reply`` (one line per
        item) did not store; ``None`` for a reply out of step (several
        servers; with one, it raises: :meth:`_lines`)."""
        lines = self._lines(client, address, reply, _store_reply)
        if lines is None:
            return None
        return [key for key, line in zip(items, lines, strict=True) if line != b"STORED"]

    def _store_batch(
        self, client: Any, mode: str, items: dict[bytes, Item], exptime: int
    ) -> list[bytes]:
        servers = self._placement(client)
        if servers is None:  # only libmemcached knows where: key by key
            return super()._store_batch(client, mode, items, exptime)
        groups: dict[str, dict[bytes, Item]]
        if len(servers) == 1:
            groups = {servers[0]: items}
        else:  # by the server libmemcached puts each key on (see _grouped)
            groups = {}
            index = client.hash
            for key, item in items.items():
                address = servers[index(key)]
                group = groups.get(address)
                if group is None:
                    groups[address] = {key: item}
                else:
                    group[key] = item
        command = _COMMANDS[mode]
        answers = self._batches(
            client,
            {
                address: (_store_request(command, group, exptime), len(group))
                for address, group in groups.items()
            },
        )
        failed: list[bytes] = []
        for address, group in groups.items():
            reply = answers[address]
            if reply is None:
                failed += group
            elif reply != _STORED * len(group):
                not_stored = self._not_stored(client, address, group, reply)
                failed += group if not_stored is None else not_stored
        return failed

    def _delete_many(self, client: Any, keys: list[bytes]) -> bool:
        servers = self._placement(client)
        if servers is None:
            client.delete_multi(keys)  # False when one was missing: not a failure
            return True
        groups = self._grouped(client, servers, keys)
        answers = self._batches(
            client,
            {
                address: (b"".join([b"delete %s\r\n" % key for key in group]), len(group))
                for address, group in groups.items()
            },
        )
        deleted = True
        for address, reply in answers.items():
            if (
                reply is None
                or self._lines(client, address, reply, _DELETE_REPLIES.__contains__) is None
            ):
                deleted = False
        return deleted

    def _incr(self, client: Any, key: bytes, delta: int) -> int | None:
        if delta > MAX_DELTA:
            return self._large_count(client, key, delta, False)
        return self._counted(client, client.incr, key, delta)

    def _decr(self, client: Any, key: bytes, delta: int) -> int | None:
        if delta > MAX_DELTA:
            return self._large_count(client, key, delta, True)
        return self._counted(client, client.decr, key, delta)

    #: Whether the server speaks memcached's meta commands (1.6 on); set
    #: ``False`` when it answers a meta command with ``ERROR``.
    _meta = True

    def _large_count(self, client: Any, key: bytes, delta: int, down: bool) -> int | None:
        """``incr``/``decr`` by a ``delta`` above :data:`MAX_DELTA`. Where the
        adapter knows the key's server (:meth:`_placement`), memcached's
        meta arithmetic (``ma``) on the batch connection to it: memcached's
        own ``incr``/``decr`` of any 64-bit delta, item expiry and flags
        kept. Otherwise (a distribution the adapter cannot follow; a
        memcached without meta commands; twemproxy, which closes the
        connection on them) :meth:`_cas_count`."""
        pipe = self._key_connection(client, key) if self._meta else None
        if pipe is not None:
            request = b"ma %s D%d v%s\r\n" % (key, delta, b" MD" if down else b"")
            lines = self._meta_lines(pipe, request, _meta_complete)
            if lines == [b"ERROR"]:
                self._meta = False  # no meta commands (memcached before 1.6)
            elif lines:
                return self._meta_answer(lines, request)
        return self._cas_count(client, key, delta, down)

    def _meta_lines(
        self, pipe: TextConnection, request: bytes, complete: Callable[[list[bytes]], bool]
    ) -> list[bytes]:
        """The reply lines of the meta command ``request`` (:meth:`TextConnection.ask`);
        ``[]`` when the server closed the connection on it (twemproxy: it
        speaks no meta commands). A server that does not answer in time, or
        fails otherwise, raises pylibmc's ``ConnectionError`` (one of
        :attr:`errors`: the call fails, the item is left as it was: a
        command that timed out may still be carried out, so nothing is sent
        in its place); a reply out of step its ``ProtocolError``."""
        try:
            return pipe.ask(request, complete)
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
            return []  # closed on a meta command (twemproxy)
        except OSError as exc:  # a timeout (BlockingIOError, TimeoutError), ...
            raise self._connection_error(f"{request[:40]!r}: {exc}") from exc
        except OutOfStepError as exc:
            raise self._protocol_error(str(exc)) from exc

    def _meta_answer(self, lines: list[bytes], request: bytes) -> int | None:
        """The answer of an ``ma ... v`` command's reply ``lines``."""
        if lines == [b"NF"]:
            return None
        if lines == [_NON_NUMERIC_REPLY]:
            return NON_NUMERIC
        if len(lines) == 2 and lines[0].startswith(b"VA ") and lines[1].strip(b" ").isdigit():
            return int(lines[1])
        raise self._protocol_error(f"unexpected reply {lines[0][:60]!r} to {request[:40]!r}")

    def _cas_count(self, client: Any, key: bytes, delta: int, down: bool) -> int | None:
        """``incr``/``decr`` by a ``delta`` pylibmc cannot pass (above
        :data:`MAX_DELTA`), with memcached's answers: the server judges the
        item first (an ``incr`` by 0: ``None`` on a miss,
        :data:`~caching.adapters.base.NON_NUMERIC` if it is not a counter),
        then a ``gets``/``cas`` loop writes the new value, wrapped at
        ``2**64`` (``incr``) or floored at 0 (``decr``), as an int item:
        atomic, since a ``cas`` after another writer's change fails and the
        loop reads again. Used where :meth:`_large_count` cannot send
        ``ma``; the item keeps its expiry where the server tells it
        (:meth:`_expiry_of`), and is written without one where it cannot
        (docs/ADAPTERS.md, "Counters over the whole range").
        """
        for _ in range(_CAS_TRIES):
            judged = self._counted(client, client.incr, key, 0)
            if judged is None or judged == NON_NUMERIC:
                return judged
            value, token = self._gets(client, key)
            if type(value) is int and token is not None:
                new = counters.decr(value, delta) if down else counters.incr(value, delta)
                if self._cas(client, key, new, token):
                    return new
            # else gone or rewritten since it was judged: again
        return None

    def _gets(self, client: Any, key: bytes) -> tuple[Any, Any]:
        # ``gets`` on the adapter's own connection (as every read): the value
        # is the number a counter's text holds, else the item ``(data, flags)``.
        # The token carries the exptime that keeps the item's expiry.
        found = self._fetch(client, key, b"gets ")
        if found is None:
            return None, None
        _, data, flags, token = found
        counted = _count_value(data, flags)
        return ((data, flags) if counted is None else counted), (
            token,
            self._expiry_of(client, key),
        )

    def _cas(self, client: Any, key: bytes, value: int, token: Any) -> bool:
        cas, exptime = token
        with _cas_behaviour(client):
            item = (str(value).encode("ascii"), FLAG_INT)
            return bool(client.cas(key, item, cas, exptime))

    def _expiry_of(self, client: Any, key: bytes) -> int:
        """The exptime that gives ``key``'s item, written again now, the
        expiry it has: memcached's meta ``mg <key> t`` (the seconds left,
        ``-1`` for none) on the batch connection to its server. ``0`` (no
        expiry) where the server cannot tell: no meta commands, twemproxy
        (which closes the connection on them), or a key the adapter cannot
        place (:meth:`_placement`). A server that does not answer in time
        raises pylibmc's ``ConnectionError`` (:meth:`_meta_lines`): the
        count fails, the item keeps its expiry."""
        pipe = self._key_connection(client, key) if self._meta else None
        if pipe is None:
            return 0
        lines = self._meta_lines(pipe, b"mg %s t\r\n" % key, bool)
        if not lines:
            return 0  # closed on a meta command (twemproxy)
        line = lines[0]
        if line == b"ERROR":
            self._meta = False
            return 0
        if line == b"EN":
            return 0  # gone: the cas fails and the loop reads again
        head, _, flag = line.partition(b" ")
        if head not in (b"HD", b"OK") or flag[:1] != b"t" or not flag[1:].lstrip(b"-").isdigit():
            # Not memcached 1.6's answer (an early meta dialect?): the item
            # is written without an expiry, as where the server cannot be
            # asked, and the connection, which may hold more, is replaced.
            pipe.close()
            self._bad_reply_seen(",".join(self.servers), f"{line[:60]!r} to mg {key[:40]!r} t")
            return 0
        left = int(flag[1:])
        if left < 0:
            return 0  # no expiry
        # memcached rounds to the second: an item within its last second
        # keeps 1; beyond memcached's 30 days a relative time is absolute.
        return max(1, left) if left <= MAX_RELATIVE else int(time.time()) + left

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
            counted = self._counter_of(client, key)
            if isinstance(counted, int) and counted >= 2**63:
                # memcached 1.6 misreads a counter of 2**63 or more as
                # non-numeric (docs/FAILURES.md, "Counters from 2**63"):
                # the base counts it (MemcachedAdapter._count_from_2_63).
                return NON_NUMERIC
            if counted is not None:  # a counter, or gone
                raise
            return NON_NUMERIC

    def _counter_of(self, client: Any, key: bytes) -> int | object | None:
        """The number ``key``'s item holds as a counter; ``None`` when it is
        not a counter; :data:`_GONE` when there is no item."""
        item = self._read_item(client, key)
        return _GONE if item is None else _count_value(*item)

    def _flush(self, client: Any) -> bool:
        return bool(client.flush_all())


#: :meth:`PylibmcAdapter._counter_of` of a key without an item.
_GONE = object()

#: How pylibmc's message for libmemcached's return code 48 begins.
_OUT_OF_MEMORY = "error 48 from "


@contextmanager
def _cas_behaviour(client: Any) -> Iterator[None]:
    """``client``'s ``cas`` behaviour on for the block (pylibmc's ``gets``
    and ``cas`` refuse to run without it)."""
    cas_on = client.behaviors["cas"]
    if not cas_on:
        client.set_behaviors({"cas": True})
    try:
        yield
    finally:
        if not cas_on:
            client.set_behaviors({"cas": False})


def _count_value(data: bytes, flags: int) -> int | None:
    """The number a counter's item ``(data, flags)`` holds (an int item, or
    a bool item, counted or not: memcached counts ``"01"``), ``None`` when it
    holds none."""
    if flags in (FLAG_INT, FLAG_BOOL):
        text = data.rstrip(b" ")
        if text.isdigit() and len(text) <= 20:
            value = int(text)
            return value if value < MAX_COUNTER else None
    return None


class _Connections:
    """The :class:`~caching.adapters.text_connection.TextConnection` of one
    pooled client to each of its servers (made on first use), of the process
    that made them (a forked child makes its own: the parent's sockets are
    never used there); timeouts are the client's behaviours
    (``connect_timeout``, ``_poll_timeout``, milliseconds), in seconds."""

    __slots__ = ("addresses", "connect_timeout", "connections", "index", "pid", "single", "timeout")

    def __init__(self, client: Any) -> None:
        self.pid = process_id()
        self.addresses = _addresses(client)
        if not self.addresses:
            raise TypeError(f"{client!r} does not name its servers (pylibmc's addresses)")
        self.single = len(self.addresses) == 1
        #: address -> its index (libmemcached's, ``Client.hash``).
        self.index = {address: index for index, address in enumerate(self.addresses)}
        behaviors = client.behaviors
        self.connect_timeout = max(1, behaviors["connect_timeout"]) / 1000
        self.timeout = max(1, behaviors["_poll_timeout"]) / 1000
        self.connections: list[TextConnection | None] = [None] * len(self.addresses)

    def close(self) -> None:
        for connection in self.connections:
            if connection is not None:
                connection.close()
        self.connections = [None] * len(self.addresses)


#: The attribute of a pooled client that holds its :class:`_Connections`.
_CONNECTIONS = "_caching_connections"


def _connections(client: Any) -> _Connections:
    """``client``'s :class:`_Connections` of this process, made on first use."""
    connections: _Connections | None = getattr(client, _CONNECTIONS, None)
    if connections is None or connections.pid != process_id():
        connections = _Connections(client)
        setattr(client, _CONNECTIONS, connections)
    return connections


def _close_connections(client: Any) -> None:
    """Close ``client``'s text connections, if it has some of this process."""
    connections: _Connections | None = getattr(client, _CONNECTIONS, None)
    if connections is not None and connections.pid == process_id():
        connections.close()


def _check_decoding(client: Any, codec: Codec) -> None:
    """Refuse a client that would decode items otherwise than ``codec`` needs:
    in C (it unpickles) under a codec, undecoded without one."""
    if _undecoded(client) == codec.plain:
        need = "client_factory(..., undecoded=True)" if not codec.plain else "client_factory()"
        raise TypeError(f"with {codec!r} the pool's clients must be made by {need}")


def _close(client: Any) -> None:
    _close_connections(client)
    client.disconnect_all()


def _addresses(client: Any) -> list[str]:
    """The servers of a pylibmc client as ``"host:port"`` or ``"unix:/path"``
    (``[]`` if it does not say), as :func:`~caching.adapters.text_connection.address_of`
    reads pylibmc's specs: libmemcached names a Unix socket by its bare path,
    a host without a port has memcached's default port, and a ketama weight
    (``"host:port:weight"``) is no part of the address."""
    addresses = getattr(client, "addresses", None)
    if not isinstance(addresses, list):
        return []
    return [address_of(str(address)) for address in addresses]
