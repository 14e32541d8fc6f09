"""MemoryCache against wheezy.caching's MemoryCache, cachetools' TTLCache,
Django's LocMemCache and Beaker's memory cache.

Run: ``python -m benchmarks.core [--ops N]``. Items carry a 600 s expiry, as
cached data usually does; keys are realistic short strings. Timed on the
thread's CPU clock (all in-process), best of 9 runs. The "C floor" column
is not a cache: it times ``dict(zip(keys, map(values.__getitem__, keys)))``,
the least work a ``get_multi`` returning a ``dict`` can do in CPython.
"""

from __future__ import annotations

import argparse
import contextlib
import threading
from collections.abc import Callable
from typing import Any

from benchmarks.harness import Row, compare, render
from caching import MemoryCache

TTL = 600
MULTI = 100


def _peers() -> dict[str, Any]:
    peers: dict[str, Any] = {"caching": MemoryCache()}
    try:
        from wheezy.caching import MemoryCache as WheezyMemoryCache

        peers["wheezy"] = WheezyMemoryCache()
    except ImportError:
        pass
    try:
        from cachetools import TTLCache

        peers["cachetools"] = TTLCache(maxsize=10**7, ttl=TTL)
    except ImportError:
        pass
    with contextlib.suppress(ImportError):
        peers["django"] = _django_cache()
    with contextlib.suppress(ImportError):
        peers["beaker"] = _beaker_cache()
    peers["C floor"] = _Floor()
    return peers


def _django_cache() -> Any:
    """Django's in-process cache (LocMemCache), outside any Django project."""
    from django.conf import settings

    if not settings.configured:
        settings.configure()
    from django.core.cache.backends.locmem import LocMemCache

    return LocMemCache("benchmark", {"TIMEOUT": TTL, "OPTIONS": {"MAX_ENTRIES": 10**7}})


class _BeakerCache:
    """Beaker's memory cache under the contract's names (a miss raises
    ``KeyError`` in Beaker); it has no ``incr`` and no ``get_multi``."""

    def __init__(self) -> None:
        from beaker.cache import CacheManager

        self._cache = CacheManager(type="memory").get_cache("benchmark", expire=TTL)

    def set(self, key: str, value: Any, time: int) -> None:
        self._cache.put(key, value)

    def get(self, key: str) -> Any:
        try:
            return self._cache.get(key)
        except KeyError:
            return None


def _beaker_cache() -> _BeakerCache:
    return _BeakerCache()


class _Floor:
    """Not a cache: the least work any ``get_multi`` returning a ``dict`` does
    in CPython -- the lookups and the dict, both in C, with no expiry, no
    ``None`` and no key check -- so the table shows how far 1.3x is."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}


def _workload(
    name: str, cache: Any, keys: list[str], mixed: list[str]
) -> dict[str, Callable[[], object]]:
    """Closures doing len(keys) operations each; absent where the peer has no such op."""
    misses = [f"miss:{key}" for key in keys]
    chunks = [keys[i : i + MULTI] for i in range(0, len(keys), MULTI)]
    mixed_chunks = [mixed[i : i + MULTI] for i in range(0, len(mixed), MULTI)]
    if isinstance(cache, _Floor):
        values = cache.values
        values.update({key: key for key in keys})
        lookup = values.__getitem__

        def floor() -> None:
            for chunk in chunks:
                dict(zip(chunk, map(lookup, chunk), strict=False))

        return {"get_multi 100": floor}
    if name == "cachetools":
        lock = threading.Lock()  # TTLCache is not thread-safe; the others are

        def set_all() -> None:
            for key in keys:
                with lock:
                    cache[key] = key

        def get_hits() -> None:
            for key in keys:
                with lock:
                    cache.get(key)

        def get_misses() -> None:
            for key in misses:
                with lock:
                    cache.get(key)

        def get_multi(chunks: list[list[str]] = chunks) -> None:
            for chunk in chunks:
                with lock:
                    {key: cache[key] for key in chunk if key in cache}

        return {
            "set": set_all,
            "get hit": get_hits,
            "get miss": get_misses,
            "get_multi 100": get_multi,
            "get_multi 100 (90% hits)": lambda: get_multi(mixed_chunks),
        }

    set_, get = cache.set, cache.get
    incr = getattr(cache, "incr", None)
    get_multi_ = getattr(cache, "get_multi", None) or getattr(cache, "get_many", None)
    counters = [f"counter:{i:02d}" for i in range(100)]
    if name == "django":  # its incr needs an existing key and takes no initial value
        for counter in counters:
            cache.set(counter, 0, None)

    def set_all() -> None:
        for key in keys:
            set_(key, key, TTL)

    def get_hits() -> None:
        for key in keys:
            get(key)

    def get_misses() -> None:
        for key in misses:
            get(key)

    def incr_all() -> None:
        for i in range(len(keys)):
            if name == "django":
                incr(counters[i % 100], 1)
            else:
                incr(counters[i % 100], 1, None, 0)

    def get_multi(chunks: list[list[str]] = chunks) -> None:
        for chunk in chunks:
            get_multi_(chunk)

    work: dict[str, Callable[[], object]] = {
        "set": set_all,
        "get hit": get_hits,
        "get miss": get_misses,
    }
    if incr is not None:
        work["incr"] = incr_all
    if get_multi_ is not None:
        work["get_multi 100"] = get_multi
        work["get_multi 100 (90% hits)"] = lambda: get_multi(mixed_chunks)
    return work


OPERATIONS = ("set", "get hit", "get miss", "incr", "get_multi 100", "get_multi 100 (90% hits)")


def run(ops: int) -> str:
    keys = [f"user:{i}:profile" for i in range(ops)]
    # A warm cache: one key in ten of each get_multi is not cached.
    mixed = [key if i % 10 else f"absent:{i}" for i, key in enumerate(keys)]
    works = {name: _workload(name, cache, keys, mixed) for name, cache in _peers().items()}
    rows = []
    for operation in OPERATIONS:
        runs = {name: work[operation] for name, work in works.items() if operation in work}
        timings = compare(runs, len(keys), clock="cpu")
        per_call = MULTI if operation.startswith("get_multi") else 1
        row = Row(operation)
        for name in works:
            row.timings[name] = timings[name] * per_call if name in timings else None
        rows.append(row)
    return render(
        "MemoryCache vs wheezy.caching, cachetools, Django and Beaker (ns per call)", rows
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ops", type=int, default=20_000, help="operations per run")
    args = parser.parse_args(argv)
    print(run(args.ops))


if __name__ == "__main__":
    main()
