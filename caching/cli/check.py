"""``python -m caching check URL``: does a live set-up honour the contract?

Each rule of CONTRACT.md that a server or proxy can break is probed through
the contract calls of the adapter the URL chooses, on keys of its own
(``caching-cli:...``), which it deletes. ``flush_all`` drops every item on
the server, so it is probed only with ``--flush``. The probes are
:data:`caching.testing.probes.RULES`, which the contract suite runs too
("values" reads back each value type under the configured serializer).
A memcached URL also gets the "foreign pickle" probe
(:mod:`caching.testing.security`): ``ok`` when an unsigned pickle written by
another host is refused, ``warn`` (not a failure) with plain pickle.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from caching.cli.connect import open_reached
from caching.cli.errors import EXIT_FAILED, EXIT_OK
from caching.testing.probes import RULES, Outcome, run_rules
from caching.testing.security import foreign_pickle

__all__ = ["RULES", "add_parser", "run"]


def _print_report(url: str, reached: str, outcomes: list[Outcome]) -> None:
    print(f"caching check {url}")
    print(f"ping: {reached}")
    for outcome in outcomes:
        print(f"  {outcome.status:<4}  {outcome.rule:<15} {outcome.detail}")
    failed = [outcome.rule for outcome in outcomes if outcome.status == "FAIL"]
    refused = [outcome.rule for outcome in outcomes if outcome.status == "no"]
    warned = [outcome.rule for outcome in outcomes if outcome.status == "warn"]
    held = sum(outcome.status == "ok" for outcome in outcomes)
    summary = f"{held} rules hold, {len(failed)} failed" + (
        f": {', '.join(failed)}" if failed else ""
    )
    summary += f"; refused here: {', '.join(refused)}" if refused else ""
    print(summary + (f"; warnings: {', '.join(warned)}" if warned else ""))


def run(args: argparse.Namespace) -> int:
    """Probe ``args.url`` and print one line per rule (or JSON)."""
    cache, reached = open_reached(args.url)
    security = foreign_pickle(cache)  # before flush_all can break a connection
    outcomes = run_rules(cache, flush=args.flush)
    if security is not None:
        outcomes.append(security)
    if args.json:
        rules = [dataclasses.asdict(outcome) for outcome in outcomes]
        report = {"url": args.url, "ping": cache.ping(), "rules": rules}
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        _print_report(args.url, reached, outcomes)
    return EXIT_FAILED if any(outcome.status == "FAIL" for outcome in outcomes) else EXIT_OK


def add_parser(commands: Any) -> None:
    """Add the ``check`` command to the ``python -m caching`` parser."""
    parser = commands.add_parser(
        "check",
        help="probe a live server or proxy against the contract",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    parser.add_argument("url", help="cache URL, e.g. memcached://127.0.0.1:11211?client=pymemcache")
    parser.add_argument(
        "--flush", action="store_true", help="also probe flush_all (drops every item!)"
    )
    parser.add_argument("--json", action="store_true", help="print the outcomes as JSON")
    parser.set_defaults(run=run)
