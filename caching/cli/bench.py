"""``python -m caching bench``: time the contract and the patterns, beside the peers.

Every operation -- the contract calls, and hits through ``@cached`` and
``get_or_create`` -- runs ``--ops`` times, best of five runs, on caching's
backend for ``--url`` and -- when installed -- on wheezy.caching,
dogpile.cache, cachetools and Django's cache against the same kind of store,
the libraries timed in turns. The value stored is a small record
(:data:`caching.cli.peers.VALUE`), and a short str for ``set (str)``; the
counter of ``incr (expiring)`` has an expiry. The Markdown table gives
nanoseconds per operation and, for each peer, peer / caching (``2.00x``:
caching is twice as fast). In-process stores are timed on the CPU clock,
servers on the wall clock. Progress goes to stderr, results to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from caching.cli.connect import DEFAULT_URL, open_cache, server_addresses
from caching.cli.errors import EXIT_FAILED, EXIT_OK, CliError
from caching.cli.peers import VALUE, Keys, Ops, contract_ops, pattern_ops, peer_subjects
from caching.cli.timing import CallFailedError, best_in_turns
from caching.patterns import Cached

__all__ = ["add_parser", "measure", "run"]

#: Default ``--ops`` for an in-process store and for a server.
IN_PROCESS_OPS = 20_000
SERVER_OPS = 2_000

#: Runs of each operation; the best is kept.
ROUNDS = 5

Results = dict[str, dict[str, float]]


def _progress(done: int, total: int, label: str) -> None:
    end = "\r" if sys.stderr.isatty() else "\n"
    print(f"bench: [{done}/{total}] {label}".ljust(60), end=end, file=sys.stderr, flush=True)


def _working(subjects: dict[str, Ops]) -> tuple[dict[str, Ops], dict[str, str]]:
    """The subjects whose stored item reads back; the others with the reason."""
    working, dropped = {}, {}
    for subject, calls in subjects.items():
        try:
            answer = calls["get (hit)"]()
        except Exception as exc:
            answer = exc
        if answer == VALUE:
            working[subject] = calls
        else:
            dropped[subject] = f"a stored item did not read back (got {answer!r:.60})"
    return working, dropped


def measure(
    subjects: dict[str, Ops], ops: int, clock: str = "wall", quiet: bool = False
) -> tuple[Results, dict[str, str]]:
    """Time every operation of every subject, the subjects in turns.

    A subject whose stored item does not read back (a server failing under
    it), or that raises, is left out with the reason.

    :param subjects: subject name -> operation name -> call.
    :param ops: calls per run (best of :data:`ROUNDS` runs).
    :param clock: ``"cpu"`` for in-process stores, ``"wall"`` for servers.
    :param quiet: no progress on stderr.
    :returns: (subject name -> operation name -> nanoseconds per call,
        subject name -> why it was left out).
    """
    subjects, dropped = _working(subjects)
    names = list(dict.fromkeys(name for calls in subjects.values() for name in calls))
    results: Results = {subject: {} for subject in subjects}
    for number, name in enumerate(names, 1):
        if not quiet:
            _progress(number, len(names), name)
        calls = {s: c[name] for s, c in subjects.items() if name in c and s not in dropped}
        while calls:
            try:
                timed = best_in_turns(calls, ops, ROUNDS, clock)
            except CallFailedError as exc:  # a failing store must not stop the others
                dropped[exc.name] = exc.reason
                del calls[exc.name]
                continue
            for subject, nanos in timed.items():
                results[subject][name] = nanos
            break
    if not quiet and sys.stderr.isatty():
        print(file=sys.stderr)
    return {s: r for s, r in results.items() if s not in dropped}, dropped


def _ratios(results: Results) -> dict[str, dict[str, float]]:
    ours = results["caching"]
    return {
        peer: {name: nanos / ours[name] for name, nanos in timed.items() if name in ours}
        for peer, timed in results.items()
        if peer != "caching"
    }


def _table(url: str, ops: int, results: Results, dropped: dict[str, str]) -> str:
    """A Markdown table: ns per operation, and each peer's time / caching's."""
    peers = [name for name in results if name != "caching"]
    ratios = _ratios(results)
    header = ["operation", "caching ns/op"]
    for peer in peers:
        header += [f"{peer} ns/op", f"{peer} / caching"]
    lines = [
        f"caching bench {url}: best of {ROUNDS} runs of {ops} ops "
        "(peer / caching above 1: caching is faster)",
        "",
        _row(header),
        _row(["---"] * len(header)),
    ]
    for name, nanos in results["caching"].items():
        cells = [name, f"{nanos:,.0f}"]
        for peer in peers:
            other = results[peer].get(name)
            cells += (
                ["n/a", "n/a"] if other is None else [f"{other:,.0f}", f"{ratios[peer][name]:.2f}x"]
            )
        lines.append(_row(cells))
    lines.extend(f"\n{name}: left out, {why}" for name, why in dropped.items())
    if not peers and not dropped:
        lines.append(
            "\n(no peer installed: pip install wheezy.caching dogpile.cache cachetools django)"
        )
    return "\n".join(lines)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def run(args: argparse.Namespace) -> int:
    """Benchmark ``args.url`` and print the table (or JSON)."""
    cache = open_cache(args.url)
    servers = server_addresses(args.url)
    ops = args.ops or (SERVER_OPS if servers else IN_PROCESS_OPS)
    peers, dropped = peer_subjects(args.url, servers)
    keys = Keys.make("caching")
    ours = {**contract_ops(cache, keys), **pattern_ops(Cached, cache, keys)}
    subjects = {"caching": ours, **peers}
    clock = "wall" if servers else "cpu"
    results, failed = measure(subjects, ops, clock, quiet=args.quiet)
    if "caching" in failed:
        raise CliError(f"the benchmark failed on {args.url}: {failed['caching']}", EXIT_FAILED)
    dropped.update(failed)
    if args.json:
        report: dict[str, Any] = {
            "url": args.url,
            "ops": ops,
            "clock": clock,
            "unit": "ns/op",
            "results": results,
            "ratios": _ratios(results),
            "ratio": "peer / caching (above 1: caching is faster)",
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
