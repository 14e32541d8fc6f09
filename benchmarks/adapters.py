"""Each memcached adapter against its raw client library, on one loopback memcached.

Run: ``python -m benchmarks.adapters [--ops N] [--rounds N] [--runs N]
[--library NAME] [--server HOST:PORT]``. Without ``--server`` a memcached is started on a free
127.0.0.1 port (via ``tests.servers``). For each library: ``get`` of a hit,
``set``, ``get_multi`` of 100 keys and ``set_multi`` of 10, with 100-byte ``bytes`` values (which
every raw client stores as they are). Each raw client gets the settings the
adapter gives its own clients (:func:`_raw`), so that the two differ only by
the adapter's work. Implementations are timed in turns, best of 40 short
runs of 300 keys (``--rounds``, ``--ops``: on a VM whose hypervisor steals
CPU in bursts, many short runs find undisturbed ones where a few long runs
do not), twice: on the wall clock (what a caller waits) and on the
thread's CPU clock (the client-side work, which the loopback round trip's
scheduling noise on a busy machine does not inflate). The ratios are adapter
time over raw time (target: at most 1.15). ``--runs N`` repeats the whole
comparison and prints the median run with the range of the ratios: single
runs differ by several per cent on a loaded machine. After each table, one
``set_multi`` of 10 over one ``set`` (target: at most 2.5 for the adapter).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
from collections.abc import Callable, Iterator
from typing import Any

from benchmarks.harness import compare
from caching.adapters import adapter_class

MULTI = 100
#: Keys per ``set_multi`` call (issue 12's target: at most 2.5 times one ``set``).
BATCH = 10
#: ns/op of raw and caching on the wall clock, then on the CPU clock.
Timings = tuple[dict[str, float], dict[str, float]]
VALUE = b"v" * 100
LIBRARIES = ("pylibmc", "pymemcache", "python-memcached")


#: Seconds to wait for an answer, adapter and raw client alike.
TIMEOUT = 5.0
#: Seconds to wait for a connection (the adapters' default).
CONNECT_TIMEOUT = 0.5


def _raw(library: str, address: str) -> Any:
    """The library's own client with the settings the adapter gives its clients
    (timeouts included: with a timeout, every socket call of pymemcache and
    python-memcached polls first, a system call per send and receive)."""
    if library == "pylibmc":
        pylibmc = importlib.import_module("pylibmc")
        behaviors = {
            "tcp_nodelay": True,
            "ketama": True,
            "connect_timeout": round(CONNECT_TIMEOUT * 1000),
            "_poll_timeout": round(TIMEOUT * 1000),
            "retry_timeout": 1,
        }
        return pylibmc.Client([address], binary=False, behaviors=behaviors)
    if library == "pymemcache":
        pymemcache = importlib.import_module("pymemcache")
        return pymemcache.Client(
            address,
            connect_timeout=CONNECT_TIMEOUT,
            timeout=TIMEOUT,
            no_delay=True,
            default_noreply=False,
            allow_unicode_keys=True,
        )
    memcache = importlib.import_module("memcache")
    # The adapter checks keys itself and leaves the size limit to the server.
    return memcache.Client(
        [address],
        socket_timeout=TIMEOUT,
        dead_retry=1.0,
        server_max_value_length=0,
        check_keys=False,
    )


def _adapter(library: str, address: str) -> Any:
    options = {"timeout": TIMEOUT, "retry_timeout": 1.0}
    if library != "python-memcached":  # one socket timeout, for connecting too
        options["connect_timeout"] = CONNECT_TIMEOUT
    return adapter_class(library).build(address, **options)


def _multi_repeats(keys: list[str]) -> int:
    """How many times a run goes over ``keys`` by get_multi: at least ten calls a run."""
    return max(1, -(-10 * MULTI // len(keys)))


def _workload(client: Any, library: str, keys: list[str]) -> dict[str, Callable[[], object]]:
    """Closures doing ``len(keys)`` gets / sets, or ``len(keys) // 100`` get_multi
    (as many times over as :func:`_multi_repeats` says)."""
    chunks = [keys[i : i + MULTI] for i in range(0, len(keys), MULTI)] * _multi_repeats(keys)
    get_multi = (
        client.get_many
        if library == "pymemcache" and not hasattr(client, "get_multi")
        else client.get_multi
    )

    def get() -> None:
        for key in keys:
            client.get(key)

    def set_() -> None:
        for key in keys:
            client.set(key, VALUE)

    def multi() -> None:
        for chunk in chunks:
            get_multi(chunk)

    set_multi = client.set_many if not hasattr(client, "set_multi") else client.set_multi
    batches = [dict.fromkeys(keys[i : i + BATCH], VALUE) for i in range(0, len(keys), BATCH)]

    def store_batches() -> None:
        for batch in batches:
            set_multi(batch)

    return {
        "get": get,
        "set": set_,
        f"get_multi {MULTI}": multi,
        f"set_multi {BATCH}": store_batches,
    }


def _render(title: str, rows: list[tuple[str, list[Timings]]]) -> str:
    """A Markdown table: per operation, wall and CPU ns/op of both and the
    ratios, from the run whose wall ratio is the median; with several runs
    the ratio cells add the lowest and highest of all runs."""
    lines = [
        f"### {title}",
        "",
        "| operation | raw ns/op | caching ns/op | caching / raw "
        "| raw CPU ns/op | caching CPU ns/op | CPU caching / raw |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for operation, runs in rows:
        ordered = sorted(runs, key=lambda run: _ratio(run[0]))
        median = ordered[(len(ordered) - 1) // 2]
        cells = [operation]
        for clock, timings in enumerate(median):
            ratios = sorted(_ratio(run[clock]) for run in runs)
            spread = f" ({ratios[0]:.2f}-{ratios[-1]:.2f})" if len(runs) > 1 else ""
            cells += [
                f"{timings['raw']:,.0f}",
                f"{timings['caching']:,.0f}",
                f"{_ratio(timings):.2f}x{spread}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _batch_cost(rows: list[tuple[str, list[Timings]]]) -> str:
    """One ``set_multi`` of :data:`BATCH` keys over one ``set``, wall clock,
    for the adapter and the raw client: the median run and the range."""
    runs = dict(rows)
    cells = []
    for name in ("caching", "raw"):
        ratios = sorted(
            batch[0][name] / single[0][name]
            for batch, single in zip(runs[f"set_multi {BATCH}"], runs["set"], strict=True)
        )
        spread = f" ({ratios[0]:.2f}-{ratios[-1]:.2f})" if len(ratios) > 1 else ""
        cells.append(f"{name} {ratios[(len(ratios) - 1) // 2]:.2f}x{spread}")
    return f"set_multi of {BATCH} / one set (wall, target <= 2.5 for caching): " + ", ".join(cells)


def _ratio(timings: dict[str, float]) -> float:
    return timings["caching"] / timings["raw"]


def _fill(adapter: Any, keys: list[str]) -> None:
    assert adapter.set_multi(dict.fromkeys(keys, VALUE)) == []


@contextlib.contextmanager
def _server(address: str | None) -> Iterator[str]:
    """A memcached for the run: ``address``, or one started here with one
    worker thread, it and this process pinned to one CPU (where the
    platform can pin). On this project's 2-vCPU VM a round trip between two
    CPUs takes 15-60 us, depending on where the scheduler put the server's
    thread and each connection's: the ratios of single runs ranged from 0.3x
    to 4x. On one CPU a round trip is two context switches, the same for
    every connection (docs/PERFORMANCE.md, "Memcached adapters")."""
    if address:
        yield address
        return
    from tests import servers

    memcached = servers.memcached()
    memcached.argv += ["-t", "1"]
    pinned = _pin()  # before the start: the server's threads inherit the CPU
    try:
        with servers.running(memcached) as server:
            yield server.address
    finally:
        if pinned is not None:
            os.sched_setaffinity(0, pinned)


def _pin() -> set[int] | None:
    """Pin this process (and the processes it starts) to its first CPU;
    returns the CPUs to restore, or ``None`` where the platform cannot pin."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cpus)})
    return cpus


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.adapters")
    parser.add_argument("--ops", type=int, default=300, help="keys per run (default 300)")
    parser.add_argument("--server", help="use this memcached (host:port) instead of starting one")
    parser.add_argument(
        "--rounds", type=int, default=40, help="runs of each, best kept (default 40)"
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        help="repeat the whole comparison, print the median ratio and the range (default 1)",
    )
    parser.add_argument(
        "--library",
        action="append",
        choices=LIBRARIES,
        help="only this client library (repeatable; default all three)",
    )
    args = parser.parse_args(argv)
    keys = [f"bench:user:{i}:profile" for i in range(args.ops)]
    with _server(args.server) as address:
        for library in args.library or LIBRARIES:
            clients = {"raw": _raw(library, address), "caching": _adapter(library, address)}
            _fill(clients["caching"], keys)
            workloads = {name: _workload(c, library, keys) for name, c in clients.items()}
            rows: list[tuple[str, list[Timings]]] = []
            for operation in workloads["raw"]:
                ops = len(keys)
                if operation.startswith("get_multi"):
                    ops = len(keys) // MULTI * _multi_repeats(keys)
                elif operation.startswith("set_multi"):
                    ops = -(-len(keys) // BATCH)  # ns per call
                runs = {name: work[operation] for name, work in workloads.items()}
                timings = [
                    (
                        compare(runs, ops, args.rounds, clock="wall"),
                        compare(runs, ops, args.rounds, clock="cpu"),
                    )
                    for _ in range(args.runs)
                ]
                rows.append((operation, timings))
            print(_render(f"{library}: adapter vs raw client", rows))
            print()
            print(_batch_cost(rows), flush=True)
            print(flush=True)


if __name__ == "__main__":
    main()
