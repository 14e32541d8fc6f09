"""A cached method's binding to its instance: the descriptor and the bound call.

Compiled with mypyc where the build can (``setup.py``, ``COMPILED``); the
same source runs as Python elsewhere. A decorated method is a
:class:`CachedMethod` on its class: through an instance, its ``__get__``
gives a :class:`BoundCall`, the call and every act (``key``, ``get``,
``set``, ``invalidate``, ``refresh``, ``get_multi``, ``set_multi``,
``original``) with the instance as the first argument; through the class,
the decorated function itself (the acts then take ``self``), as a plain
function's ``__get__`` gives. A Python ``__get__`` and a
``functools.partial`` subclass cost 3.4k instructions a call over a plain
method's; compiled, the slot and the call 1.4k (docs/PERFORMANCE.md,
"Decorated hits").
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mypy_extensions import mypyc_attr

__all__ = ["BoundCall", "CachedClassMethod", "CachedMethod"]


class BoundCall:
    """A cached method bound to its instance (or, for a classmethod, its class).

    :param func: the decorated function with its acts (taking the instance first).
    :param instance: what the calls and the acts get as their first argument.
    """

    __slots__ = ("func", "instance")

    def __init__(self, func: Any, instance: object) -> None:
        self.func = func
        self.instance = instance

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # The usual calls pass one to three positional arguments: each is a
        # call with its arguments in place, with no tuple built for them
        # (docs/PERFORMANCE.md, "Decorated hits").
        func, instance = self.func, self.instance
        if kwargs:
            return func(instance, *args, **kwargs)
        count = len(args)
        if count == 1:
            return func(instance, args[0])
        if count == 0:
            return func(instance)
        if count == 2:
            return func(instance, args[0], args[1])
        if count == 3:
            return func(instance, args[0], args[1], args[2])
        return func(instance, *args)

    def key(self, *args: Any, **kwargs: Any) -> Any:
        return self.func.key(self.instance, *args, **kwargs)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self.func.get(self.instance, *args, **kwargs)

    def set(self, value: Any, *args: Any, **kwargs: Any) -> Any:
        return self.func.set(value, self.instance, *args, **kwargs)

    def invalidate(self, *args: Any, **kwargs: Any) -> Any:
        return self.func.invalidate(self.instance, *args, **kwargs)

    def refresh(self, *args: Any, **kwargs: Any) -> Any:
        return self.func.refresh(self.instance, *args, **kwargs)

    def get_multi(self, ids: Iterable[Any]) -> Any:
        return self.func.get_multi(self.instance, ids)

    def set_multi(self, mapping: Mapping[Any, Any]) -> Any:
        return self.func.set_multi(self.instance, mapping)

    @property
    def original(self) -> Any:
        return self.func.original

    def __reduce__(self) -> tuple[Any, ...]:
        # copy.copy: a native class has no argument-less construction
        return (type(self), (self.func, self.instance))

    @property
    def __signature__(self) -> Any:
        # the function's without its first parameter, as a bound method's
        import inspect

        signature = inspect.signature(self.func)
        return signature.replace(parameters=list(signature.parameters.values())[1:])

    def __getattr__(self, name: str) -> Any:
        # __name__, __qualname__, __wrapped__ ... of the function
        if name == "func":  # not set yet (interpreted: no recursion)
            raise AttributeError(name)
        return getattr(self.func, name)

    def __repr__(self) -> str:
        return f"<bound cached method {self.func.__qualname__} of {self.instance!r}>"


@mypyc_attr(native_class=False)
class _Attributes:
    """A Python base: it gives the native :class:`CachedMethod` a ``__dict__``
    (the function's ``__doc__``, ``__module__``, acts, and what other
    decorators set, ``__isabstractmethod__``)."""


class CachedMethod(_Attributes):
    """A cached method: a descriptor binding the call and the acts to the instance.

    :param wrapper: the decorated function with its acts (taking ``self``);
        its attributes are the descriptor's (:func:`functools.update_wrapper`).
    """

    def __init__(self, wrapper: Callable[..., Any]) -> None:
        functools.update_wrapper(self, wrapper)
        self.wrapper = wrapper

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.wrapper(*args, **kwargs)

    def __get__(self, instance: object, owner: object = None) -> Any:
        if instance is None:
            return self.wrapper
        return BoundCall(self.wrapper, instance)

    def __repr__(self) -> str:
        return f"<cached method {self.wrapper.__qualname__}>"


class CachedClassMethod(CachedMethod):
    """A cached ``classmethod``: the call and the acts bound to the class."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"{self.wrapper.__qualname__} is a classmethod: call it on its class")

    def __get__(self, instance: object, owner: object = None) -> Any:
        return BoundCall(self.wrapper, owner if owner is not None else type(instance))

    def __repr__(self) -> str:
        return f"<cached classmethod {self.wrapper.__qualname__}>"
