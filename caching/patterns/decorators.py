"""One helper shared by the decorators of the patterns and guards."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

__all__ = ["apply_decorator"]


def apply_decorator(
    wrapped: Any, decorate: Callable[[Callable[..., Any]], Callable[..., Any]]
) -> Any:
    """Apply ``decorate`` to ``wrapped``; with ``wrapped=None`` return the decorator.

    The result keeps the function's name, docstring and signature
    (``functools.wraps``). ``classmethod``/``staticmethod`` objects are
    unwrapped, decorated and wrapped again, so a decorator can sit above or
    below them.
    """

    def apply(func: Any) -> Any:
        if isinstance(func, (classmethod, staticmethod)):
            return type(func)(apply(func.__func__))
        return functools.wraps(func)(decorate(func))

    return apply if wrapped is None else apply(wrapped)
