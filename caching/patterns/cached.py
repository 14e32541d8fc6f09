"""``Cached``: one set of cache settings, the pass-through calls and the patterns.

Names, signatures and behaviour follow wheezy.caching's ``Cached``; every call
into the cache passes ``(key, value, time, namespace)`` positionally, in
wheezy's order, so backends written for wheezy.caching keep working.
"""

from __future__ import annotations

import functools
import inspect
import time as _time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from caching.contract import Cache
from caching.expiry import Time, lifetime, seconds
from caching.key_rules import Key
from caching.memo import Memo
from caching.patterns.decorators import apply_decorator
from caching.patterns.dependency import CacheDependency
from caching.patterns.key_builders import (
    CONTEXT_NAMES,
    KeySpec,
    MakeKey,
    is_valid,
    key_builder,
    safe_key,
)
from caching.patterns.onepass import OnePass, pass_key

__all__ = ["Cached"]

#: How many times a waiter of ``get_or_create`` tries to read the value or take
#: the pass (a creator that fails releases the pass without a value) before it
#: computes the value itself.
ONE_PASS_ATTEMPTS = 3

Factory = Callable[[], Any]
Store = Callable[[Key, Any, Time, "str | None"], bool]
KeyBuilder = Callable[[Callable[..., Any]], MakeKey]


def _has_context(func: Callable[..., Any]) -> bool:
    """Whether the first parameter of ``func`` is ``self``/``cls``/``klass``."""
    names = list(inspect.signature(func).parameters)
    return bool(names) and names[0] in CONTEXT_NAMES


class Cached:
    """Cache settings shared by many calls, and the caching patterns.

    :param cache: any backend of the contract (or of wheezy.caching).
    :param key_builder: makes a decorated function's make-key function, e.g.
        ``key_builder("repo")``; defaults to ``key_builder(func.__module__)``.
    :param time: expiry of stored items, ``int`` seconds or ``timedelta``
        (``0``: none).
    :param namespace: passed to every cache call.
    :param timeout: life of a one-pass guard in ``get_or_create``, ``int``
        seconds or ``timedelta``: how long waiters wait for a creator, and how
        long a dead creator blocks others.
    :param key_prefix: prepended to a key to name its one-pass guard
        (:func:`~caching.patterns.onepass.pass_key`: distinct items get
        distinct guards).
    """

    def __init__(
        self,
        cache: Cache,
        key_builder: KeyBuilder | None = None,
        time: Time = 0,
        namespace: str | None = None,
        timeout: Time = 10,
        key_prefix: str = "one_pass:",
    ) -> None:
        self.cache = cache
        self.key_builder = key_builder
        self.time = lifetime(time)
        self.namespace = namespace
        self.timeout = lifetime(timeout)
        self.key_prefix = key_prefix
        self.dependency = CacheDependency(cache, time, namespace)

    # -- pass-through --------------------------------------------------------

    def set(self, key: Key, value: Any, dependency_key: str | None = None) -> bool:
        """``set`` with this instance's time and namespace; wire ``key`` to
        ``dependency_key`` when given."""
        succeed = self.cache.set(key, value, self.time, self.namespace)
        if dependency_key:
            self.dependency.add(dependency_key, key)  # type: ignore[arg-type]
        return succeed

    def add(self, key: Key, value: Any, dependency_key: str | None = None) -> bool:
        """``add`` with this instance's time and namespace; when stored, wire
        ``key`` to ``dependency_key`` when given."""
        succeed = self.cache.add(key, value, self.time, self.namespace)
        if succeed and dependency_key:
            self.dependency.add(dependency_key, key)  # type: ignore[arg-type]
        return succeed

    def replace(self, key: Key, value: Any) -> bool:
        """``replace`` with this instance's time and namespace."""
        return self.cache.replace(key, value, self.time, self.namespace)

    def set_multi(self, mapping: Mapping[Key, Any]) -> list[Key]:
        """``set_multi`` with this instance's time and namespace."""
        return self.cache.set_multi(mapping, self.time, self.namespace)

    def add_multi(self, mapping: Mapping[Key, Any]) -> list[Key]:
        """``add_multi`` with this instance's time and namespace."""
        return self.cache.add_multi(mapping, self.time, self.namespace)

    def replace_multi(self, mapping: Mapping[Key, Any]) -> list[Key]:
        """``replace_multi`` with this instance's time and namespace."""
        return self.cache.replace_multi(mapping, self.time, self.namespace)

    def get(self, key: Key) -> Any:
        """``get`` in this instance's namespace."""
        return self.cache.get(key, self.namespace)

    def get_multi(self, keys: Iterable[Key]) -> dict[Key, Any]:
        """``get_multi`` in this instance's namespace."""
        return self.cache.get_multi(keys, self.namespace)

    def delete(self, key: Key, seconds: int = 0) -> bool:
        """``delete`` in this instance's namespace."""
        return self.cache.delete(key, seconds, self.namespace)

    def delete_multi(self, keys: Iterable[Key], seconds: int = 0) -> bool:
        """``delete_multi`` in this instance's namespace."""
        return self.cache.delete_multi(keys, seconds, self.namespace)

    def incr(self, key: Key, delta: int = 1, initial_value: int | None = None) -> int | None:
        """``incr`` in this instance's namespace."""
        return self.cache.incr(key, delta, self.namespace, initial_value)

    def decr(self, key: Key, delta: int = 1, initial_value: int | None = None) -> int | None:
        """``decr`` in this instance's namespace."""
        return self.cache.decr(key, delta, self.namespace, initial_value)

    # -- patterns ------------------------------------------------------------

    def _create(
        self,
        key: Key,
        create_factory: Factory,
        dependency_key_factory: Callable[[], str] | None,
        store: Store,
    ) -> Any:
        """Call ``create_factory``; store a result that is not ``None``; wire it."""
        result = create_factory()
        if result is not None:
            stored = store(key, result, self.time, self.namespace)
            if stored and dependency_key_factory is not None:
                self.dependency.add(dependency_key_factory(), key)  # type: ignore[arg-type]
        return result

    def _get_or(
        self,
        key: Key,
        fill: Callable[[Key, Factory, Callable[[], str] | None], Any],
        create_factory: Factory,
        dependency_key_factory: Callable[[], str] | None,
    ) -> Any:
        """Get ``key``; on a miss return ``fill(key, create_factory, ...)``."""
        result = self.cache.get(key, self.namespace)
        if result is None:
            result = fill(key, create_factory, dependency_key_factory)
        return result

    def _add_missed(
        self,
        key: Key,
        create_factory: Factory,
        dependency_key_factory: Callable[[], str] | None = None,
    ) -> Any:
        return self._create(key, create_factory, dependency_key_factory, self.cache.add)

    def _set_missed(
        self,
        key: Key,
        create_factory: Factory,
        dependency_key_factory: Callable[[], str] | None = None,
    ) -> Any:
        return self._create(key, create_factory, dependency_key_factory, self.cache.set)

    def get_or_add(
        self,
        key: Key,
        create_factory: Factory,
        dependency_key_factory: Callable[[], str] | None = None,
    ) -> Any:
        """Get ``key``; on a miss call ``create_factory()`` and ``add`` its
        result (when not ``None``), wiring it to ``dependency_key_factory()``
        when the ``add`` succeeds.

        :returns: the cached or created value (``None`` if the factory says so).
        """
        return self._get_or(key, self._add_missed, create_factory, dependency_key_factory)

    def get_or_set(
        self,
        key: Key,
        create_factory: Factory,
        dependency_key_factory: Callable[[], str] | None = None,
    ) -> Any:
        """As :meth:`get_or_add`, storing with ``set`` (overwrites)."""
        return self._get_or(key, self._set_missed, create_factory, dependency_key_factory)

    def get_or_create(
        self,
        key: Key,
        create_factory: Factory,
        dependency_key_factory: Callable[[], str] | None = None,
    ) -> Any:
        """Get ``key``; on a miss see :meth:`one_pass_create`."""
        return self._get_or(key, self.one_pass_create, create_factory, dependency_key_factory)

    def _pass_key(self, key: Key) -> str:
        """The key of the one-pass guard of ``key``; see :func:`pass_key`."""
        return pass_key(self.key_prefix, key)

    def one_pass_create(
        self,
        key: Key,
        create_factory: Factory,
        dependency_key_factory: Callable[[], str] | None = None,
    ) -> Any:
        """Create the value of ``key`` once however many callers miss it at once.

        The caller that takes the :class:`OnePass` guard (``key_prefix + key``,
        alive ``timeout`` seconds) reads ``key`` again (a caller that missed
        just before the previous holder stored the value may take the guard
        after it), then calls ``create_factory()``, stores a result
        that is not ``None`` with ``set`` (wired to
        ``dependency_key_factory()`` when given) and releases the guard;
        the others wait for it (in the creator's process without polling)
        and read the value. A waiter in another process reads the value and
        the guard in one ``get_multi`` every 5 ms and returns the value as
        soon as it is stored, even if the guard is never released (a holder
        killed after storing, or whose ``delete`` failed).

        Unlike wheezy.caching, a waiter never returns ``None`` for a value
        that could be made: if the creator fails (the guard is released at
        once, so waiters do not sit out the timeout) or returns ``None``,
        a waiter tries again to take the guard or read the value, up to
        :data:`ONE_PASS_ATTEMPTS` times; a waiter whose wait times out, or
        that runs out of attempts, calls ``create_factory()`` itself and
        stores the result. So if the holder dies (SIGKILL) before storing,
        every waiter has the value, stored by another or made itself, within
        ``timeout`` seconds (docs/PATTERNS.md, "When the holder dies").

        :returns: the value (``None`` only if ``create_factory`` says so).
        :raises: whatever ``create_factory`` raises, to the caller that ran it.
        """
        guard = self._pass_key(key)
        deadline = _time.monotonic() + seconds(self.timeout)
        for _ in range(ONE_PASS_ATTEMPTS):
            with OnePass(self.cache, guard, self.timeout, self.namespace, guards=key) as one_pass:
                if one_pass.acquired:
                    # A caller that missed just before the previous holder
                    # stored the value takes the pass after it: check again.
                    result = self.cache.get(key, self.namespace)
                    if result is not None:
                        return result
                    return self._set_missed(key, create_factory, dependency_key_factory)
                remaining = deadline - _time.monotonic()
                if remaining <= 0 or not one_pass.wait(remaining):
                    break
                result = one_pass.value
            if result is None:
                result = self.cache.get(key, self.namespace)
            if result is not None:
                return result
        return self._set_missed(key, create_factory, dependency_key_factory)

    def get_or_set_multi(
        self,
        make_key: Callable[[Any], Key],
        create_factory: Callable[[list[Any]], Mapping[Any, Any] | None],
        args: Iterable[Any],
    ) -> dict[Any, Any]:
        """Get the items of ``args`` in one ``get_multi``; create the missing ones.

        :param make_key: ``make_key(arg) -> key``.
        :param create_factory: called with the list of args whose items were
            missed; returns a mapping ``arg -> value`` (may be partial).
        :param args: the item ids.
        :returns: ``arg -> value`` for the items cached or created; created
            items (values not ``None``) are stored with one ``set_multi``.
        """
        key_map = {make_key(arg): arg for arg in args}
        cached = self.cache.get_multi(list(key_map), self.namespace)
        found = {key_map[key]: value for key, value in cached.items()}
        if len(cached) == len(key_map):
            return found
        created = create_factory([arg for key, arg in key_map.items() if key not in cached])
        if not created:
            return found
        mapping = {
            key: created[arg]
            for key, arg in key_map.items()
            if key not in cached and created.get(arg) is not None
        }
        if mapping:
            self.cache.set_multi(mapping, self.time, self.namespace)
        return {**created, **found}

    # -- decorators ----------------------------------------------------------

    def adapt(self, func: Callable[..., Any], make_key: MakeKey | None = None) -> MakeKey:
        """Return the make-key function of ``func``.

        :param make_key: takes ``func``'s arguments, ``self``/``cls`` left
            out; default: built by ``key_builder``.
        """
        if make_key is None:
            builder = self.key_builder or key_builder(func.__module__)
            return builder(func)
        if _has_context(func):
            given = make_key
            return lambda _context, *args, **kwargs: given(*args, **kwargs)
        return make_key

    def _wraps(self, wrapped: Any, make_key: MakeKey | None, fill: Callable[..., Any]) -> Any:
        """Decorator: look the call's key up; on a miss ``fill(key, factory)``."""
        get = self.cache.get
        namespace = self.namespace

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            mk = self.adapt(func, make_key)
            spec: KeySpec | None = getattr(mk, "key_spec", None)
            if spec is not None:
                return self._inline_key_wrapper(func, spec, mk.bind, fill)  # type: ignore[attr-defined]

            def wrapper(*args: Any, **kwargs: Any) -> Any:
                key = mk(*args, **kwargs)
                result = get(key, namespace)
                if result is None:
                    result = fill(key, functools.partial(func, *args, **kwargs))
                return result

            return wrapper

        return apply_decorator(wrapped, decorate)

    def _inline_key_wrapper(
        self,
        func: Callable[..., Any],
        spec: KeySpec,
        bind: Callable[[tuple[Any, ...], dict[str, Any]], str],
        fill: Callable[..., Any],
    ) -> Callable[..., Any]:
        """The wrapper of a function keyed by :func:`key_builder`, its hit path
        made short: the key is formatted here (no call to ``make_key``) and
        checked here, whatever the backend checks: a key that breaks the key
        rules is hashed (:func:`safe_key`), exactly as ``make_key`` does."""
        get = self.cache.get
        namespace = self.namespace
        format_of, skip, head = spec.formats.get, spec.skip, spec.head
        # formatted key -> that key, or its hashed stand-in (checked once per key)
        valid: Memo[str, str] = Memo(lambda key: key if is_valid(key) else safe_key(key, head))

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            fmt = None if kwargs else format_of(len(args))
            key = valid[bind(args, kwargs) if fmt is None else fmt % args[skip:]]
            result = get(key, namespace)
            if result is None:
                result = fill(key, functools.partial(func, *args, **kwargs))
            return result

        return wrapper

    def wraps_get_or_add(self, wrapped: Any = None, make_key: MakeKey | None = None) -> Any:
        """Decorator of the :meth:`get_or_add` pattern.

        Keeps the function's name, docstring and signature; works on
        functions, methods and classmethods (``self``/``cls`` left out of the
        key); usable bare or called (``make_key=...``)::

            cached = Cached(cache, key_builder("repo"), time=60)

            @cached.wraps_get_or_add
            def list_items(self, locale="en"): ...
        """
        return self._wraps(wrapped, make_key, self._add_missed)

    def wraps_get_or_set(self, wrapped: Any = None, make_key: MakeKey | None = None) -> Any:
        """Decorator of the :meth:`get_or_set` pattern (also ``@cached``);
        see :meth:`wraps_get_or_add`."""
        return self._wraps(wrapped, make_key, self._set_missed)

    def __call__(self, wrapped: Any = None, make_key: MakeKey | None = None) -> Any:
        """``@cached`` is :meth:`wraps_get_or_set`."""
        return self.wraps_get_or_set(wrapped, make_key)

    def wraps_get_or_create(self, wrapped: Any = None, make_key: MakeKey | None = None) -> Any:
        """Decorator of the :meth:`get_or_create` pattern (thundering-herd
        safe); see :meth:`wraps_get_or_add`."""
        return self._wraps(wrapped, make_key, self.one_pass_create)

    def wraps_get_or_set_multi(self, make_key: Callable[[Any], Key]) -> Any:
        """Decorator of the :meth:`get_or_set_multi` pattern::

            @cached.wraps_get_or_set_multi(make_key=lambda i: f"account:{i}")
            def get_multi_account(account_ids): ...

        The function takes the list of ids as its first argument (after
        ``self``/``cls``) and returns ``id -> value``; other arguments are
        passed on but are not part of the keys.
        """

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            signature = inspect.signature(func)
            names = list(signature.parameters)
            ids_name = names[1] if _has_context(func) else names[0]

            def wrapper(*args: Any, **kwargs: Any) -> Any:
                bound = signature.bind(*args, **kwargs)

                def create(missing: list[Any]) -> Any:
                    bound.arguments[ids_name] = missing
                    return func(*bound.args, **bound.kwargs)

                return self.get_or_set_multi(make_key, create, bound.arguments[ids_name])

            return wrapper

        return lambda wrapped: apply_decorator(wrapped, decorate)
