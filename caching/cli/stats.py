"""``python -m caching stats URL``: what each memcached behind a URL is doing.

For each server: memcached's own counters (its ``stats`` command, on a
connection of its own): get hits and misses and the hit ratio, evictions,
memory used and its limit, current items, connections and uptime. With
``--watch SECONDS`` the table is shown again every SECONDS, with the hits,
misses and evictions since the last one. A proxy (twemproxy) answers
``version`` but does not forward ``stats``: it is named as such, with where
its own counters are. In-process backends (``memory://``) have no server.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from caching.adapters.health import round_trip, server_stats
from caching.cli.connect import CONNECT_TIMEOUT, server_addresses, unreachable
from caching.cli.errors import EXIT_OK, EXIT_USAGE, CliError

__all__ = ["COLUMNS", "add_parser", "read", "run"]

#: What a proxy that answers ``version`` but not ``stats`` is told to try.
PROXY_NOTE = (
    "answers memcached's version but not its stats: a proxy such as twemproxy, "
    "which does not forward stats (its own counters are on its stats port, "
    "nutcracker -s, 22222 by default)"
)


def _ratio(stats: dict[str, str]) -> str:
    hits, misses = int(stats.get("get_hits", 0)), int(stats.get("get_misses", 0))
    return f"{hits / (hits + misses):.1%}" if hits + misses else "-"


def _memory(stats: dict[str, str]) -> str:
    used, limit = int(stats.get("bytes", 0)), int(stats.get("limit_maxbytes", 0))
    return f"{used / 2**20:.1f}/{limit / 2**20:.0f} MiB"


#: ``(heading, value of the stats)`` of each column of the table.
COLUMNS: tuple[tuple[str, Callable[[dict[str, str]], str]], ...] = (
    ("hit ratio", _ratio),
    ("get hits", lambda s: s.get("get_hits", "-")),
    ("get misses", lambda s: s.get("get_misses", "-")),
    ("evictions", lambda s: s.get("evictions", "-")),
    ("memory", _memory),
    ("items", lambda s: s.get("curr_items", "-")),
    ("connections", lambda s: s.get("curr_connections", "-")),
    ("uptime s", lambda s: s.get("uptime", "-")),
)


def read(url: str) -> dict[str, dict[str, str] | str]:
    """Each server of ``url`` -> its stats, or a note saying why there are none.

    :raises CliError: ``url`` is not a ``memcached://`` URL (exit 2), or a
        server cannot be reached (exit 3, one line naming it).
    """
    try:
        addresses = server_addresses(url)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    if not addresses:
        raise CliError(f"{url} has no server to ask (stats needs a memcached:// URL)", EXIT_USAGE)
    found: dict[str, dict[str, str] | str] = {}
    for address in addresses:
        stats = server_stats(address, CONNECT_TIMEOUT)
        if stats is not None:
            found[address] = stats
        elif round_trip(address, CONNECT_TIMEOUT) is not None:
            found[address] = PROXY_NOTE
        else:
            raise unreachable(address)
    return found


def _table(found: dict[str, dict[str, str] | str], before: dict[str, Any] | None) -> str:
    headings = ["server", *(heading for heading, _ in COLUMNS)]
    rows = []
    notes = []
    for address, stats in found.items():
        if isinstance(stats, str):
            notes.append(f"{address}: {stats}")
            continue
        row = [address, *(value(stats) for _, value in COLUMNS)]
        earlier = (before or {}).get(address)
        if isinstance(earlier, dict):
            for column, name in ((2, "get_hits"), (3, "get_misses"), (4, "evictions")):
                row[column] += f" (+{int(stats.get(name, 0)) - int(earlier.get(name, 0))})"
        rows.append(row)
    widths = [max(len(line[i]) for line in [headings, *rows]) for i in range(len(headings))]
    lines = (
        [
            "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
            for line in [headings, *rows]
        ]
        if rows
        else []
    )
    return "\n".join([*lines, *notes])


def run(args: argparse.Namespace) -> int:
    """Print the table (or JSON) once, or every ``--watch`` seconds."""
    before: dict[str, Any] | None = None
    shown = 0
    while True:
        found = read(args.url)
        if args.json:
            print(json.dumps({"url": args.url, "servers": found}, indent=2))
        else:
            print(f"caching stats {args.url}  ({time.strftime('%H:%M:%S')})")
            print(_table(found, before))
        shown += 1
        if args.watch is None or (args.count is not None and shown >= args.count):
            return EXIT_OK
        before = found
        time.sleep(args.watch)


def add_parser(commands: Any) -> None:
    """Add the ``stats`` command to the ``python -m caching`` parser."""
    parser = commands.add_parser(
        "stats",
        help="show what each memcached behind a URL is doing",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    parser.add_argument("url", help="cache URL, e.g. memcached://127.0.0.1:11211")
    parser.add_argument("--json", action="store_true", help="print the stats as JSON")
    parser.add_argument(
        "--watch", type=float, metavar="SECONDS", help="show them again every SECONDS"
    )
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)  # --watch rounds (tests)
    parser.set_defaults(run=run)
