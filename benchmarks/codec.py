"""The cost of the value format settings on each memcached adapter, on one
loopback memcached: signing (``secret=``) and the data-only serializers
(``json``, ``msgpack``) against the default (unsigned pickle).

Run: ``python -m benchmarks.codec [--ops N] [--rounds N] [--runs N]
[--library NAME] [--server HOST:PORT]``. For each library: ``get`` of a hit
and ``set``, of a 100-byte ``bytes`` value (signing's cost alone: every
serializer stores bytes as they are) and of a small dict (about 100 bytes
pickled: the serializers' cost). Modes are timed in turns, best of
``--rounds`` short runs of ``--ops`` keys, on the wall clock (what a caller
waits; target for signing: at most 1.15x unsigned) and on the thread's CPU
clock. ``--runs N`` repeats the whole comparison and prints the median ratio
with the range.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from benchmarks.adapters import LIBRARIES, TIMEOUT, _server
from benchmarks.harness import compare
from caching.adapters import adapter_class

BYTES = b"v" * 100
RECORD = {"id": 12345, "name": "A. N. Other", "email": "other@example.com", "tags": ["a", "b"]}

MODES: dict[str, dict[str, Any]] = {
    "pickle": {},
    "pickle+secret": {"secret": "benchmark-secret"},
    "json": {"serializer": "json"},
    "json+secret": {"serializer": "json", "secret": "benchmark-secret"},
    "msgpack": {"serializer": "msgpack"},
}


def _adapter(library: str, address: str, settings: dict[str, Any]) -> Any:
    return adapter_class(library).build(address, timeout=TIMEOUT, **settings)


def _workload(cache: Any, keys: list[str], value: Any) -> dict[str, Callable[[], object]]:
    def get() -> None:
        for key in keys:
            cache.get(key)

    def set_() -> None:
        for key in keys:
            cache.set(key, value)

    return {"get": get, "set": set_}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.codec")
    parser.add_argument("--ops", type=int, default=300, help="keys per run (default 300)")
    parser.add_argument("--server", help="use this memcached (host:port) instead of starting one")
    parser.add_argument("--rounds", type=int, default=40, help="runs of each, best kept")
    parser.add_argument("--runs", type=int, default=1, help="repeat; print median and range")
    parser.add_argument("--library", action="append", choices=LIBRARIES)
    args = parser.parse_args(argv)
    with _server(args.server) as address:
        for library in args.library or LIBRARIES:
            print(f"### {library}: ns/op, and each mode / pickle (wall; CPU)\n")
            print("| value | operation | " + " | ".join(MODES) + " |")
            print("| --- | --- |" + " ---: |" * len(MODES))
            for label, value in (("bytes 100", BYTES), ("dict", RECORD)):
                works = {}
                for mode, settings in MODES.items():
                    cache = _adapter(library, address, settings)
                    keys = [f"bench:codec:{mode}:{i}" for i in range(args.ops)]
                    assert cache.set_multi(dict.fromkeys(keys, value)) == []
                    works[mode] = _workload(cache, keys, value)
                for operation in ("get", "set"):
                    runs = {mode: work[operation] for mode, work in works.items()}
                    results = [
                        (
                            compare(runs, args.ops, args.rounds, clock="wall"),
                            compare(runs, args.ops, args.rounds, clock="cpu"),
                        )
                        for _ in range(args.runs)
                    ]
                    cells = []
                    for mode in MODES:
                        wall = sorted(r[0][mode] / r[0]["pickle"] for r in results)
                        cpu = sorted(r[1][mode] / r[1]["pickle"] for r in results)
                        median = sorted(results, key=lambda r: r[0][mode] / r[0]["pickle"])
                        ns = median[(len(median) - 1) // 2][0][mode]
                        spread = f" ({wall[0]:.2f}-{wall[-1]:.2f})" if len(results) > 1 else ""
                        mid = (len(wall) - 1) // 2
                        cells.append(f"{ns:,.0f} ({wall[mid]:.2f}x{spread}; {cpu[mid]:.2f}x)")
                    print(f"| {label} | {operation} | " + " | ".join(cells) + " |")
            print(flush=True)


if __name__ == "__main__":
    main()
