"""Cached functions you can act on: the types and the method binding.

A function decorated by :class:`~caching.patterns.cached.Cached` keeps its
call and gains acts on one call's item (``key``, ``get``, ``set``,
``invalidate``, ``refresh``, ``original``; dogpile.cache's names). On a
method they go through the instance, ``repo.list_items.invalidate("en")``:
a method (first parameter ``self``/``cls``/``klass``, wheezy's rule) is a
descriptor whose ``__get__`` gives the call and the acts bound to the
instance (``caching._method_binding``, compiled: a C slot and a C call, as a
plain method's are). A plain function is the wrapper function itself.

The types are :class:`CachedFunction` and :class:`CachedMultiFunction`
(``typing.ParamSpec``): mypy checks a call's arguments and return type as
for the undecorated function, and through an instance the first parameter
is bound.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar, overload

from caching._method_binding import CachedClassMethod, CachedMethod
from caching.key_rules import Key
from caching.patterns.key_builders import CONTEXT_NAMES

__all__ = [
    "CACHED_NONE",
    "CachedDecorator",
    "CachedFunction",
    "CachedMultiDecorator",
    "CachedMultiFunction",
]

P = ParamSpec("P")
P2 = ParamSpec("P2")
R = TypeVar("R")
T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")


class _CachedNone:
    """The stored stand-in of a ``None`` result (``cache_none=True``); one
    object per process, also after pickling (it pickles by name)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "CACHED_NONE"

    def __reduce__(self) -> str:
        return "CACHED_NONE"


#: What ``cache_none=True`` stores for a ``None`` result; reads through
#: ``Cached`` answer ``None`` for it.
CACHED_NONE = _CachedNone()


class CachedFunction(Protocol[P, R]):
    """A function decorated by ``Cached``: call it, or act on one call's item.

    Each act takes the function's own arguments (through an instance,
    ``self``/``cls`` is bound, as on a call).
    """

    #: The undecorated function.
    original: Callable[P, R]

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """The cached value of this call, created on a miss."""
        ...

    def key(self, *args: P.args, **kwargs: P.kwargs) -> Key:
        """The cache key of this call (a region's before its generation is mixed in)."""
        ...

    def get(self, *args: P.args, **kwargs: P.kwargs) -> R | None:
        """The cached value of this call, or ``None``; never calls the function."""
        ...

    def set(self, value: R, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Store ``value`` as this call's item (the function's ``time``).

        :returns: whether it was stored.
        """
        ...

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Delete this call's item (``Cached.invalidate``: a creator building
        it meanwhile does not store).

        :returns: whether there was a live item.
        """
        ...

    def refresh(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call the function now, store its result (as a miss would) and return it."""
        ...

    @overload
    def __get__(self, instance: None, owner: type[Any] | None = None) -> CachedFunction[P, R]: ...
    @overload
    def __get__(
        self: CachedFunction[Concatenate[T, P2], R], instance: T, owner: type[Any] | None = None
    ) -> CachedFunction[P2, R]: ...


class CachedMultiFunction(Protocol[P, K, V]):
    """A function decorated by ``Cached.wraps_get_or_set_multi``."""

    #: The undecorated function.
    original: Callable[P, Mapping[K, V]]

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> dict[K, V]:
        """The values of the ids, cached or created in one call for the missing."""
        ...

    def key(self, item_id: K) -> Key:
        """The cache key of one id."""
        ...

    def get_multi(self, ids: Iterable[K]) -> dict[K, V]:
        """The cached values of ``ids`` (one ``get_multi``, no call)."""
        ...

    def set_multi(self, mapping: Mapping[K, V]) -> list[K]:
        """Store ``id -> value`` (one ``set_multi``).

        :returns: the ids not stored.
        """
        ...

    def invalidate(self, ids: Iterable[K]) -> bool:
        """Delete the items of ``ids`` (``Cached.invalidate_multi``).

        :returns: ``True`` when none is left.
        """
        ...

    def refresh(self, *args: P.args, **kwargs: P.kwargs) -> dict[K, V]:
        """Call the function for every id now, store and return its answer."""
        ...

    @overload
    def __get__(
        self, instance: None, owner: type[Any] | None = None
    ) -> CachedMultiFunction[P, K, V]: ...
    @overload
    def __get__(
        self: CachedMultiFunction[Concatenate[T, P2], K, V],
        instance: T,
        owner: type[Any] | None = None,
    ) -> CachedMultiFunction[P2, K, V]: ...


class CachedDecorator(Protocol):
    """What ``@cached(time=30)`` and the other called decorators return."""

    def __call__(self, func: Callable[P, R], /) -> CachedFunction[P, R]: ...


class CachedMultiDecorator(Protocol):
    """What ``wraps_get_or_set_multi(make_key=...)`` returns."""

    def __call__(self, func: Callable[P, Mapping[K, V]], /) -> CachedMultiFunction[P, K, V]: ...


def _has_context(func: Callable[..., Any]) -> bool:
    names = list(inspect.signature(func).parameters)
    return bool(names) and names[0] in CONTEXT_NAMES


def _apply(wrapped: Any, decorate: Callable[[Callable[..., Any]], Callable[..., Any]]) -> Any:
    def apply(func: Any) -> Any:
        if isinstance(func, staticmethod):
            return staticmethod(apply(func.__func__))
        if isinstance(func, classmethod):
            return CachedClassMethod(decorate(func.__func__))
        wrapper = decorate(func)
        return CachedMethod(wrapper) if _has_context(func) else wrapper

    return apply if wrapped is None else apply(wrapped)


def with_acts(
    wrapper: Callable[..., Any], func: Callable[..., Any], **acts: Callable[..., Any]
) -> Callable[..., Any]:
    """``wrapper`` dressed as ``func`` (:func:`functools.update_wrapper`),
    with each of ``acts`` as an attribute of its name and ``original``:
    ``func``; shared by the sync and async decorators.

    :returns: ``wrapper``.
    """
    functools.update_wrapper(wrapper, func)
    for name, act in acts.items():
        setattr(wrapper, name, act)
    wrapper.original = func  # type: ignore[attr-defined]
    return wrapper


def cached_function(
    wrapped: Any, decorate: Callable[[Callable[..., Any]], Callable[..., Any]]
) -> Any:
    """Apply ``decorate`` (which gives the wrapper its acts) to ``wrapped``;
    with ``wrapped=None`` return the decorator.

    A plain function (or a ``staticmethod``) becomes the wrapper itself; a
    method or a ``classmethod`` becomes a descriptor that binds the call and
    the acts to the instance or class. ``classmethod``/``staticmethod``
    objects under the decorator are unwrapped; a ``@classmethod`` above it
    binds through the descriptor too (Python 3.11 and 3.12 chain
    ``classmethod`` to it; from 3.13 put the decorator above
    ``@classmethod`` for the acts).
    """
    return _apply(wrapped, decorate)


def cached_multi_function(
    wrapped: Any, decorate: Callable[[Callable[..., Any]], Callable[..., Any]]
) -> Any:
    """:func:`cached_function` for ``wraps_get_or_set_multi``."""
    return _apply(wrapped, decorate)
