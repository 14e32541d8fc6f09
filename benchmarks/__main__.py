"""Run every benchmark, one after the other: ``python -m benchmarks``."""

from __future__ import annotations

import importlib
import sys

SUITES = (
    "benchmarks.core",
    "benchmarks.adapters",
    "benchmarks.codec",
    "benchmarks.patterns",
    "benchmarks.swr",
)


def main() -> None:
    for name in SUITES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        print(f"\n## {name}\n", flush=True)
        module.main(sys.argv[1:])


if __name__ == "__main__":
    main()
