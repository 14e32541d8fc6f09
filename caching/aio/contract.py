"""The cache contract as coroutines: :class:`AsyncCache`.

Every call of :class:`caching.contract.Cache` is here as an ``async def``
with the same arguments, the same answers and the same errors; that Protocol
(and CONTRACT.md) documents them once. What is async-specific:

* the argument checks (keys before any I/O, times, counter arguments, types)
  raise when the coroutine is awaited, before it suspends;
* a call cancelled at any point (``asyncio.timeout``, a client gone away)
  raises ``CancelledError`` to its awaiter and leaves the backend in step:
  the next calls get their own answers (docs/ASYNCIO.md, "Cancellation");
* a server failure, a timeout included, never raises out of a call: it
  answers "nothing happened", as the sync backends do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

from caching.expiry import Time
from caching.key_rules import Key

__all__ = ["AsyncCache"]


@runtime_checkable
class AsyncCache(Protocol):
    """What every async backend does; each method answers as the
    :class:`caching.contract.Cache` method of its name."""

    async def set(
        self, key: Key, value: Any, time: Time = 0, namespace: str | None = None
    ) -> bool: ...

    async def add(
        self, key: Key, value: Any, time: Time = 0, namespace: str | None = None
    ) -> bool: ...

    async def replace(
        self, key: Key, value: Any, time: Time = 0, namespace: str | None = None
    ) -> bool: ...

    async def set_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]: ...

    async def add_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]: ...

    async def replace_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]: ...

    async def get(self, key: Key, namespace: str | None = None) -> Any: ...

    async def get_multi(
        self, keys: Iterable[Key], namespace: str | None = None
    ) -> dict[Key, Any]: ...

    async def delete(self, key: Key, seconds: int = 0, namespace: str | None = None) -> bool: ...

    async def delete_multi(
        self, keys: Iterable[Key], seconds: int = 0, namespace: str | None = None
    ) -> bool: ...

    async def incr(
        self,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None: ...

    async def decr(
        self,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None: ...

    async def ping(self) -> dict[str, float | None]: ...

    async def flush_all(self) -> bool: ...
