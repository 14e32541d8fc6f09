"""``python -m caching bench``: time the contract on a backend, beside its peers.

Every operation runs ``--ops`` times, best of three runs, on caching's
backend for ``--url`` and -- when installed -- on wheezy.caching,
dogpile.cache and cachetools against the same kind of store. The table gives
microseconds per operation and, for each peer, the ratio caching / peer
(below 1: caching is faster). Progress goes to stderr, results to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from caching.cli.connect import DEFAULT_URL, open_cache, server_addresses
from caching.cli.errors import EXIT_FAILED, EXIT_OK, CliError
from caching.cli.peers import VALUE, Keys, Ops, contract_ops, peer_subjects
from caching.cli.timing import per_call

__all__ = ["add_parser", "measure", "run"]

#: Default ``--ops`` for an in-process store and for a server.
IN_PROCESS_OPS = 20_000
SERVER_OPS = 2_000

Results = dict[str, dict[str, float]]


def _progress(done: int, total: int, label: str) -> None:
    end = "\r" if sys.stderr.isatty() else "\n"
    print(f"bench: [{done}/{total}] {label}".ljust(60), end=end, file=sys.stderr, flush=True)


def measure(
    subjects: dict[str, Ops], ops: int, quiet: bool = False
) -> tuple[Results, dict[str, str]]:
    """Time every operation of every subject.

    A subject whose stored item does not read back (a server failing under
    it), or that raises, is dropped with the reason.

    :param subjects: subject name -> operation name -> call.
    :param ops: calls per run.
    :param quiet: no progress on stderr.
    :returns: (subject name -> operation name -> microseconds per call,
        subject name -> why it was dropped).
    """
    total = sum(len(calls) for calls in subjects.values())
    results: Results = {}
    dropped: dict[str, str] = {}
    done = 0
    for subject, calls in subjects.items():
        try:
            if calls["get (hit)"]() != VALUE:
                raise ValueError("a stored item did not read back")
            timed = {}
            for number, (name, call) in enumerate(calls.items(), done + 1):
                if not quiet:
                    _progress(number, total, f"{subject}: {name}")
                timed[name] = per_call(call, ops) * 1e6
            results[subject] = timed
        except Exception as exc:  # a failing peer must not stop the others
            dropped[subject] = f"{type(exc).__name__}: {exc}"
        done += len(calls)
    if not quiet and sys.stderr.isatty():
        print(file=sys.stderr)
    return results, dropped


def _ratios(results: Results) -> dict[str, dict[str, float]]:
    ours = results["caching"]
    return {
        peer: {name: ours[name] / micros for name, micros in timed.items() if name in ours}
        for peer, timed in results.items()
        if peer != "caching"
    }


def _table(url: str, ops: int, results: Results, dropped: dict[str, str]) -> str:
    peers = [name for name in results if name != "caching"]
    ratios = _ratios(results)
    lines = [
        f"caching bench {url}: {ops} ops per run, best of 3, microseconds per op",
        "(peer columns: peer's time and caching/peer; below 1 caching is faster)",
        f"{'operation':<16}{'caching':>10}" + "".join(f"{peer:>24}" for peer in peers),
    ]
    for name, micros in results["caching"].items():
        cells = [
            f"{results[peer][name]:>12.2f} x{ratios[peer][name]:<9.2f}"
            if name in results[peer]
            else f"{'-':>12}{'':10}"
            for peer in peers
        ]
        lines.append(f"{name:<16}{micros:>10.2f}" + "".join(f"{cell:>24}" for cell in cells))
    lines.extend(f"{name}: left out, {why}" for name, why in dropped.items())
    if not peers and not dropped:
        lines.append("(no peer installed: pip install wheezy.caching dogpile.cache cachetools)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Benchmark ``args.url`` and print the table (or JSON)."""
    cache = open_cache(args.url)
    servers = server_addresses(args.url)
    ops = args.ops or (SERVER_OPS if servers else IN_PROCESS_OPS)
    peers, dropped = peer_subjects(args.url, servers)
    subjects = {"caching": contract_ops(cache, Keys.make("caching")), **peers}
    results, failed = measure(subjects, ops, quiet=args.quiet)
    if "caching" in failed:
        raise CliError(f"the benchmark failed on {args.url}: {failed['caching']}", EXIT_FAILED)
    dropped.update(failed)
    if args.json:
        report: dict[str, Any] = {
            "url": args.url,
            "ops": ops,
            "unit": "us/op",
            "results": results,
            "ratios": _ratios(results),
            "left_out": dropped,
        }
        print(json.dumps(report, indent=2))
    else:
        print(_table(args.url, ops, results, dropped))
    return EXIT_OK


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of operations, got {text!r}")
    return value


def add_parser(commands: Any) -> None:
    """Add the ``bench`` command to the ``python -m caching`` parser."""
    parser = commands.add_parser(
        "bench", help="time the contract operations, beside installed peers", description=__doc__
    )
    parser.add_argument("--url", default=DEFAULT_URL, help=f"cache URL (default {DEFAULT_URL})")
    parser.add_argument(
        "--ops",
        type=_positive,
        help=f"calls per run (default {IN_PROCESS_OPS} in-process, {SERVER_OPS} on a server)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(run=run)
