"""The cache contract as a :class:`typing.Protocol`.

Every backend -- :class:`~caching.memory.MemoryCache`,
:class:`~caching.null.NullCache`, the memcached adapters and
:class:`~caching.client.CacheClient` -- answers these calls as a memcached 1.6
server would. The rules are documented here once; backends do not repeat them.
The full specification is CONTRACT.md.

Common arguments:

``key``
    ``str`` (stored as UTF-8) or ``bytes``; 1 to 250 bytes after the backend's
    ``key_encode``, with no space or ASCII control character. A bad key raises
    :class:`~caching.errors.InvalidKeyError` (a ``ValueError``) before any I/O;
    a key of another type raises ``TypeError``.
``time``
    Expiry: ``int`` seconds or ``datetime.timedelta``. ``0`` never expires;
    ``1`` .. ``2592000`` (30 days) is relative; larger is an absolute Unix
    timestamp; negative means already expired. An item stored at second ``T``
    with relative time ``N`` is readable through ``T+N-1`` and gone at ``T+N``.
    Any other type raises ``TypeError``; an expiry past ``2**31 - 1``
    (January 2038), which memcached stores and never returns, raises
    ``ValueError`` before any I/O (:data:`caching.expiry.MAX_EXPTIME`).
``namespace``
    Accepted everywhere and ignored by all but ``CacheClient``, which uses it to
    choose the backend (an unknown one raises ``KeyError``).

A server failure never raises out of a contract call: the call answers
"nothing happened" (``None``, ``False``, the keys not stored, ``{}``) and the
adapter logs a warning at most once per server per retry period.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

from caching.expiry import Time
from caching.key_rules import Key

__all__ = ["Cache"]


@runtime_checkable
class Cache(Protocol):
    """What every cache backend does: memcached's storage commands."""

    def set(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        """Store ``value`` under ``key``, whatever the key holds.

        :returns: ``True`` when stored; ``False`` when not (value larger than
            the item size limit, 1 MiB by default, or a server failure).
        """
        ...

    def add(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        """Store ``value`` only if ``key`` holds no live item (memcached ``add``).

        :returns: ``True`` when stored; ``False`` when the key already holds a
            live item (an expired one does not count) or on failure.
        """
        ...

    def replace(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        """Store ``value`` only if ``key`` holds a live item (memcached ``replace``).

        :returns: ``True`` when stored; ``False`` when the key holds no live
            item or on failure.
        """
        ...

    def set_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        """``set`` every item of ``mapping``; all keys are checked before any I/O.

        :returns: the keys (as given) that were **not** stored; ``[]`` when all were.
        """
        ...

    def add_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        """``add`` every item of ``mapping``.

        :returns: the keys (as given) that were not stored.
        """
        ...

    def replace_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        """``replace`` every item of ``mapping``.

        :returns: the keys (as given) that were not stored.
        """
        ...

    def get(self, key: Key, namespace: str | None = None) -> Any:
        """Read one item.

        :returns: the value, or ``None`` on a miss, an expired item, a stored
            ``None`` or a failure.
        """
        ...

    def get_multi(self, keys: Iterable[Key], namespace: str | None = None) -> dict[Key, Any]:
        """Read many items in one round trip.

        :param keys: an iterable of keys (a single ``str``/``bytes`` raises
            ``TypeError``).
        :returns: the items found, keyed by the keys **as the caller gave
            them**; missing, expired and ``None`` items are left out.
        """
        ...

    def delete(self, key: Key, seconds: int = 0, namespace: str | None = None) -> bool:
        """Remove one item. ``seconds`` is accepted and ignored (memcached 1.6
        has no delete hold-off).

        :returns: ``True`` when a live item was removed; ``False`` when there
            was none, or on failure.
        """
        ...

    def delete_multi(
        self, keys: Iterable[Key], seconds: int = 0, namespace: str | None = None
    ) -> bool:
        """Remove many items.

        :returns: ``True`` when the call completed and none of the keys holds
            an item afterwards, whether or not they existed; ``False`` only on
            failure.
        """
        ...

    def incr(
        self,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None:
        """Atomically add ``delta`` to a counter (memcached ``incr``).

        The value is an unsigned 64-bit integer: ``incr`` wraps at ``2**64``.
        The item keeps its expiry. With ``initial_value`` and a missing key the
        item is created with that value and no expiry, then incremented, so
        ``incr('k', initial_value=0) == 1``; concurrent creators never lose an
        increment.

        :param delta: ``int`` in ``0 .. 2**64-1``.
        :param initial_value: ``None`` or ``int`` in ``0 .. 2**64-1``.
        :returns: the new value; ``None`` when the key is missing and
            ``initial_value`` is ``None``, or on failure.
        :raises ValueError: negative or non-``int`` delta or initial value, or
            a stored value that is not an ``int`` in ``0 .. 2**64-1``.
        """
        ...

    def decr(
        self,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None:
        """Atomically subtract ``delta`` from a counter (memcached ``decr``).

        As :meth:`incr`, except that the value stops at ``0`` ("decr to below
        0 sets 0"), so ``decr('k', initial_value=10) == 9``.
        """
        ...

    def ping(self) -> dict[str, float | None]:
        """Ask every server of the backend for a round trip (a health check).

        :returns: server (``"host:port"``, or the backend's name for an
            in-process backend, e.g. ``"memory"``) -> its round trip in
            seconds, or ``None`` when it does not answer within the backend's
            timeout. Never raises for a server failure.
        """
        ...

    def flush_all(self) -> bool:
        """Drop every item.

        :returns: ``True`` when every item was dropped; ``False`` on failure
            (or through a proxy that refuses ``flush_all``).
        """
        ...
