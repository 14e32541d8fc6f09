"""asyncio: ``caching.aio`` side by side with aiocache and cashews, and the
async memcached adapter against the raw emcache client it wraps.

Run: ``python -m benchmarks.aio [--rounds N] [--runs N] [--server HOST:PORT]``.

1. ``@cached`` hit, in process: ``AsyncCached.wraps_get_or_create`` over
   ``AsyncMemoryCache`` against aiocache's ``@cached`` (``SimpleMemoryCache``,
   its defaults) and cashews' ``@cache`` (``mem://``), each a decorated
   ``async def`` of two arguments whose item is there. Timed on the thread's
   CPU clock, best of ``--rounds`` runs, in turns.
2. Herd: 100 tasks miss one key at once, the creator takes 200 ms; for each
   peer the creator calls and the waiters' median extra latency (their wait
   minus the creator's 200 ms), one loop. aiocache's ``cached_stampede`` and
   cashews' ``lock=True`` are their herd guards, shown too.
3. memcached: ``get`` and ``get_multi`` of 100 keys (100-byte ``bytes``
   values) by 100 concurrent tasks, adapter against the raw emcache client
   with the same settings (timeout, connections per server, connect
   timeout), on one loopback memcached (started on a free port without
   ``--server``). Throughput ratio adapter / raw (target >= 0.87), from
   the best of ``--rounds`` short runs in turns, on the wall clock and on
   the CPU clock; ``--runs`` repeats it and prints the median with the range.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from benchmarks.harness import Row, compare, render
from caching.aio import AsyncMemoryCache
from caching.aio.cached import AsyncCached

HITS = 2000
TASKS = 100
CREATOR_SECONDS = 0.2
MULTI = 100
VALUE = b"v" * 100
TIMEOUT = 5.0
POOL = 16


def _runner(loop: asyncio.AbstractEventLoop, make: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return lambda: loop.run_until_complete(make())


# -- 1. @cached hit ----------------------------------------------------------


def _hit_peers(loop: asyncio.AbstractEventLoop) -> dict[str, Callable[..., Any]]:
    cached = AsyncCached(AsyncMemoryCache(), time=600)

    @cached.wraps_get_or_create()
    async def ours(user: int, locale: str) -> str:
        return f"{user}-{locale}"

    peers: dict[str, Callable[..., Any]] = {"caching": ours}
    with contextlib.suppress(ImportError):
        from aiocache import SimpleMemoryCache
        from aiocache import cached as aiocache_cached

        @aiocache_cached(ttl=600, cache=SimpleMemoryCache)
        async def theirs(user: int, locale: str) -> str:
            return f"{user}-{locale}"

        peers["aiocache"] = theirs
    with contextlib.suppress(ImportError):
        from cashews import Cache

        cashews = Cache()
        cashews.setup("mem://")

        @cashews(ttl=600)
        async def cashews_cached(user: int, locale: str) -> str:
            return f"{user}-{locale}"

        peers["cashews"] = cashews_cached
    for func in peers.values():
        loop.run_until_complete(func(7, "en"))  # the item is there
    return peers


def hit_row(loop: asyncio.AbstractEventLoop, rounds: int) -> Row:
    peers = _hit_peers(loop)

    def hits(func: Callable[..., Any]) -> Callable[[], Coroutine[Any, Any, None]]:
        async def run() -> None:
            for _ in range(HITS):
                await func(7, "en")

        return run

    runs = {name: _runner(loop, hits(func)) for name, func in peers.items()}
    return Row("@cached hit", dict(compare(runs, HITS, rounds, clock="cpu")))


# -- 2. herd -----------------------------------------------------------------


def _herd_peers() -> dict[str, Callable[[Callable[[], Any]], Callable[[], Any]]]:
    """name -> decorate(creator) giving a fresh cached function (a fresh cache)."""

    def ours(creator: Callable[[], Any]) -> Callable[[], Any]:
        cached = AsyncCached(AsyncMemoryCache(), time=600)
        return cached.wraps_get_or_create(make_key=lambda: "herd")(creator)

    peers: dict[str, Callable[[Callable[[], Any]], Callable[[], Any]]] = {"caching": ours}
    with contextlib.suppress(ImportError):
        from aiocache import SimpleMemoryCache, cached_stampede
        from aiocache import cached as aiocache_cached

        peers["aiocache"] = lambda creator: aiocache_cached(ttl=600, cache=SimpleMemoryCache)(
            creator
        )
        peers["aiocache stampede"] = lambda creator: cached_stampede(
            ttl=600, cache=SimpleMemoryCache, lease=2
        )(creator)
    with contextlib.suppress(ImportError):
        from cashews import Cache

        def cashews_peer(lock: bool) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
            def decorate(creator: Callable[[], Any]) -> Callable[[], Any]:
                cashews = Cache()
                cashews.setup("mem://")
                return cashews(ttl=600, lock=lock)(creator)  # type: ignore[no-any-return]

            return decorate

        peers["cashews"] = cashews_peer(False)
        peers["cashews lock"] = cashews_peer(True)
    return peers


def herd(loop: asyncio.AbstractEventLoop) -> list[tuple[str, int, float]]:
    """(peer, creator calls, waiters' median extra latency in ms)."""
    results = []
    for name, decorate in _herd_peers().items():
        calls = 0

        async def creator() -> str:
            nonlocal calls
            calls += 1
            await asyncio.sleep(CREATOR_SECONDS)
            return "made"

        func = decorate(creator)

        async def one(func: Callable[[], Any] = func) -> float:
            started = time.perf_counter()
            assert await func() == "made"
            return time.perf_counter() - started

        async def many() -> list[float]:
            return await asyncio.gather(*(one() for _ in range(TASKS)))

        waits = loop.run_until_complete(many())
        extra = statistics.median(waits) - CREATOR_SECONDS
        results.append((name, calls, extra * 1000))
    return results


# -- 3. memcached throughput ------------------------------------------------


@contextlib.contextmanager
def _server(address: str | None) -> Iterator[str]:
    if address is not None:
        yield address
        return
    from tests import servers

    with servers.running(servers.memcached()) as server:
        yield server.address


async def _clients(address: str) -> tuple[Any, Any]:
    import emcache

    from caching.aio.memcached import AsyncMemcachedClient

    host, port = address.rsplit(":", 1)
    raw = await emcache.create_client(
        [emcache.MemcachedHostAddress(host, int(port))],
        timeout=TIMEOUT,
        max_connections=POOL,
        min_connections=1,
        connection_timeout=0.5,
    )
    adapter = AsyncMemcachedClient(address, timeout=TIMEOUT, pool_size=POOL)
    return raw, adapter


def memcached_rows(loop: asyncio.AbstractEventLoop, address: str, rounds: int) -> list[Row]:
    raw, adapter = loop.run_until_complete(_clients(address))
    keys = [f"bench:{i}" for i in range(MULTI)]
    raw_keys = [key.encode() for key in keys]
    assert loop.run_until_complete(adapter.set_multi(dict.fromkeys(keys, VALUE))) == []
    per_task = {"get": 20, "get_multi": 2}

    def load(call: Callable[[int], Coroutine[Any, Any, Any]], count: int) -> Callable[[], Any]:
        async def task() -> None:
            for index in range(count):
                await call(index)

        async def run() -> None:
            await asyncio.gather(*(task() for _ in range(TASKS)))

        return run

    async def raw_get(index: int) -> None:
        item = await raw.get(raw_keys[index % MULTI], return_flags=True)
        assert item.value == VALUE

    async def adapter_get(index: int) -> None:
        assert await adapter.get(keys[index % MULTI]) == VALUE

    async def raw_multi(index: int) -> None:
        assert len(await raw.get_many(raw_keys, return_flags=True)) == MULTI

    async def adapter_multi(index: int) -> None:
        assert len(await adapter.get_multi(keys)) == MULTI

    rows = []
    for operation, (theirs, ours) in {
        "get": (raw_get, adapter_get),
        "get_multi": (raw_multi, adapter_multi),
    }.items():
        count = per_task[operation]
        runs = {
            "emcache": _runner(loop, load(theirs, count)),
            "caching": _runner(loop, load(ours, count)),
        }
        ops = TASKS * count
        for clock in ("wall", "cpu"):
            rows.append(Row(f"{operation} ({clock})", dict(compare(runs, ops, rounds, clock))))
    loop.run_until_complete(adapter.close())
    loop.run_until_complete(raw.close())
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.aio")
    parser.add_argument("--rounds", type=int, default=30, help="runs of each, best kept")
    parser.add_argument("--runs", type=int, default=1, help="repeat the memcached comparison")
    parser.add_argument("--server", help="HOST:PORT of a memcached (default: start one)")
    args = parser.parse_args(argv)
    loop = asyncio.new_event_loop()
    try:
        print(render("@cached hit, in process (CPU clock)", [hit_row(loop, args.rounds)]))
        print("\n### Herd: 100 tasks miss one key, 200 ms creator\n")
        print("| peer | creator calls | waiters' median extra latency (ms) |")
        print("| --- | --- | --- |")
        for name, calls, extra in herd(loop):
            print(f"| {name} | {calls} | {extra:.1f} |")
        with _server(args.server) as address:
            runs = [memcached_rows(loop, address, args.rounds) for _ in range(args.runs)]
        print()
        print(
            render(
                "memcached, 100 concurrent tasks: ns/op (raw / adapter = throughput ratio)",
                runs[len(runs) // 2],
            )
        )
        if args.runs > 1:
            print("\nThroughput ratio adapter / raw over the runs (median, range):")
            for index, row in enumerate(runs[0]):
                ratios = sorted(
                    run[index].timings["emcache"] / run[index].timings["caching"]  # type: ignore[operator]
                    for run in runs
                )
                print(
                    f"- {row.operation}: {statistics.median(ratios):.2f} "
                    f"({ratios[0]:.2f}-{ratios[-1]:.2f})"
                )
    finally:
        loop.close()


if __name__ == "__main__":
    main()
