"""``AsyncMemcachedClient``: the contract over memcached for asyncio, on emcache.

The adapter shares the sync adapters' rules rather than copying them: keys
are checked (and ``key_encode`` applied) by
:class:`~caching.adapters.base.StoredKeys` before any I/O, times by
:func:`caching.expiry.to_exptime`, counter arguments by
:mod:`caching.counters`, and values written and read by
:class:`~caching.adapters.serializer.Codec` -- the one item format of the sync
adapters, so an item written by any of them reads back here, with every
``serializer=``/``secret=``/``compress_over=`` setting. Failures are logged
by :class:`~caching.adapters.failures.FailureLog`: one WARNING per server per
``retry_timeout``, one INFO when it is back.

Why emcache, how keys are placed on several servers and what a cancelled
call does are in docs/ASYNCIO.md. In short:

* one emcache client per server, each with its own connection pool and
  emcache's per-operation timeout; the adapter places keys itself with
  pymemcache's rendezvous hash over ``"host:port"`` names, so that every key
  lands on the server the sync pymemcache adapter uses (while all are up);
* a server that fails (refused, killed, hung: emcache's timeout) is left
  alone for ``retry_timeout`` seconds, during which its calls answer
  "nothing happened" at once; then one call tries it on a fresh emcache
  client (emcache's own reconnection backs off up to a minute);
* a cancelled call raises ``CancelledError`` and emcache closes the
  connection it held (``release_connection(exc=...)``): no reply meant for
  it is ever read by a later call.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from time import monotonic
from typing import Any, Self, TypeVar

from caching import counters
from caching.adapters.base import EXPIRED, NON_NUMERIC, StoredKeys, count_from_2_63, require
from caching.adapters.failures import FailureLog
from caching.adapters.health import round_trip
from caching.adapters.options import ADAPTER_OPTIONS, as_servers
from caching.adapters.serializer import (
    FLAG_BYTES,
    BadItemError,
    Codec,
    Item,
    RefusalLog,
    counter_value,
)
from caching.expiry import Time, to_exptime
from caching.key_rules import Key, check_mapping, reject_single_key
from caching.steps import run_async
from caching.store_rules import ADD, REPLACE, SET
from caching.url import parse_options

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_RETRY_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "AsyncMemcachedClient",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

_running_loop = asyncio.get_running_loop

#: Default seconds to wait for a TCP connection to a server.
DEFAULT_CONNECT_TIMEOUT = 0.5
#: Default seconds a call waits for a server's answer (connection included):
#: a down or hung server costs this, once per ``retry_timeout``.
DEFAULT_TIMEOUT = 1.0
#: Default seconds a failed server is left alone; also the warnings' period.
DEFAULT_RETRY_TIMEOUT = 1.0

_INITIAL_TRIES = 10

#: A batch read that read nothing: ``(keys, values, flags)``.
_NOTHING_READ: tuple[list[bytes], list[bytes], list[int]] = ([], [], [])


def _exptime(time: Time) -> int:
    exptime = to_exptime(time)
    return EXPIRED if exptime < 0 else exptime


class _CasCalls:
    """The ``gets``/``cas`` of :func:`~caching.adapters.base.count_from_2_63`
    on one emcache client (the sync adapters' ``_gets``/``_cas``)."""

    __slots__ = ("client", "codec", "storage_error")

    def __init__(self, client: Any, adapter: AsyncMemcachedClient) -> None:
        self.client = client
        self.codec = adapter.codec
        self.storage_error = adapter._storage_error

    async def gets(self, key: bytes) -> tuple[Any, Any]:
        """``(value, cas token)``: the value as a counter reads (the item's
        ``(data, flags)`` when it is no counter); ``(None, None)``: no item."""
        item = await self.client.gets(key, return_flags=True)
        if item is None:
            return None, None
        data = (item.value, item.flags)
        counted = counter_value(data)
        return (data if counted is None else counted), item.cas

    async def cas(self, key: bytes, value: int, token: Any) -> bool:
        data, flags = self.codec.dumps(key, value)  # a counter: its digits, in every setting
        try:
            await self.client.cas(key, data, token, flags=flags)
        except self.storage_error:  # EXISTS (another writer won) or NOT_FOUND
            return False
        return True


class _Server:
    """One server: its emcache client (made in the running loop on first
    use), its hold-off, and the admission of calls to its connections.

    At most ``slots`` calls run on the server at once (its connections):
    the others queue, first come first served, in ``waiting``. emcache's own
    pool hands a freed connection to the newest waiter, so under load its
    oldest waiter can sit out the whole timeout and be taken for a server
    failure; with the adapter's queue in front, a call admitted finds a
    connection free, and its timeout is the server's.
    """

    __slots__ = (
        "address",
        "client",
        "down_until",
        "free",
        "loop",
        "name",
        "node",
        "slots",
        "sweep",
        "waiting",
    )

    def __init__(self, name: str, address: Any, slots: int) -> None:
        self.name = name
        self.address = address
        self.client: Any = None
        #: The client's one emcache node, for get_multi's batch reads
        #: (``None``: this emcache has none, its ``get_many`` is used).
        self.node: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.down_until = 0.0
        self.slots = slots
        self.free = slots
        #: (loop time after which it gives up, its future), first come first.
        self.waiting: deque[tuple[float, asyncio.Future[bool]]] = deque()
        #: The one timer that turns away the waiters past their time.
        self.sweep: asyncio.TimerHandle | None = None

    def reset(self) -> None:
        """A new event loop: the old one's line is gone."""
        self.free, self.waiting, self.sweep = self.slots, deque(), None

    def wait_in_line(self, loop: asyncio.AbstractEventLoop, timeout: float) -> asyncio.Future[bool]:
        """A future that becomes ``True`` when the caller is admitted, or
        ``False`` after ``timeout`` seconds in line."""
        waiter: asyncio.Future[bool] = loop.create_future()
        deadline = loop.time() + timeout
        self.waiting.append((deadline, waiter))
        if self.sweep is None:
            self.sweep = loop.call_at(deadline, self._turn_away, loop)
        return waiter

    def _turn_away(self, loop: asyncio.AbstractEventLoop) -> None:
        waiting, now = self.waiting, loop.time()
        while waiting and waiting[0][0] <= now:
            waiter = waiting.popleft()[1]
            if not waiter.done():
                waiter.set_result(False)
        self.sweep = loop.call_at(waiting[0][0], self._turn_away, loop) if waiting else None

    def release(self) -> None:
        """A call is done: admit the first live waiter, or free the slot."""
        waiting = self.waiting
        while waiting:
            waiter = waiting.popleft()[1]
            if not waiter.done():
                waiter.set_result(True)
                return
        self.free += 1


async def _close_client(client: Any) -> None:
    """Close an emcache client, ending its reconnection tasks.

    Its ``close`` cancels each pool's reconnection task and waits for it;
    on CPython 3.11 that cancellation can be lost (``asyncio.wait_for``
    raising the connection's ``OSError`` instead), and the task then sleeps
    out its back-off and tries again, for ever: the close (and the loop's
    shutdown) would wait on a down server. The task is cancelled again
    until it is gone.
    """
    closing = asyncio.ensure_future(client.close())
    while not closing.done():
        await asyncio.wait([closing], timeout=0.05)
        for node in getattr(getattr(client, "_cluster", None), "nodes", ()):
            task = getattr(
                getattr(node, "_connection_pool", None), "_creating_connection_task", None
            )
            if task is not None and not task.done():
                task.cancel()
    closing.result()


def _address(emcache: Any, server: str) -> Any:
    if server.startswith("unix:"):
        return emcache.MemcachedUnixSocketPath(server[len("unix:") :])
    host, _, port = server.rpartition(":")
    return emcache.MemcachedHostAddress(host, int(port))


class AsyncMemcachedClient:
    """The async contract (:class:`~caching.aio.contract.AsyncCache`) over
    memcached, on emcache (``pip install 'caching-toolkit[emcache]'``).

    Building never connects: each server's emcache client is made in the
    event loop of the first call that needs it (a call from another loop
    makes a new one; the adapter is meant for one loop at a time).

    :param servers: ``"host:port"`` (or ``"unix:/path"``) or a list of them;
        several are placed by rendezvous hashing as pymemcache's
        ``HashClient`` does (pymemcache is then needed, and the extra
        installs it).
    :param key_encode: applied to every key before the key rules are checked
        (e.g. :func:`caching.encoding.hash_encode`); ``None`` keeps keys.
    :param connect_timeout: seconds to wait for a TCP connection.
    :param timeout: seconds a call waits for its server (for a connection,
        then for the answer); a call never takes much longer.
    :param retry_timeout: seconds a failed server is left alone (its calls
        answer "nothing happened" at once), and between two warnings about it.
    :param pool_size: connections per server (emcache's ``max_connections``).
    :param serializer: ``"pickle"``, ``"json"`` or ``"msgpack"``, as the sync
        adapters (:class:`~caching.adapters.serializer.Codec`).
    :param secret: signing key(s) (``str``/``bytes`` or a list; the first
        signs), as the sync adapters.
    :param compress_over: compress values longer than this many bytes.
    :param compressor: ``"zlib"`` or ``"zstd"``.
    :raises MissingExtraError: emcache (or, with several servers, pymemcache)
        is not installed.
    :raises ValueError: no server, a bad address or a bad codec setting.
    :raises TypeError: ``servers`` is not a ``str`` or a list of them.
    """

    #: The options of ``memcached://...`` (name -> converter), as the sync adapters'.
    url_options: dict[str, Callable[[str], Any]] = ADAPTER_OPTIONS

    @classmethod
    def from_url(cls, url: str, servers: list[str], query: str) -> Self:
        """Build from ``memcached://...?option=value`` (see
        :func:`caching.aio.from_url`); ``secret_env=NAME[,NAME...]`` becomes
        ``secret=`` (read now)."""
        options = parse_options(url, query, cls.url_options)
        if "secret_env" in options:
            options["secret"] = options.pop("secret_env")
        return cls(servers, **options)

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
    ) -> None:
        self._emcache = require("emcache", "emcache")
        names = as_servers(servers)
        self.servers = names
        self._servers = [_Server(name, _address(self._emcache, name), pool_size) for name in names]
        self._by_name = {server.name: server for server in self._servers}
        self._hasher: Any = None
        if len(names) > 1:
            rendezvous = require("pymemcache.client.rendezvous", "emcache")
            self._hasher = rendezvous.RendezvousHash(list(names))
        self._stored_keys = StoredKeys(key_encode)
        self.codec = Codec(serializer, secret, compress_over, compressor)
        self._plain = self.codec.plain
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.retry_timeout = retry_timeout
        self.pool_size = pool_size
        self.failures = FailureLog(logger, retry_timeout)
        self._item_refusals = RefusalLog(logger, retry_timeout)
        self._closing: set[asyncio.Task[None]] = set()
        errors = self._emcache
        #: What emcache raises when a server fails (TimeoutError is an OSError).
        self._failures: tuple[type[BaseException], ...] = (
            OSError,
            errors.ClusterNoAvailableNodes,
        )
        self._not_stored = errors.NotStoredStorageCommandError
        self._not_found = errors.NotFoundCommandError
        self._storage_error = errors.StorageCommandError
        self._command_error = errors.CommandError
        # emcache's per-operation timeout, for the batch reads on its nodes
        # (None where another emcache lays its modules out otherwise).
        self._op_timeout: Any = getattr(sys.modules.get("emcache.timeout"), "OpTimeout", None)
        # emcache logs each lost connection and each failed reconnection at
        # WARNING; the adapter reports failures itself, once per period.
        library_logger = logging.getLogger("emcache")
        if library_logger.level == logging.NOTSET:
            library_logger.setLevel(logging.ERROR)

    @property
    def key_encode(self) -> Callable[[Key], Key] | None:
        """Applied to every key before it is checked (``None``: keys as given)."""
        return self._stored_keys.key_encode

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.{type(self).__name__} {','.join(self.servers)}>"

    async def close(self) -> None:
        """Close every connection; the adapter reconnects when used again."""
        for server in self._servers:
            client, server.client = server.client, None
            if client is not None and server.loop is asyncio.get_running_loop():
                await _close_client(client)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    # -- plumbing ---------------------------------------------------------

    def _server_of(self, key: bytes) -> _Server:
        """The server of ``key`` (a stored key): pymemcache's rendezvous hash
        of the bytes key (its repr, as HashClient hashes it)."""
        if self._hasher is None:
            return self._servers[0]
        return self._by_name[self._hasher.get_node(key)]

    async def _client(self, server: _Server, fresh: bool) -> Any:
        """``server``'s emcache client in the running loop; ``fresh``: a new
        one (the old one closed in the background), whose connections start
        now rather than after emcache's reconnection back-off."""
        loop = asyncio.get_running_loop()
        client = server.client
        if client is not None and server.loop is loop and not fresh:
            return client
        if client is not None and server.loop is loop:
            task = loop.create_task(_close_client(client))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        # create_client awaits nothing without autodiscovery: it returns
        # before another task runs, so concurrent first calls share a client.
        client = await self._emcache.create_client(
            [server.address],
            timeout=self.timeout,
            max_connections=self.pool_size,
            min_connections=1,
            connection_timeout=self.connect_timeout,
        )
        if server.loop is not loop:
            server.reset()
        server.client, server.loop = client, loop
        nodes = getattr(getattr(client, "_cluster", None), "nodes", None)
        server.node = nodes[0] if self._op_timeout is not None and nodes else None
        return client

    async def _call(
        self,
        server: _Server,
        operation: Callable[..., Awaitable[T]],
        args: tuple[Any, ...],
        default: T,
    ) -> T:
        """``await operation(client, *args)`` on ``server``'s client; a server
        failure (refused, lost, timed out) is logged and gives ``default``;
        a reply that could not be read too, without the hold-off. A
        ``CancelledError`` passes through (emcache closes the connection).
        (The fast path: a healthy server with a connection free.)"""
        client = server.client
        if not server.free or server.down_until or server.loop is not _running_loop():
            return await self._call_slow(server, operation, args, default)
        server.free -= 1
        try:
            return await operation(client, *args)
        except self._failures as exc:  # TimeoutError and the OSErrors
            self._failed(server, exc)
            return default
        except self._command_error as exc:  # a reply it could not read
            self.failures.report(server.name, f"unexpected reply: {exc}", down=False)
            return default
        finally:
            server.release()

    async def _call_slow(
        self,
        server: _Server,
        operation: Callable[..., Awaitable[T]],
        args: tuple[Any, ...],
        default: T,
    ) -> T:
        """:meth:`_call` otherwise: within the hold-off, ``default`` at once;
        after it, this call tries the server on a fresh client while the
        others still answer ``default``; with no connection free, wait in
        line for at most ``timeout`` seconds (then ``default``: the server
        is not taken for failed, the calls ahead are still running)."""
        if server.down_until and monotonic() < server.down_until:
            return default  # held off: not even in line
        if server.loop is not _running_loop():
            await self._client(server, False)
        if not server.free:
            waiter = server.wait_in_line(_running_loop(), self.timeout)
            try:
                admitted = await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled() and waiter.result():
                    server.release()  # admitted as it was cancelled: pass it on
                raise
            if not admitted:
                return default  # not admitted within timeout
        else:
            server.free -= 1
        try:
            trying = False
            if server.down_until:
                now = monotonic()
                if now < server.down_until:
                    return default
                server.down_until = now + self.retry_timeout  # this call tries
                trying = True
            client = await self._client(server, True) if trying else server.client
            try:
                result = await operation(client, *args)
            except self._failures as exc:
                self._failed(server, exc)
                return default
            except self._command_error as exc:
                self.failures.report(server.name, f"unexpected reply: {exc}", down=False)
                return default
            if trying:
                server.down_until = 0.0
                self.failures.recovered(server.name)
            return result
        finally:
            server.release()

    def _failed(self, server: _Server, error: BaseException) -> None:
        """Note a failure of ``server``: hold off, log at most once per period."""
        server.down_until = monotonic() + self.retry_timeout
        self.failures.report(server.name, error)

    def _decoded(self, key: bytes, item: Any) -> Any:
        """The value of an emcache ``Item`` of ``key`` (``None``: a refused
        item, a miss logged at most once per period)."""
        return self._decoded_item(key, item.value, item.flags)

    def _decoded_item(self, key: bytes, data: bytes, flags: int) -> Any:
        """The value of ``key``'s item ``(data, flags)``, read by the codec."""
        if flags == FLAG_BYTES and self._plain:
            return data  # what Codec.loads answers, without its checks
        try:
            return self.codec.loads(key, data, flags)
        except BadItemError as exc:
            self._item_refusals.report(key, exc)
            return None

    def _by_server(self, keys: Iterable[bytes]) -> dict[_Server, list[bytes]]:
        groups: dict[_Server, list[bytes]] = {}
        for key in keys:
            groups.setdefault(self._server_of(key), []).append(key)
        return groups

    def _keys(self, keys: Iterable[Key]) -> dict[bytes, list[Key]]:
        """Checked bytes key -> the caller's keys that name it."""
        reject_single_key(keys)
        by_key: dict[bytes, list[Key]] = {}
        for key in keys:
            by_key.setdefault(self._stored_keys[key], []).append(key)
        return by_key

    # -- operations on one client (emcache's answers to the contract's) ---

    async def _store(self, client: Any, mode: str, key: bytes, item: Item, exptime: int) -> bool:
        data, flags = item
        try:
            await getattr(client, mode)(key, data, flags=flags, exptime=exptime)
        except self._not_stored:
            return False
        except self._storage_error:  # SERVER_ERROR object too large: refused
            return False
        return True

    async def _store_each(
        self, client: Any, mode: str, items: list[tuple[bytes, Item]], exptime: int
    ) -> list[bytes]:
        return [
            key for key, item in items if not await self._store(client, mode, key, item, exptime)
        ]

    @staticmethod
    def _get(client: Any, key: bytes) -> Awaitable[Any]:
        # A plain function returning emcache's coroutine: no coroutine of ours
        # around it on the hot path.
        return client.get(key, return_flags=True)  # type: ignore[no-any-return]

    async def _fetch(self, client: Any, server: _Server, keys: list[bytes]) -> Any:
        """A batch read on ``server``: ``(keys, values, flags)`` lists. On
        emcache's node, as its ``get_many`` does (its timeout, its
        connection context, which closes the connection of a call cancelled
        or failed), without building an ``Item`` per key nor a task per
        call: for one server, ``get_many``'s Python overhead was a quarter
        of a 100-key read. (Where emcache has no such node, ``get_many``.)"""
        node = server.node
        if node is None:
            found = await client.get_many(keys, return_flags=True)
            return list(found), [i.value for i in found.values()], [i.flags for i in found.values()]
        async with self._op_timeout(self.timeout, server.loop), node.connection() as connection:
            got, values, flags, _, error = await connection.fetch_command(b"get", keys)
        if error:
            raise self._command_error(f"get: {bytes(error)!r}")
        return got, values, flags

    async def _delete(self, client: Any, key: bytes) -> bool:
        try:
            await client.delete(key)
        except self._not_found:
            return False
        return True

    async def _delete_each(self, client: Any, keys: list[bytes]) -> bool:
        for key in keys:
            await self._delete(client, key)
        return True

    async def _count_once(self, client: Any, key: bytes, delta: int, down: bool) -> int | None:
        try:
            if down:
                value: int = await client.decrement(key, delta)
            else:
                value = await client.increment(key, delta)
        except self._not_found:
            return None
        except ValueError:  # emcache's int() of CLIENT_ERROR ... non-numeric value
            return NON_NUMERIC
        return value

    async def _flush(self, client: Any, address: Any) -> bool:
        await client.flush_all(address)
        return True

    # -- stores -----------------------------------------------------------

    async def _store_one(self, mode: str, key: Key, value: Any, time: Time) -> bool:
        stored_key = self._stored_keys[key]
        exptime = _exptime(time)
        item = self.codec.dumps(stored_key, value)
        server = self._server_of(stored_key)
        return await self._call(server, self._store, (mode, stored_key, item, exptime), False)

    async def set(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        return await self._store_one(SET, key, value, time)

    async def add(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        return await self._store_one(ADD, key, value, time)

    async def replace(
        self, key: Key, value: Any, time: Time = 0, namespace: str | None = None
    ) -> bool:
        return await self._store_one(REPLACE, key, value, time)

    async def set_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return await self._store_all(SET, mapping, time)

    async def add_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return await self._store_all(ADD, mapping, time)

    async def replace_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return await self._store_all(REPLACE, mapping, time)

    async def _store_all(self, mode: str, mapping: Mapping[Key, Any], time: Time) -> list[Key]:
        check_mapping(mapping)
        exptime = _exptime(time)
        by_key = self._keys(mapping)  # every key checked before anything is sent
        encode = self.codec.dumps
        items = {key: encode(key, mapping[given[-1]]) for key, given in by_key.items()}
        if not items:
            return []
        groups = self._by_server(items)
        answers = await asyncio.gather(
            *(
                self._call(
                    server,
                    self._store_each,
                    (mode, [(key, items[key]) for key in keys], exptime),
                    keys,
                )
                for server, keys in groups.items()
            )
        )
        return [given for failed in answers for key in failed for given in by_key[key]]

    # -- reads ------------------------------------------------------------

    async def get(self, key: Key, namespace: str | None = None) -> Any:
        stored_key = self._stored_keys[key]
        server = self._servers[0] if self._hasher is None else self._server_of(stored_key)
        if server.node is None:  # before the first call, or emcache's public get
            item = await self._call(server, self._get, (stored_key,), None)
            return None if item is None else self._decoded(stored_key, item)
        got, values, flags = await self._call(
            server, self._fetch, (server, [stored_key]), _NOTHING_READ
        )
        if not got or got[0] != stored_key:
            return None
        if flags[0] == FLAG_BYTES and self._plain:
            return values[0]
        return self._decoded_item(stored_key, values[0], flags[0])

    async def get_multi(self, keys: Iterable[Key], namespace: str | None = None) -> dict[Key, Any]:
        reject_single_key(keys)
        stored_keys = self._stored_keys
        listed = keys if type(keys) is list else list(keys)
        stored = [stored_keys[key] for key in listed]  # all checked before any I/O
        if not stored:
            return {}
        given = dict(zip(stored, listed, strict=True))
        if len(given) < len(listed):  # a str and its bytes, or a key twice
            return await self._get_multi_named(self._keys(listed))
        nothing: tuple[list[bytes], list[bytes], list[int]] = ([], [], [])
        if self._hasher is None:
            server = self._servers[0]
            answers = [await self._call(server, self._fetch, (server, list(given)), nothing)]
        else:
            answers = await self._gather_gets(list(given))
        found: dict[Key, Any] = {}
        for got, values, flags in answers:
            if self._plain:  # bytes items as they are, in one comprehension
                before = len(found)
                found.update(
                    {
                        given[key]: value
                        for key, value, flag in zip(got, values, flags, strict=True)
                        if flag == FLAG_BYTES and key in given
                    }
                )
                if len(found) - before == len(got):
                    continue
            self._read_into(found, given, got, values, flags)
        return found

    def _read_into(
        self,
        found: dict[Key, Any],
        given: dict[bytes, Key],
        got: list[bytes],
        values: list[bytes],
        flags: list[int],
    ) -> None:
        """Decode the items read (``got[i]`` holds ``values[i]`` with
        ``flags[i]``) into ``found`` under the caller's keys; a key not asked
        for is never handed to the caller, a refused item is a miss."""
        for key, data, flag in zip(got, values, flags, strict=True):
            one = given.get(key)
            if one is None or one in found:
                continue
            value = self._decoded_item(key, data, flag)
            if value is not None:
                found[one] = value

    async def _gather_gets(self, keys: list[bytes]) -> list[Any]:
        """One batch read per server, at once; a failed server's part is empty."""
        nothing: tuple[list[bytes], list[bytes], list[int]] = ([], [], [])
        groups = self._by_server(keys)
        if len(groups) == 1:
            [(server, stored)] = groups.items()
            return [await self._call(server, self._fetch, (server, stored), nothing)]
        return list(
            await asyncio.gather(
                *(
                    self._call(server, self._fetch, (server, stored), nothing)
                    for server, stored in groups.items()
                )
            )
        )

    async def _get_multi_named(self, by_key: dict[bytes, list[Key]]) -> dict[Key, Any]:
        """``get_multi`` where several of the caller's keys name one item."""
        found: dict[Key, Any] = {}
        for got, values, flags in await self._gather_gets(list(by_key)):
            for key, data, flag in zip(got, values, flags, strict=True):
                names = by_key.get(key)
                if names is None:
                    continue
                value = self._decoded_item(key, data, flag)
                if value is not None:
                    for one in names:
                        found[one] = value
        return found

    # -- deletes ----------------------------------------------------------

    async def delete(self, key: Key, seconds: int = 0, namespace: str | None = None) -> bool:
        stored_key = self._stored_keys[key]
        return await self._call(self._server_of(stored_key), self._delete, (stored_key,), False)

    async def delete_multi(
        self, keys: Iterable[Key], seconds: int = 0, namespace: str | None = None
    ) -> bool:
        stored = list(self._keys(keys))
        if not stored:
            return True
        answers = await asyncio.gather(
            *(
                self._call(server, self._delete_each, (keys,), False)
                for server, keys in self._by_server(stored).items()
            )
        )
        return all(answers)

    async def flush_all(self) -> bool:
        answers = await asyncio.gather(
            *(self._call(server, self._flush, (server.address,), False) for server in self._servers)
        )
        return all(answers)

    # -- counters ---------------------------------------------------------

    async def incr(
        self,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None:
        return await self._count(key, delta, initial_value, False)

    async def decr(
        self,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None:
        return await self._count(key, delta, initial_value, True)

    async def _count(
        self, key: Key, delta: int, initial_value: int | None, down: bool
    ) -> int | None:
        stored_key = self._stored_keys[key]
        delta = counters.check_delta(delta)
        initial = counters.check_initial(initial_value)
        server = self._server_of(stored_key)
        value = await self._call(server, self._counter, (stored_key, delta, initial, down), None)
        if value is not None and value < 0:  # NON_NUMERIC
            # memcached 1.6 can misread a counter from 2**63 as non-numeric
            # (docs/FAILURES.md, "Counters from 2**63"): the sync adapters'
            # gets/cas rule counts it here.
            fallback: int | None = NON_NUMERIC
            value = await self._call(
                server, self._count_from_2_63, (stored_key, delta, down), fallback
            )
            if value is not None and value < 0:
                raise counters.non_numeric()
        return value

    async def _count_from_2_63(self, client: Any, key: bytes, delta: int, down: bool) -> int | None:
        """:func:`caching.adapters.base.count_from_2_63` on emcache's ``gets``/``cas``."""
        return await run_async(count_from_2_63(key, delta, down), _CasCalls(client, self))

    async def _counter(
        self, client: Any, key: bytes, delta: int, initial: int | None, down: bool
    ) -> int | None:
        """incr/decr; a miss with ``initial`` creates the counter with ``add``,
        so of concurrent creators one adds and the others count on it (the
        sync adapters' ``_counter``)."""
        for _ in range(_INITIAL_TRIES):
            value = await self._count_once(client, key, delta, down)
            if value is not None or initial is None:
                return value
            start = counters.decr(initial, delta) if down else counters.incr(initial, delta)
            if await self._store(client, ADD, key, self.codec.dumps(key, start), 0):
                return start
        return None

    # -- health -----------------------------------------------------------

    async def ping(self) -> dict[str, float | None]:
        """As :meth:`caching.contract.Cache.ping`: each server's round trip
        to ``version`` on a connection of its own, within ``timeout``
        (:func:`caching.adapters.health.round_trip`, in worker threads: the
        loop never waits)."""
        trips = await asyncio.gather(
            *(asyncio.to_thread(round_trip, name, self.timeout) for name in self.servers)
        )
        return dict(zip(self.servers, trips, strict=True))
