"""Patterns side by side with wheezy.caching and dogpile.cache, in one run.

Run with ``python -m benchmarks.patterns`` (``--quick`` for a short run,
``--no-memcached`` to skip the cross-process herd). Prints:

- the ``@cached`` hit path (a decorated module function whose result is
  cached, and a decorated method called through its instance) and the
  ``get_or_create`` hit, in ns per call, each library on its own
  in-process backend, with the ratio to ``caching``;
- the thundering herd: 32 threads (in one process, in-process backends) and
  4 processes x 8 threads (sharing one memcached) miss the same key at once;
  the creator takes 200 ms. Reported: creator calls, and the extra wait of
  the waiters (the time they got the value minus the time the creator
  returned it), median and 95th percentile.
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from benchmarks.harness import Row, compare, render

CREATOR_SECONDS = 0.2
LIBRARIES = ("caching", "wheezy.caching", "dogpile.cache")
#: The adapter through which ``caching`` shares memcached in the process herd.
SHARED_CLIENT = "pymemcache"
#: Generous timeouts: on a loaded machine a call that times out counts as a
#: server failure, after which get_or_create computes the value itself.
SERVER_TIMEOUTS = "timeout=5&connect_timeout=5"

# -- the libraries, each on its in-process backend ---------------------------------


def _ours_cached() -> Any:
    from caching import MemoryCache
    from caching.patterns import Cached, key_builder

    return Cached(MemoryCache(), key_builder("bench"), time=600)


def _wheezy_cached() -> Any:
    from wheezy.caching import MemoryCache
    from wheezy.caching.patterns import Cached, key_builder

    return Cached(MemoryCache(), key_builder("bench"), time=600)


def _dogpile_region(backend: str = "dogpile.cache.memory", **arguments: Any) -> Any:
    from dogpile.cache import make_region

    return make_region().configure(backend, expiration_time=600, arguments=arguments)


def _decorator(library: str) -> Callable[[Callable[..., Any]], Any]:
    if library == "dogpile.cache":
        return _dogpile_region().cache_on_arguments()  # type: ignore[no-any-return]
    return _ours_cached() if library == "caching" else _wheezy_cached()


def _decorated(library: str) -> Callable[[], Any]:
    """``list_items(locale, sort_order=1)``, a module function, decorated by ``library``."""

    def list_items(locale: str, sort_order: int = 1) -> list[Any]:
        return [locale, sort_order]

    decorated = _decorator(library)(list_items)
    return lambda: decorated("en")


def _decorated_method(library: str) -> Callable[[], Any]:
    """``Repository.list_items(self, locale, sort_order=1)`` decorated by
    ``library``, called through an instance (``self`` left out of the key)."""

    class Repository:
        @_decorator(library)
        def list_items(self, locale: str, sort_order: int = 1) -> list[Any]:
            return [locale, sort_order]

    repository = Repository()
    return lambda: repository.list_items("en")


def _get_or_create_hit(library: str) -> Callable[[], Any]:
    def create() -> str:
        return "value"

    if library == "dogpile.cache":
        region = _dogpile_region()
        return lambda: region.get_or_create("key", create)
    cached = _ours_cached() if library == "caching" else _wheezy_cached()
    return lambda: cached.get_or_create("key", create)


# -- the herd -----------------------------------------------------------------------


def _herd_getter(library: str, address: str | None) -> Callable[[str, Callable[[], Any]], Any]:
    """``get_or_create(key, creator)`` of ``library``; over memcached at ``address``."""
    if library == "dogpile.cache":
        if address is None:
            region = _dogpile_region()
        else:
            region = _dogpile_region(
                "dogpile.cache.pymemcache", url=[address], distributed_lock=True, lock_timeout=10
            )
        return region.get_or_create  # type: ignore[no-any-return]
    if library == "caching":
        from caching import MemoryCache, from_url
        from caching.patterns import Cached

        cache = (
            MemoryCache()
            if address is None
            else from_url(f"memcached://{address}?client={SHARED_CLIENT}&{SERVER_TIMEOUTS}")
        )
        return Cached(cache, time=600, timeout=10).get_or_create
    from wheezy.caching import MemoryCache as WheezyMemory
    from wheezy.caching.patterns import Cached as WheezyCached

    if address is None:
        return WheezyCached(WheezyMemory(), time=600, timeout=10).get_or_create
    from wheezy.caching.memcache import MemcachedClient

    return WheezyCached(MemcachedClient([address]), time=600, timeout=10).get_or_create


#: Per thread: the value it got, when it called, when it got the value, and
#: whether it ran the creator.
Outcome = tuple[Any, float, float, bool]


def _herd_threads(
    get_or_create: Callable[[str, Callable[[], Any]], Any], key: str, threads: int
) -> tuple[list[float], list[Outcome]]:
    """``threads`` threads call ``get_or_create(key)`` together.

    :returns: the times each creator call returned, and each thread's outcome.
    """
    done: list[float] = []
    local = threading.local()
    start = threading.Barrier(threads)
    results: list[Outcome] = []

    def create() -> str:
        local.creator = True
        time.sleep(CREATOR_SECONDS)
        done.append(time.time())
        return "value"

    def body() -> None:
        local.creator = False
        start.wait()
        called = time.time()
        value = get_or_create(key, create)
        results.append((value, called, time.time(), local.creator))

    workers = [threading.Thread(target=body) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return done, results


def _herd_process(
    barrier: Any, queue: Any, library: str, address: str, key: str, threads: int
) -> None:
    get_or_create = _herd_getter(library, address)
    barrier.wait(60)
    queue.put(_herd_threads(get_or_create, key, threads))


def _relative(done: list[float], results: list[Outcome]) -> list[Outcome]:
    """``results`` with times relative to the first creator's return."""
    first = min(done)
    return [(v, called - first, got - first, c) for v, called, got, c in results]


def _summary(results: list[Outcome]) -> dict[str, Any]:
    """Extra wait of the waiters: the threads that called before the value was
    made and did not make it (a thread the machine's load started late is not
    a waiter); times relative to the first creator's return."""
    waits = sorted(got for _, called, got, creator in results if called < 0 and not creator)
    lost = sum(1 for value, *_ in results if value is None)
    return {
        "calls": 0,  # set by the caller
        "median": statistics.median(waits) * 1000 if waits else float("nan"),
        "p95": waits[int(0.95 * (len(waits) - 1))] * 1000 if waits else float("nan"),
        "none": lost,
    }


def herd_in_process(library: str, rounds: int, threads: int = 32) -> dict[str, Any]:
    """Herd of ``threads`` threads over an in-process backend, ``rounds`` times."""
    get_or_create = _herd_getter(library, None)
    results: list[Outcome] = []
    calls = 0
    for round_ in range(rounds):
        done, round_results = _herd_threads(get_or_create, f"herd-{round_}", threads)
        calls += len(done)
        results += _relative(done, round_results)
    summary = _summary(results)
    summary["calls"] = calls / rounds
    return summary


def herd_processes(
    library: str, address: str, rounds: int, processes: int = 4, threads: int = 8
) -> dict[str, Any]:
    """Herd of ``processes`` x ``threads`` sharing memcached at ``address``."""
    spawn = multiprocessing.get_context("spawn")
    calls = 0
    results: list[Outcome] = []
    for round_ in range(rounds):
        barrier = spawn.Barrier(processes)
        queue = spawn.Queue()
        key = f"herd-{library}-{round_}-{time.time()}"
        children = [
            spawn.Process(
                target=_herd_process, args=(barrier, queue, library, address, key, threads)
            )
            for _ in range(processes)
        ]
        for child in children:
            child.start()
        reports = [queue.get(timeout=120) for _ in children]
        for child in children:
            child.join(30)
        done = [t for report_done, _ in reports for t in report_done]
        calls += len(done)
        results += _relative(done, [outcome for _, per in reports for outcome in per])
    summary = _summary(results)
    summary["calls"] = calls / rounds
    return summary


@contextmanager
def _memcached() -> Iterator[str | None]:
    """A memcached on a free loopback port, or ``None`` when it cannot run."""
    try:
        from tests import servers

        server = servers.memcached()
    except BaseException:  # not installed: pytest.skip raises a BaseException
        yield None
        return
    with servers.running(server):
        yield server.address


# -- report ---------------------------------------------------------------------------


def _hit_rows(ops: int) -> list[Row]:
    """The hit paths, each library timed in turns on this thread's CPU clock."""
    rows = []
    for name, make in (
        ("@cached hit", _decorated),
        ("@cached hit (method)", _decorated_method),
        ("get_or_create hit", _get_or_create_hit),
    ):
        calls = {library: make(library) for library in LIBRARIES}

        def run_of(call: Callable[[], Any]) -> Callable[[], None]:
            def run() -> None:
                for _ in range(ops):
                    call()

            return run

        runs = {library: run_of(call) for library, call in calls.items()}
        rows.append(Row(name, dict(compare(runs, ops, clock="cpu"))))
    return rows


def _print_herd(title: str, summaries: dict[str, dict[str, Any]]) -> None:
    print(f"| {title} | creator calls | waiter extra wait median | p95 | waiters given None |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for library, s in summaries.items():
        median, p95 = f"{s['median']:.1f} ms", f"{s['p95']:.1f} ms"
        print(f"| {library} | {s['calls']:g} | {median} | {p95} | {s['none']} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls and rounds")
    parser.add_argument("--no-memcached", action="store_true", help="skip the process herd")
    options = parser.parse_args(argv)
    number, rounds = (5_000, 2) if options.quick else (20_000, 5)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"(load average before the run: {load}; {os.cpu_count()} CPUs)\n")

    print(render("Hit paths (in-process backends)", _hit_rows(number)))
    print()
    _print_herd(
        "herd: 32 threads, one process",
        {library: herd_in_process(library, rounds) for library in LIBRARIES},
    )
    if options.no_memcached:
        return
    with _memcached() as address:
        if address is None:
            print("\n(memcached is not installed: the process herd is skipped)")
            return
        libraries = [lib for lib in LIBRARIES if lib != "caching" or _have_adapter()]
        print()
        _print_herd(
            "herd: 4 processes x 8 threads, memcached",
            {lib: herd_processes(lib, address, max(1, rounds - 2)) for lib in libraries},
        )
        if "caching" not in libraries:
            print(f"\n(caching.{SHARED_CLIENT} is not installed: caching left out of the table)")


def _have_adapter() -> bool:
    return importlib.util.find_spec(f"caching.{SHARED_CLIENT}") is not None


if __name__ == "__main__":
    main()
