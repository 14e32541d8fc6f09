"""``StatsCache``: a backend that counts what another backend does."""

from __future__ import annotations

import threading
import time as _time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from caching.contract import Cache
from caching.expiry import Time
from caching.key_rules import Key

__all__ = ["FIELDS", "StatsCache"]

#: The counts kept for each operation and namespace, in :meth:`StatsCache.snapshot`.
FIELDS = ("calls", "hits", "misses", "failures", "seconds", "max_seconds")

_NO_FAILURES: Callable[[], int] = lambda: 0  # noqa: E731


def _one(answer: Any) -> tuple[int, int]:
    """``(hits, misses)`` of a call that reads one item."""
    return (0, 1) if answer is None else (1, 0)


class _Counts:
    __slots__ = FIELDS

    def __init__(self) -> None:
        self.calls = self.hits = self.misses = self.failures = 0
        self.seconds = self.max_seconds = 0.0


class StatsCache:
    """The contract over ``backend``, counting each call.

    Per operation (``get``, ``get_multi``, ``set``...) and namespace:

    - ``calls``;
    - ``hits`` and ``misses``: of ``get`` (one each call) and ``get_multi``
      (one per key asked for); ``incr``/``decr`` count a ``None`` answer
      as a miss;
    - ``failures``: calls that met a server failure, and so answered the
      contract's "nothing happened" (read from the backend's
      ``failed_calls()``: the memcached adapters have it; in-process backends
      never fail);
    - ``seconds`` (total) and ``max_seconds``: the time calls took, wall
      clock, errors raised included.

    Bad input still raises, and is counted as a call. It works wherever a
    backend does, e.g. as one namespace of a :class:`~caching.client.CacheClient`
    (``namespace`` is the one the caller passed; ``None`` is shown as ``""``).

    :param backend: any backend of the contract.
    :param clock: seconds, for the latencies (``time.perf_counter``).
    """

    def __init__(self, backend: Cache, clock: Callable[[], float] = _time.perf_counter) -> None:
        self.backend = backend
        self._clock = clock
        self._failed_calls: Callable[[], int] = getattr(backend, "failed_calls", _NO_FAILURES)
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], _Counts] = {}

    # -- the counts -------------------------------------------------------

    def snapshot(self) -> dict[str, dict[str, dict[str, float]]]:
        """``{namespace: {operation: {field: value}}}`` (fields: :data:`FIELDS`),
        a plain ``dict`` copied under the lock."""
        with self._lock:
            result: dict[str, dict[str, dict[str, float]]] = {}
            for (namespace, operation), counts in sorted(self._counts.items()):
                fields = {field: getattr(counts, field) for field in FIELDS}
                result.setdefault(namespace, {})[operation] = fields
            return result

    def reset(self) -> None:
        """Start every count over."""
        with self._lock:
            self._counts.clear()

    def _record(
        self,
        operation: str,
        namespace: str | None,
        started: float,
        failures_before: int,
        hits: int = 0,
        misses: int = 0,
    ) -> None:
        took = self._clock() - started
        failed = self._failed_calls() > failures_before
        slot = (namespace or "", operation)
        with self._lock:
            counts = self._counts.get(slot)
            if counts is None:
                counts = self._counts[slot] = _Counts()
            counts.calls += 1
            counts.hits += hits
            counts.misses += misses
            counts.failures += failed
            counts.seconds += took
            if took > counts.max_seconds:
                counts.max_seconds = took

    def _timed(
        self,
        operation: str,
        namespace: str | None,
        call: Callable[[], Any],
        judge: Callable[[Any], tuple[int, int]] | None = None,
    ) -> Any:
        """``call()``, counted; ``judge(answer)`` gives its ``(hits, misses)``."""
        started, before = self._clock(), self._failed_calls()
        try:
            answer = call()
        except BaseException:
            self._record(operation, namespace, started, before)
            raise
        hits, misses = (0, 0) if judge is None else judge(answer)
        self._record(operation, namespace, started, before, hits, misses)
        return answer

    # -- the contract -----------------------------------------------------

    def set(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        return self._timed(  # type: ignore[no-any-return]
            "set", namespace, lambda: self.backend.set(key, value, time, namespace)
        )

    def add(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        return self._timed(  # type: ignore[no-any-return]
            "add", namespace, lambda: self.backend.add(key, value, time, namespace)
        )

    def replace(self, key: Key, value: Any, time: Time = 0, namespace: str | None = None) -> bool:
        return self._timed(  # type: ignore[no-any-return]
            "replace", namespace, lambda: self.backend.replace(key, value, time, namespace)
        )

    def set_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return self._timed(  # type: ignore[no-any-return]
            "set_multi", namespace, lambda: self.backend.set_multi(mapping, time, namespace)
        )

    def add_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return self._timed(  # type: ignore[no-any-return]
            "add_multi", namespace, lambda: self.backend.add_multi(mapping, time, namespace)
        )

    def replace_multi(
        self, mapping: Mapping[Key, Any], time: Time = 0, namespace: str | None = None
    ) -> list[Key]:
        return self._timed(  # type: ignore[no-any-return]
            "replace_multi", namespace, lambda: self.backend.replace_multi(mapping, time, namespace)
        )

    def get(self, key: Key, namespace: str | None = None) -> Any:
        return self._timed("get", namespace, lambda: self.backend.get(key, namespace), _one)

    def get_multi(self, keys: Iterable[Key], namespace: str | None = None) -> dict[Key, Any]:
        listed = keys if isinstance(keys, (list, tuple, str, bytes)) else list(keys)

        def judge(found: dict[Key, Any]) -> tuple[int, int]:
            return len(found), len(set(listed)) - len(found)

        return self._timed(  # type: ignore[no-any-return]
            "get_multi", namespace, lambda: self.backend.get_multi(listed, namespace), judge
        )

    def delete(self, key: Key, seconds: int = 0, namespace: str | None = None) -> bool:
        return self._timed(  # type: ignore[no-any-return]
            "delete", namespace, lambda: self.backend.delete(key, seconds, namespace)
        )

    def delete_multi(
        self, keys: Iterable[Key], seconds: int = 0, namespace: str | None = None
    ) -> bool:
        return self._timed(  # type: ignore[no-any-return]
            "delete_multi", namespace, lambda: self.backend.delete_multi(keys, seconds, namespace)
        )

    def incr(
        self,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None:
        return self._count("incr", self.backend.incr, key, delta, namespace, initial_value)

    def decr(
        self,
        key: Key,
        delta: int = 1,
        namespace: str | None = None,
        initial_value: int | None = None,
    ) -> int | None:
        return self._count("decr", self.backend.decr, key, delta, namespace, initial_value)

    def _count(
        self,
        operation: str,
        call: Callable[..., int | None],
        key: Key,
        delta: int,
        namespace: str | None,
        initial_value: int | None,
    ) -> int | None:
        return self._timed(  # type: ignore[no-any-return]
            operation, namespace, lambda: call(key, delta, namespace, initial_value), _one
        )

    def ping(self) -> dict[str, float | None]:
        return self.backend.ping()

    def flush_all(self) -> bool:
        return self._timed("flush_all", None, self.backend.flush_all)  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"<StatsCache over {self.backend!r}>"
