"""The types of ``async def`` functions decorated by
:class:`~caching.aio.cached.AsyncCached`: :class:`AsyncCachedFunction` and
:class:`AsyncCachedMultiFunction`.

They are :mod:`caching.patterns.functions`' types with the acts that do I/O
as coroutines (``await fn.get(...)``, ``await fn.invalidate(...)``); ``key``
and ``original`` stay plain. The binding to an instance or class is the sync
one (:func:`~caching.patterns.functions.cached_function`): on a method, the
acts go through the instance, ``await repo.list_items.invalidate("en")``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar, overload

from caching.key_rules import Key

__all__ = [
    "AsyncCachedDecorator",
    "AsyncCachedFunction",
    "AsyncCachedMultiDecorator",
    "AsyncCachedMultiFunction",
]

P = ParamSpec("P")
P2 = ParamSpec("P2")
R = TypeVar("R")
T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")


class AsyncCachedFunction(Protocol[P, R]):
    """An ``async def`` decorated by ``AsyncCached``: await a call, or act on
    one call's item (each act takes the function's own arguments)."""

    #: The undecorated function.
    original: Callable[P, Awaitable[R]]

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, R]:
        """The cached value of this call, created on a miss."""
        ...

    def key(self, *args: P.args, **kwargs: P.kwargs) -> Key:
        """The cache key of this call (no I/O)."""
        ...

    def get(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, R | None]:
        """The cached value of this call, or ``None``; never calls the function."""
        ...

    def set(self, value: R, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, bool]:
        """Store ``value`` as this call's item; :returns: whether it was stored."""
        ...

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, bool]:
        """Delete this call's item (``AsyncCached.invalidate``: a creator
        building it meanwhile does not store); :returns: whether there was one."""
        ...

    def refresh(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, R]:
        """Await the function now, store its result (as a miss would) and return it."""
        ...

    @overload
    def __get__(
        self, instance: None, owner: type[Any] | None = None
    ) -> AsyncCachedFunction[P, R]: ...
    @overload
    def __get__(
        self: AsyncCachedFunction[Concatenate[T, P2], R],
        instance: T,
        owner: type[Any] | None = None,
    ) -> AsyncCachedFunction[P2, R]: ...


class AsyncCachedMultiFunction(Protocol[P, K, V]):
    """An ``async def`` decorated by ``AsyncCached.wraps_get_or_set_multi``."""

    #: The undecorated function.
    original: Callable[P, Awaitable[Mapping[K, V]]]

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, dict[K, V]]:
        """The values of the ids, cached or created in one call for the missing."""
        ...

    def key(self, item_id: K) -> Key:
        """The cache key of one id."""
        ...

    def get_multi(self, ids: Iterable[K]) -> Coroutine[Any, Any, dict[K, V]]:
        """The cached values of ``ids`` (one ``get_multi``, no call)."""
        ...

    def set_multi(self, mapping: Mapping[K, V]) -> Coroutine[Any, Any, list[K]]:
        """Store ``id -> value`` (one ``set_multi``); :returns: the ids not stored."""
        ...

    def invalidate(self, ids: Iterable[K]) -> Coroutine[Any, Any, bool]:
        """Delete the items of ``ids``; :returns: ``True`` when none is left."""
        ...

    def refresh(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, dict[K, V]]:
        """Await the function for every id now, store and return its answer."""
        ...

    @overload
    def __get__(
        self, instance: None, owner: type[Any] | None = None
    ) -> AsyncCachedMultiFunction[P, K, V]: ...
    @overload
    def __get__(
        self: AsyncCachedMultiFunction[Concatenate[T, P2], K, V],
        instance: T,
        owner: type[Any] | None = None,
    ) -> AsyncCachedMultiFunction[P2, K, V]: ...


class AsyncCachedDecorator(Protocol):
    """What ``@cached(time=30)`` and the other called decorators return."""

    def __call__(self, func: Callable[P, Awaitable[R]], /) -> AsyncCachedFunction[P, R]: ...


class AsyncCachedMultiDecorator(Protocol):
    """What ``wraps_get_or_set_multi(make_key=...)`` returns."""

    def __call__(
        self, func: Callable[P, Awaitable[Mapping[K, V]]], /
    ) -> AsyncCachedMultiFunction[P, K, V]: ...
