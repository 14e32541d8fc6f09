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
- keys name the term (``c:sign_in:by_ip:10.0.0.7``, ``c:sign_in:by_user:10.0.0.7``),
  so terms counting equal values never share a counter (wheezy keys both
  ``c:sign_in:10.0.0.7``: failed sign-ins as the user "10.0.0.7" lock out
  the address 10.0.0.7), and keys are always valid (a ``key_func`` value
  with spaces or of any length is hashed);
- a cache failure never raises out of a guarded call, and what a lockout
  does while its shared cache fails is chosen with ``on_failure``:

  ``"local"`` (default)
      count and lock in this process (an in-process
      :class:`~caching.memory.MemoryCache`), so a brute force against one
      process still locks after ``count`` failures. With ``N`` processes,
      each counts alone: up to ``N * count`` failures per ``period`` get
      through while the shared cache is down, and each process fires its
      own alert. Locks set locally are honoured until they expire, also
      after the shared cache is back.
  ``"open"``
      wheezy's behaviour: nothing is counted and ``forbid_locked`` lets every
      call through (an attacker who can take the cache down gets unlimited
      tries).
  ``"closed"``
      ``forbid_locked`` forbids every call while the shared cache fails.

How a lockout knows that its shared cache fails: the contract never raises,
and ``get_multi`` answers ``{}`` both for "no lock" and for a failure, so a
lockout learns it from the calls whose answer tells -- a counter that cannot
be created or incremented in :data:`COUNT_ATTEMPTS` tries, a reset's
``delete_multi`` answering ``False``. It then treats the shared cache as
failing for ``retry_period`` seconds (1 s by default) and tries it again on
the next call after that. In ``"closed"`` mode a lockout that saw a failure
(and a new one, which knows nothing yet) first checks that the shared cache
answers for the context's counters before trusting "no lock": so in each
process only the one failed attempt whose counting reveals an outage goes
through.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, Generic, TypeVar

from caching.contract import Cache
from caching.expiry import Time, lifetime
from caching.key_rules import Key
from caching.patterns.decorators import apply_decorator
from caching.patterns.fallback import DEFAULT_RETRY_PERIOD, Fallback, local_time
from caching.patterns.key_builders import safe_key
from caching.steps import Steps, run

__all__ = [
    "COUNT_ATTEMPTS",
    "ON_FAILURE",
    "Counter",
    "Locker",
    "Lockout",
    "NullLocker",
    "NullLockout",
]

logger = logging.getLogger(__name__)

#: Tries of add-then-incr before a counting step is given up (cache failure).
COUNT_ATTEMPTS = 3

#: The values of ``on_failure``: what a lockout does while its shared cache fails.
ON_FAILURE = ("local", "open", "closed")

#: Most counters and locks a lockout keeps in its in-process store (least
#: recently used dropped first).
LOCAL_MAX_ITEMS = 100_000

Action = Callable[[Any], Any]
Alert = Callable[[Any, str, "Counter"], Any]

#: The cache type of a locker: ``Cache``, or ``AsyncCache`` for the async one.
C = TypeVar("C")
#: The lockout class a locker defines.
L = TypeVar("L", bound="_LockoutBase[Any]")


def check_on_failure(on_failure: object) -> str:
    """Return ``on_failure`` when it is one of :data:`ON_FAILURE`.

    :raises TypeError: it is not a ``str``.
    :raises ValueError: it is another ``str``; the message names the allowed values.
    """
    if not isinstance(on_failure, str):
        raise TypeError(f"on_failure must be a str, not {type(on_failure).__name__}")
    if on_failure not in ON_FAILURE:
        allowed = ", ".join(repr(value) for value in ON_FAILURE)
        raise ValueError(f"on_failure must be one of {allowed}, not {on_failure!r}")
    return on_failure


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


class _LockerBase(Generic[C]):
    """What :class:`Locker` and :class:`caching.aio.lockout.AsyncLocker`
    share: their arguments and how :meth:`define` turns terms into counters."""

    def __init__(
        self,
        cache: C,
        forbid_action: Action,
        namespace: str | None = None,
        key_prefix: str = "c",
        *,
        on_failure: str = "local",
        retry_period: float | timedelta = DEFAULT_RETRY_PERIOD,
        clock: Callable[[], float] | None = None,
        **terms: Callable[..., Counter],
    ) -> None:
        self.cache = cache
        self.forbid_action = forbid_action
        self.namespace = namespace
        self.key_prefix = key_prefix
        self.on_failure = check_on_failure(on_failure)
        Fallback(retry_period)  # checks it now rather than at define
        self.retry_period = retry_period
        self.clock = clock
        self.terms = terms

    def _define(self, kind: type[L], name: str, terms: dict[str, dict[str, Any]]) -> L:
        """A lockout of class ``kind`` named ``name``, one counter a term,
        over this locker's cache and settings (see :meth:`Locker.define`).

        :raises KeyError: a term the locker does not know.
        """
        key_prefix = f"{self.key_prefix}:{name.replace(' ', '_')}:"
        return kind(
            name,
            [self.terms[term](**arguments) for term, arguments in terms.items()],
            self.forbid_action,
            self.cache,
            self.namespace,
            key_prefix,
            terms=list(terms),
            on_failure=self.on_failure,
            retry_period=self.retry_period,
            clock=self.clock,
        )


class Locker(_LockerBase[Cache]):
    """Defines lockouts over one cache from known terms.

    :param cache: any backend of the contract.
    :param forbid_action: ``forbid_action(ctx)``, called instead of a
        function guarded by ``forbid_locked`` while a lock is set.
    :param namespace: passed to every cache call.
    :param key_prefix: start of every counter key.
    :param on_failure: what the lockouts do while the cache fails:
        ``"local"`` (default), ``"open"`` or ``"closed"`` (see the module
        docstring). Keyword only.
    :param retry_period: seconds (``float`` or ``timedelta``) a cache that
        failed is treated as failing before it is tried again. Keyword only.
    :param clock: monotonic time in seconds, for the retry period and the
        in-process store (default :func:`time.monotonic`). Keyword only.
    :param terms: term name -> factory of a :class:`Counter`, called with the
        keyword arguments that :meth:`define` gives for that term.
    :raises ValueError: ``on_failure`` is not one of :data:`ON_FAILURE`, or
        ``retry_period`` is negative.
    :raises TypeError: ``on_failure`` is not a ``str``.

    For an async service over an :class:`~caching.aio.contract.AsyncCache`,
    :class:`caching.aio.lockout.AsyncLocker` takes the same arguments.
    """

    def define(self, name: str, **terms: dict[str, Any]) -> Lockout:
        """Define a lockout named ``name`` from known terms.

        :param name: the lockout's name, in its keys with spaces as ``_``
            (distinct lockouts over one cache need distinct names).
        :param terms: term name (a keyword of the constructor) -> the keyword
            arguments of its factory, e.g. ``by_ip={"count": 5, ...}``.
        :returns: a :class:`Lockout` keying counters ``<key_prefix>:<name>:<term>:<value>``.
        :raises KeyError: a term the locker does not know.
        """
        return self._define(Lockout, name, terms)


def _count_steps(key: str, time: Time, delta: int, namespace: str | None) -> Steps[int | None]:
    """Count ``delta`` events: the counter's new value, ``None`` if the store
    failed. A counter is created with ``add`` (its period starts then);
    ``delta=0`` only checks that the store answers."""
    for _ in range(COUNT_ATTEMPTS):
        if (yield ("add", (key, delta, time, namespace))):
            return delta
        value = yield ("incr", (key, delta, namespace))
        if value is not None:
            return int(value)
        # The counter expired or was reset between add and incr: again.
    return None


def _engage_steps(key: str, lock_key: str, duration: Time, namespace: str | None) -> Steps[bool]:
    """Take the lock (``add``); the winner deletes the counter. Whether it won."""
    if (yield ("add", (lock_key, 1, duration, namespace))):
        yield ("delete", (key, 0, namespace))
        return True
    return False


class _LockoutBase(Generic[C]):
    """The decisions of :class:`Lockout` and
    :class:`caching.aio.lockout.AsyncLockout`, written once as steps
    (:mod:`caching.steps`) that each runs on its own cache: keys,
    counting, locking, failure modes. The in-process store of ``"local"``
    mode is a :class:`~caching.memory.MemoryCache`, called inline by both."""

    def __init__(
        self,
        name: str,
        counters: list[Counter],
        forbid_action: Action,
        cache: C,
        namespace: str | None,
        key_prefix: str,
        *,
        terms: Sequence[str] | None = None,
        on_failure: str = "local",
        retry_period: float | timedelta = DEFAULT_RETRY_PERIOD,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.name = name
        self.counters = counters
        self.forbid_action = forbid_action
        self.cache = cache
        self.namespace = namespace
        self.key_prefix = key_prefix
        self.on_failure = check_on_failure(on_failure)
        names = [str(index) for index in range(len(counters))] if terms is None else list(terms)
        if len(names) != len(counters):
            raise ValueError(f"{len(names)} term names for {len(counters)} counters")
        #: (counter, head of its keys, head of its lock keys)
        self._heads = [
            (counter, f"{key_prefix}{term}:", f"lock:{key_prefix}{term}:")
            for counter, term in zip(counters, names, strict=True)
        ]
        self._fallback = Fallback(retry_period, clock, LOCAL_MAX_ITEMS)
        # a new closed lockout knows nothing of the cache yet: it checks first
        self._fallback.suspect = self.on_failure == "closed"

    @staticmethod
    def _key(head: str, ctx_value: Any) -> str:
        return safe_key(f"{head}{ctx_value}", head.rstrip(":"))

    def _keys(self, ctx: Any) -> list[tuple[Counter, str, str]]:
        """(counter, counter key, lock key) of each counter for ``ctx``."""
        keys = []
        for counter, head, lock_head in self._heads:
            value = counter.key_func(ctx)
            keys.append((counter, self._key(head, value), self._key(lock_head, value)))
        return keys

    def _lock_keys(self, ctx: Any) -> list[Key]:
        """The lock key of each counter for ``ctx``."""
        return [
            self._key(lock_head, counter.key_func(ctx)) for counter, _, lock_head in self._heads
        ]

    def _reads_plainly(self, failing: bool) -> bool:
        """Whether :meth:`Lockout.locked` is one ``get_multi`` of the lock
        keys (then :meth:`_locally_locked`): ``"open"`` mode, or the cache
        not ``failing`` (and, in ``"closed"`` mode, not suspect). ``failing``
        is read once per call (the retry period may end between two reads)."""
        mode = self.on_failure
        if mode == "open":
            return True
        return not failing and not (mode == "closed" and self._fallback.suspect)

    def _locally_locked(self, lock_keys: list[Key]) -> bool:
        """In ``"local"`` mode, whether the in-process store holds a live lock."""
        fallback = self._fallback
        return (
            self.on_failure == "local"
            and fallback.local_live()
            and bool(fallback.local().get_multi(lock_keys))
        )

    def _locked_steps(
        self, ctx: Any, lock_keys: list[Key] | None = None, failing: bool | None = None
    ) -> Steps[bool]:
        """Whether a lock of ``ctx`` is set (see :meth:`Lockout.locked`);
        ``lock_keys`` and ``failing`` when the caller has them already."""
        if lock_keys is None:
            lock_keys = self._lock_keys(ctx)
        if not lock_keys:
            return False
        mode, fallback = self.on_failure, self._fallback
        if failing is None:
            failing = fallback.failing()
        namespace = self.namespace
        if self._reads_plainly(failing):
            if (yield ("get_multi", (lock_keys, namespace))):
                return True
            return self._locally_locked(lock_keys)
        if failing:
            if mode == "closed":
                return True
            if fallback.local_live() and fallback.local().get_multi(lock_keys):
                return True
            return bool((yield ("get_multi", (lock_keys, namespace))))
        # "closed" mode, suspect: first check that the cache answers.
        answers = True
        for counter, key, _ in self._keys(ctx):
            if (yield from _count_steps(key, counter.period, 0, namespace)) is None:
                answers = False
                break
        self._noted(answers)
        if not answers:
            return True
        return bool((yield ("get_multi", (lock_keys, namespace))))

    def _noted(self, answered: bool) -> None:
        """Note whether the shared cache answered a call that tells; log changes."""
        if answered:
            if self._fallback.succeed():
                logger.info("lockout %r: the shared cache answers again", self.name)
        elif self._fallback.fail():
            logger.warning(
                "lockout %r: the shared cache fails; on_failure=%r (%s) until it answers",
                self.name,
                self.on_failure,
                {
                    "local": "counting and locking in this process",
                    "closed": "forbidding every guarded call",
                }[self.on_failure],
            )

    def _delete_keys(self, ctx: Any, reset_only: bool) -> list[Key]:
        """The counter and lock keys of ``ctx`` to remove (of the counters
        that support reset, with ``reset_only``)."""
        keys: list[Key] = []
        for counter, key, lock_key in self._keys(ctx):
            if counter.reset or not reset_only:
                keys += [key, lock_key]
        return keys

    def _deleted(self, keys: list[Key], deleted: Any) -> None:
        """Take the answer of the ``delete_multi`` of ``keys``; in ``"local"``
        mode delete them from the in-process store too."""
        if self.on_failure != "open":
            self._noted(bool(deleted))
        if self.on_failure == "local" and self._fallback.local_live():
            self._fallback.local().delete_multi(keys)

    def _delete_steps(self, ctx: Any, reset_only: bool) -> Steps[None]:
        """Remove the counters of ``ctx`` (those that support reset, with
        ``reset_only``) and their locks."""
        keys = self._delete_keys(ctx, reset_only)
        if keys:
            self._deleted(keys, (yield ("delete_multi", (keys, 0, self.namespace))))

    def _incr_steps(self, ctx: Any) -> Steps[list[Counter]]:
        """Count one event of ``ctx`` (see :meth:`Lockout.incr`); the counters
        whose lock this call engaged, whose alerts are due."""
        mode, fallback, namespace = self.on_failure, self._fallback, self.namespace
        engaged_counters = []
        for counter, key, lock_key in self._keys(ctx):
            value = None
            if mode == "open" or not fallback.failing():
                value = yield from _count_steps(key, counter.period, 1, namespace)
                if mode != "open":
                    self._noted(value is not None)
            engaged = (
                value is not None
                and value >= counter.count
                and (yield from _engage_steps(key, lock_key, counter.duration, namespace))
            )
            if mode == "local" and (value is None or fallback.local_live()):
                engaged = self._incr_locally(counter, key, lock_key, value is None) or engaged
            if engaged:
                engaged_counters.append(counter)
        return engaged_counters

    def _incr_locally(self, counter: Counter, key: str, lock_key: str, create: bool) -> bool:
        """Count on this process's store: from scratch while the cache fails
        (``create``), else only on a counter made during the outage. Whether
        a lock engaged here."""
        fallback = self._fallback
        local = fallback.local()
        if create:
            period = local_time(counter.period)
            value = run(_count_steps(key, period, 1, None), local)
            fallback.used_local(period)
        else:
            value = local.incr(key)
        if value is None or value < counter.count:
            return False
        duration = local_time(counter.duration)
        if run(_engage_steps(key, lock_key, duration, None), local):
            fallback.used_local(duration)
            return True
        return False


def _refuse_coroutine_function(func: Callable[..., Any], decorator: str) -> None:
    """Raise ``TypeError`` when a sync decorator is given an ``async def``."""
    if inspect.iscoroutinefunction(func):
        raise TypeError(
            f"Lockout.{decorator} cannot guard the coroutine function "
            f"{getattr(func, '__qualname__', func)!r}: its result would be an "
            "un-awaited coroutine; use caching.aio.lockout.AsyncLocker"
        )


def _refuse_coroutine(result: Any, func: Callable[..., Any], decorator: str) -> None:
    """Raise ``TypeError`` for a coroutine ``func`` answered (closed first,
    so it never runs nor warns): it is not a success, and counts nothing.
    Other awaitables (an ``asyncio.Future``, a result object that also
    supports ``await``) are judged by their truth, as any result."""
    if inspect.iscoroutine(result):
        result.close()
        raise TypeError(
            f"Lockout.{decorator}: {getattr(func, '__qualname__', func)!r} returned "
            f"a coroutine, not a success; use caching.aio.lockout.AsyncLocker"
        )


class Lockout(_LockoutBase[Cache]):
    """Enforces the terms of one lockout; see the module docstring.

    Made by :meth:`Locker.define`. Counter keys are ``key_prefix + term +
    ":" + str(key_func(ctx))`` (e.g. ``c:sign_in:by_ip:10.0.0.7``), lock keys
    ``"lock:" + counter key``; a key that breaks the key rules is hashed
    (:func:`~caching.patterns.key_builders.safe_key`), still distinct per
    term.

    Its decorators wrap plain functions: given an ``async def`` they raise
    ``TypeError`` (an un-awaited coroutine is truthy, so it would count as a
    success), and so does a call whose function answers a coroutine object;
    any other result, awaitable or not, counts by its truth;
    :class:`caching.aio.lockout.AsyncLockout` guards coroutine functions with
    the same decisions.

    :param terms: the term name of each counter, in order; without it (a
        lockout built by hand) counters are named by their index (``"0"``,
        ``"1"``...). Keyword only.
    :param on_failure: ``"local"`` (default), ``"open"`` or ``"closed"``.
    :param retry_period: as for :class:`Locker`.
    :param clock: as for :class:`Locker`.
    :raises ValueError: ``on_failure`` is not one of :data:`ON_FAILURE`, or
        ``terms`` does not name every counter.
    """

    def guard(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Decorate ``func(ctx, ...) -> bool``: a failure counts, a success
        resets the counters that support ``reset``.

        :raises TypeError: ``func`` is a coroutine function; a call raises it
            (counting nothing) when ``func`` answers a coroutine. Other
            awaitables (``asyncio.Future``...) are judged by their truth.
        """
        _refuse_coroutine_function(func, "guard")

        @functools.wraps(func)
        def guard_wrapper(ctx: Any, *args: Any, **kwargs: Any) -> Any:
            succeed = func(ctx, *args, **kwargs)
            if succeed:
                if succeed is not True:
                    _refuse_coroutine(succeed, func, "guard")
                self.reset(ctx)
            else:
                self.incr(ctx)
            return succeed

        return guard_wrapper

    def quota(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Decorate ``func(ctx, ...) -> bool``: each success counts.

        :raises TypeError: as :meth:`guard`.
        """
        _refuse_coroutine_function(func, "quota")

        @functools.wraps(func)
        def quota_wrapper(ctx: Any, *args: Any, **kwargs: Any) -> Any:
            succeed = func(ctx, *args, **kwargs)
            if succeed:
                if succeed is not True:
                    _refuse_coroutine(succeed, func, "quota")
                self.incr(ctx)
            return succeed

        return quota_wrapper

    def forbid_locked(self, wrapped: Any = None, action: Action | None = None) -> Any:
        """Decorate ``func(ctx, ...)``: while any counter's lock is set, call
        ``action(ctx)`` (default: the locker's ``forbid_action``) instead.

        One round trip per call (``get_multi`` of the lock keys) while the
        cache works; while it fails, see :meth:`locked`.

        :raises TypeError: ``func`` is a coroutine function.
        """
        forbid = action or self.forbid_action

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            _refuse_coroutine_function(func, "forbid_locked")

            def forbid_locked_wrapper(ctx: Any, *args: Any, **kwargs: Any) -> Any:
                if self.locked(ctx):
                    return forbid(ctx)
                return func(ctx, *args, **kwargs)

            return forbid_locked_wrapper

        return apply_decorator(wrapped, decorate)

    def locked(self, ctx: Any) -> bool:
        """Whether a lock of ``ctx`` is set.

        One ``get_multi`` while the cache works (in ``"local"`` mode the
        in-process store is read too while it may hold a live lock). While
        the cache fails: ``"local"`` reads the in-process store, then the
        cache; ``"open"`` reads the cache (which answers "no lock");
        ``"closed"`` answers ``True`` without a call. After a failure,
        ``"closed"`` first checks that the cache answers (an ``add`` or an
        ``incr`` by 0 of each counter) and answers ``True`` when it does not.
        """
        lock_keys = self._lock_keys(ctx)
        failing = self._fallback.failing()
        if lock_keys and self._reads_plainly(failing):  # the common case, with no steps built
            if self.cache.get_multi(lock_keys, self.namespace):
                return True
            return self._locally_locked(lock_keys)
        return run(self._locked_steps(ctx, lock_keys, failing), self.cache)

    def reset(self, ctx: Any) -> None:
        """Remove the counters of ``ctx`` that support reset, and their locks
        (in the cache and, in ``"local"`` mode, in this process)."""
        self._delete(ctx, True)

    def force_reset(self, ctx: Any) -> None:
        """Remove every counter of ``ctx`` and its lock."""
        self._delete(ctx, False)

    def _delete(self, ctx: Any, reset_only: bool) -> None:
        """:meth:`_delete_steps`, its one call made directly."""
        keys = self._delete_keys(ctx, reset_only)
        if keys:
            self._deleted(keys, self.cache.delete_multi(keys, 0, self.namespace))

    def incr(self, ctx: Any) -> None:
        """Count one event of ``ctx`` on every counter; lock those that reach
        their ``count`` (the one caller whose lock ``add`` wins deletes the
        counter and fires the alert, after this event is counted on every
        counter).

        While the cache fails, ``"local"`` counts in this process (and, once
        the cache is back, keeps counting there too on the counters it made,
        until they expire), ``"open"`` and ``"closed"`` count nothing.

        :raises: the first exception an alert raised, once every alert due
            was called (each lock this call engaged has its alert called).
        """
        first: Exception | None = None
        for counter in run(self._incr_steps(ctx), self.cache):
            if counter.alert is not None:
                try:
                    counter.alert(ctx, self.name, counter)
                except Exception as error:  # the other locks' alerts are due too
                    if first is None:
                        first = error
        if first is not None:
            raise first


class NullLocker:
    """A locker whose lockouts never count nor lock (same signature as :class:`Locker`)."""

    def __init__(
        self,
        cache: Cache | None = None,
        forbid_action: Action | None = None,
        namespace: str | None = None,
        key_prefix: str = "c",
        *,
        on_failure: str = "local",
        retry_period: float | timedelta = DEFAULT_RETRY_PERIOD,
        clock: Callable[[], float] | None = None,
        **terms: Callable[..., Counter],
    ) -> None:
        check_on_failure(on_failure)

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
