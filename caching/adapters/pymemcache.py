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
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from caching.adapters.base import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_RETRY_TIMEOUT,
    DEFAULT_TIMEOUT,
    MemcachedAdapter,
    require,
)
from caching.adapters.options import as_servers
from caching.adapters.pool import Pool
from caching.adapters.serializer import Item, loads
from caching.counters import non_numeric
from caching.key_rules import Key
from caching.store_rules import SET

__all__ = ["PymemcacheAdapter"]

logger = logging.getLogger(__name__)


class _Serde:
    """pymemcache's serde hook: values arrive already serialised."""

    def serialize(self, key: bytes, value: Item) -> Item:
        return value

    def deserialize(self, key: bytes, value: bytes, flags: int) -> Any:
        return loads(value, flags)


def _address(server: Any) -> str:
    return f"{server[0]}:{server[1]}" if isinstance(server, tuple) else str(server)


def _close(client: Any) -> None:
    client.close()


@cache
def _library() -> Any:
    return require("pymemcache", "pymemcache")


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
        **client_options: Any,
    ) -> None:
        library = _library()
        servers = as_servers(servers)
        options: dict[str, Any] = {
            "connect_timeout": connect_timeout,
            "timeout": timeout,
            "no_delay": True,
            **client_options,
            "serde": _Serde(),
            "default_noreply": False,
            "allow_unicode_keys": True,
        }
        if len(servers) == 1:
            factory: Callable[[], Any] = lambda: library.Client(servers[0], **options)  # noqa: E731
        else:
            options.update(retry_timeout=retry_timeout, dead_timeout=retry_timeout)
            options.update(use_pooling=False, ignore_exc=False)
            factory = lambda: library.HashClient(servers, **options)  # noqa: E731
        pool = Pool(factory, pool_size, close=_close)
        # HashClient leaves a failed server alone for dead_timeout; Client has
        # no such period, so the adapter holds off itself (the one failure
        # state of its server for every pooled client: docs/FAILURES.md).
        hold_off = len(servers) == 1
        super().__init__(pool, servers, key_encode, logger, retry_timeout, hold_off)
        self.ping_timeout = timeout
        exceptions = library.exceptions
        self.errors = (exceptions.MemcacheError, OSError)
        self._client_error = exceptions.MemcacheClientError
        self._server_error = exceptions.MemcacheServerError
        self._closed_error = exceptions.MemcacheUnexpectedCloseError

    def _reset(self, client: Any) -> None:
        # A socket opened before the failure may be dead (a restarted
        # server): the call that tries the server connects anew.
        client.close()

    def _store(self, mode: str, client: Any, key: bytes, item: Item, exptime: int) -> bool:
        try:
            return bool(getattr(client, mode)(key, item, exptime, noreply=False))
        except self._server_error as exc:
            if isinstance(exc, self._closed_error) or "too large" not in str(exc):
                raise
            return False  # refused as larger than the item size

    def _store_batch(
        self, client: Any, mode: str, items: dict[bytes, Item], exptime: int
    ) -> list[bytes]:
        if mode != SET:
            return super()._store_batch(client, mode, items, exptime)
        return list(client.set_many(items, exptime, noreply=False))

    def _get(self, client: Any, key: bytes) -> Any:
        return client.get(key)

    def _get_many(self, client: Any, keys: list[Key]) -> dict[Key, Any]:
        if len(self.servers) == 1:
            return client.get_many(keys)  # type: ignore[no-any-return]
        # HashClient.get_many drops every server's answers when one fails:
        # ask server by server (through its own failure bookkeeping) so that
        # the part that could be read is returned.
        batches: dict[Any, list[Key]] = {}
        for key in keys:
            # HashClient places a key by hashing its repr: always the bytes,
            # so that "k" and b"k" land on the server every call uses.
            node = client._get_client(key.encode("utf-8") if isinstance(key, str) else key)
            if node is not None:
                batches.setdefault(node, []).append(key)
        found: dict[Key, Any] = {}
        for node, batch in batches.items():
            try:
                found.update(client._safely_run_func(node, node.get_many, {}, batch))
            except self.errors as exc:
                self._report(_address(node.server), exc)
        return found

    def _delete(self, client: Any, key: bytes) -> bool:
        return bool(client.delete(key, noreply=False))

    def _delete_many(self, client: Any, keys: list[bytes]) -> bool:
        return bool(client.delete_many(keys, noreply=False))

    def _incr(self, client: Any, key: bytes, delta: int) -> int | None:
        return self._counted(client.incr, key, delta)

    def _decr(self, client: Any, key: bytes, delta: int) -> int | None:
        return self._counted(client.decr, key, delta)

    def _counted(self, call: Callable[[bytes, int], Any], key: bytes, delta: int) -> int | None:
        try:
            return call(key, delta)  # type: ignore[no-any-return]
        except self._client_error:
            raise non_numeric() from None

    def _flush(self, client: Any) -> bool:
        try:
            return bool(client.flush_all(noreply=False))
        except self._closed_error:
            # The server (twemproxy) took the command and closed the
            # connection: a refusal, not a failure; pymemcache reconnects.
            return False
