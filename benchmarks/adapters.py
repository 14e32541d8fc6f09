"""Each memcached adapter against its raw client library, on one loopback memcached.

Run: ``python -m benchmarks.adapters [--ops N] [--server HOST:PORT]``. Without
``--server`` a memcached is started on a free 127.0.0.1 port (via
``tests.servers``). For each library: ``get`` of a hit, ``set`` and
``get_multi`` of 100 keys, with 100-byte ``bytes`` values (which every raw
client stores as they are). The raw clients are set up as the adapter sets
up its own (text protocol, TCP_NODELAY, replies awaited). Timed on the wall
clock, implementations in turns, best of 9 runs; the ratio is adapter time
over raw time (target: at most 1.15).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
from collections.abc import Callable, Iterator
from typing import Any

from benchmarks.harness import Row, compare, render

MULTI = 100
VALUE = b"v" * 100


def _raw(library: str, address: str) -> Any:
    if library == "pylibmc":
        pylibmc = importlib.import_module("pylibmc")
        behaviors = {"tcp_nodelay": True, "ketama": True}
        return pylibmc.Client([address], binary=False, behaviors=behaviors)
    if library == "pymemcache":
        pymemcache = importlib.import_module("pymemcache")
        return pymemcache.Client(address, no_delay=True, default_noreply=False)
    memcache = importlib.import_module("memcache")
    return memcache.Client([address])


def _adapter(library: str, address: str) -> Any:
    module = {"pylibmc": "pylibmc", "pymemcache": "pymemcache", "python-memcached": "memcache"}
    cls = importlib.import_module(f"caching.{module[library]}").MemcachedClient
    # Timeouts as long as the raw clients' (seconds): this measures speed.
    if library == "python-memcached":
        return cls(address, socket_timeout=5.0)
    return cls(address, timeout=5.0)


def _workload(client: Any, library: str, keys: list[str]) -> dict[str, Callable[[], object]]:
    """Closures doing ``len(keys)`` gets / sets, or ``len(keys) // 100`` get_multi."""
    chunks = [keys[i : i + MULTI] for i in range(0, len(keys), MULTI)]
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

    return {"get": get, "set": set_, f"get_multi {MULTI}": multi}


def _fill(adapter: Any, keys: list[str]) -> None:
    assert adapter.set_multi(dict.fromkeys(keys, VALUE)) == []


@contextlib.contextmanager
def _server(address: str | None) -> Iterator[str]:
    if address:
        yield address
        return
    from tests import servers

    with servers.running(servers.memcached()) as server:
        yield server.address


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.adapters")
    parser.add_argument("--ops", type=int, default=2000, help="keys per run (default 2000)")
    parser.add_argument("--server", help="use this memcached (host:port) instead of starting one")
    args = parser.parse_args(argv)
    keys = [f"bench:user:{i}:profile" for i in range(args.ops)]
    with _server(args.server) as address:
        for library in ("pylibmc", "pymemcache", "python-memcached"):
            clients = {"raw": _raw(library, address), "caching": _adapter(library, address)}
            _fill(clients["caching"], keys)
            workloads = {name: _workload(c, library, keys) for name, c in clients.items()}
            rows = []
            for operation in workloads["raw"]:
                ops = len(keys) // MULTI if operation.startswith("get_multi") else len(keys)
                runs = {name: work[operation] for name, work in workloads.items()}
                rows.append(Row(operation, dict(compare(runs, ops))))
            print(render(f"{library}: adapter vs raw client", rows, baseline="raw"))
            print(flush=True)


if __name__ == "__main__":
    main()
