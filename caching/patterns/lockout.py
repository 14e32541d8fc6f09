"""Lockouts: count failures (or uses) per context and lock out when a term is passed.

The names and signatures are wheezy.caching's (``wheezy.caching.lockout``, kept
at ``caching.lockout``)::

    locker = Locker(cache, forbid_action=lambda ctx: "locked",
                    by_ip=lambda count, period, duration: Counter(
                        key_func=lambda ctx: ctx.ip, count=count,
                        period=period, duration=duration))
    lockout = locker.define("sign in", by_ip={"count": 5, "period": 60, "duration": 600})

Unlike wheezy.caching, it is correct under concurrency across threads and
processes sharing a memcached:

- a counter that expires or is reset between ``add`` and ``incr`` is created
  again (wheezy's ``incr`` then returns ``None`` and the guarded call fails
  with ``TypeError``);
- the lock is taken with ``add``, so it engages once and the alert fires once
  per lock however many callers cross the threshold together;
- keys are always valid (a ``key_func`` value with spaces or of any length is
  hashed), and a cache failure never raises out of a guarded call: counting
  is skipped and ``forbid_locked`` lets the call through.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from caching.contract import Cache
from caching.expiry import lifetime
from caching.key_rules import Key
from caching.patterns.decorators import apply_decorator
from caching.patterns.key_builders import safe_key

__all__ = ["Counter", "Locker", "Lockout", "NullLocker", "NullLockout"]

#: Tries of add-then-incr before a counting step is given up (cache failure).
COUNT_ATTEMPTS = 3

Action = Callable[[Any], Any]
Alert = Callable[[Any, str, "Counter"], Any]


class Counter:
    """One term of a lockout: ``count`` events within ``period`` lock for ``duration``.

    :param key_func: ``key_func(ctx)`` -> what is counted, e.g. the client IP
        or the user name (any ``str``; hashed when not a valid key).
    :param count: events that engage the lock.
    :param period: window, counted from the first event, ``int`` seconds or
        ``timedelta``.
    :param duration: how long the lock lasts, ``int`` seconds or ``timedelta``.
    :param reset: whether a success (``Lockout.guard``) or ``Lockout.reset``
        clears this counter and its lock.
    :param alert: ``alert(ctx, lockout_name, counter)``, called once each
        time the lock engages.
    """

    def __init__(
        self,
        key_func: Callable[[Any], Any],
        count: int,
        period: int | timedelta,
        duration: int | timedelta,
        reset: bool = True,
        alert: Alert | None = None,
    ) -> None:
        self.key_func = key_func
        self.count = count
        self.period = lifetime(period)
        self.duration = lifetime(duration)
        self.reset = reset
        self.alert = alert


class Locker:
    """Defines lockouts over one cache from known terms.

    :param cache: any backend of the contract.
    :param forbid_action: ``forbid_action(ctx)``, called instead of a
        function guarded by ``forbid_locked`` while a lock is set.
    :param namespace: passed to every cache call.
    :param key_prefix: start of every counter key.
    :param terms: term name -> factory of a :class:`Counter`, called with the
        keyword arguments that :meth:`define` gives for that term.
    """

    def __init__(
        self,
        cache: Cache,
        forbid_action: Action,
        namespace: str | None = None,
        key_prefix: str = "c",
        **terms: Callable[..., Counter],
    ) -> None:
        self.cache = cache
        self.forbid_action = forbid_action
        self.namespace = namespace
        self.key_prefix = key_prefix
        self.terms = terms

    def define(self, name: str, **terms: dict[str, Any]) -> Lockout:
        """Define a lockout named ``name`` from known terms.

        :param terms: term name (a keyword of the constructor) -> the keyword
            arguments of its factory, e.g. ``by_ip={"count": 5, ...}``.
        :raises KeyError: a term the locker does not know.
        """
        key_prefix = f"{self.key_prefix}:{name.replace(' ', '_')}:"
        counters = [self.terms[term](**arguments) for term, arguments in terms.items()]
        return Lockout(name, counters, self.forbid_action, self.cache, self.namespace, key_prefix)


class Lockout:
    """Enforces the terms of one lockout; see the module docstring.

    Made by :meth:`Locker.define`. Counter keys are ``key_prefix +
    key_func(ctx)``; lock keys are ``"lock:" + counter key``.
    """

    def __init__(
        self,
        name: str,
        counters: list[Counter],
        forbid_action: Action,
        cache: Cache,
        namespace: str | None,
        key_prefix: str,
    ) -> None:
        self.name = name
        self.counters = counters
        self.forbid_action = forbid_action
        self.cache = cache
        self.namespace = namespace
        self.key_prefix = key_prefix

    def _key(self, counter: Counter, ctx: Any, lock: bool = False) -> str:
        head = "lock:" + self.key_prefix if lock else self.key_prefix
        return safe_key(f"{head}{counter.key_func(ctx)}", head.rstrip(":"))

    def guard(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Decorate ``func(ctx, ...) -> bool``: a failure counts, a success
        resets the counters that support ``reset``."""

        @functools.wraps(func)
        def guard_wrapper(ctx: Any, *args: Any, **kwargs: Any) -> Any:
            succeed = func(ctx, *args, **kwargs)
            if succeed:
                self.reset(ctx)
            else:
                self.incr(ctx)
            return succeed

        return guard_wrapper

    def quota(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Decorate ``func(ctx, ...) -> bool``: each success counts."""

        @functools.wraps(func)
        def quota_wrapper(ctx: Any, *args: Any, **kwargs: Any) -> Any:
            succeed = func(ctx, *args, **kwargs)
            if succeed:
                self.incr(ctx)
            return succeed

        return quota_wrapper

    def forbid_locked(self, wrapped: Any = None, action: Action | None = None) -> Any:
        """Decorate ``func(ctx, ...)``: while any counter's lock is set, call
        ``action(ctx)`` (default: the locker's ``forbid_action``) instead.

        One round trip per call (``get_multi`` of the lock keys); when the
        cache fails, the call goes through.
        """
        forbid = action or self.forbid_action

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            def forbid_locked_wrapper(ctx: Any, *args: Any, **kwargs: Any) -> Any:
                if self.locked(ctx):
                    return forbid(ctx)
                return func(ctx, *args, **kwargs)

            return forbid_locked_wrapper

        return apply_decorator(wrapped, decorate)

    def locked(self, ctx: Any) -> bool:
        """Whether a lock of ``ctx`` is set (one ``get_multi``)."""
        keys = [self._key(counter, ctx, lock=True) for counter in self.counters]
        return bool(self.cache.get_multi(keys, self.namespace))

    def _delete(self, ctx: Any, counters: list[Counter]) -> None:
        keys: list[Key] = [self._key(counter, ctx) for counter in counters]
        keys += [self._key(counter, ctx, lock=True) for counter in counters]
        if keys:
            self.cache.delete_multi(keys, 0, self.namespace)

    def reset(self, ctx: Any) -> None:
        """Remove the counters of ``ctx`` that support reset, and their locks."""
        self._delete(ctx, [counter for counter in self.counters if counter.reset])

    def force_reset(self, ctx: Any) -> None:
        """Remove every counter of ``ctx`` and its lock."""
        self._delete(ctx, self.counters)

    def _count(self, key: str, counter: Counter) -> int | None:
        """Count one event: the counter's new value, ``None`` if the cache failed."""
        for _ in range(COUNT_ATTEMPTS):
            if self.cache.add(key, 1, counter.period, self.namespace):
                return 1
            value = self.cache.incr(key, 1, self.namespace)
            if value is not None:
                return value
            # The counter expired or was reset between add and incr: again.
        return None

    def incr(self, ctx: Any) -> None:
        """Count one event of ``ctx`` on every counter; lock those that reach
        their ``count`` (the one caller whose lock ``add`` wins deletes the
        counter and fires the alert)."""
        for counter in self.counters:
            key = self._key(counter, ctx)
            value = self._count(key, counter)
            if value is None or value < counter.count:
                continue
            lock_key = self._key(counter, ctx, lock=True)
            if self.cache.add(lock_key, 1, counter.duration, self.namespace):
                self.cache.delete(key, 0, self.namespace)
                if counter.alert is not None:
                    counter.alert(ctx, self.name, counter)


class NullLocker:
    """A locker whose lockouts never count nor lock (same signature as :class:`Locker`)."""

    def __init__(
        self,
        cache: Cache | None = None,
        forbid_action: Action | None = None,
        namespace: str | None = None,
        key_prefix: str = "c",
        **terms: Callable[..., Counter],
    ) -> None:
        pass

    def define(self, name: str, **terms: dict[str, Any]) -> NullLockout:
        """Return a :class:`NullLockout`."""
        return NullLockout()


class NullLockout:
    """A lockout that does nothing: its decorators return the function as is."""

    def guard(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Return ``func``."""
        return func

    def quota(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Return ``func``."""
        return func

    def forbid_locked(self, wrapped: Any = None, action: Action | None = None) -> Any:
        """Return ``wrapped`` (or, without it, a decorator returning its argument)."""
        if wrapped is None:
            return lambda func: func
        return wrapped

    def locked(self, ctx: Any) -> bool:
        """Never locked."""
        return False

    def reset(self, ctx: Any) -> None:
        """Nothing to reset."""

    def force_reset(self, ctx: Any) -> None:
        """Nothing to reset."""

    def incr(self, ctx: Any) -> None:
        """Nothing is counted."""
