"""A small timing harness shared by the benchmarks.

Each measurement runs a closure that performs ``ops`` operations, several
times with the garbage collector off, and keeps the best run: the figure least
disturbed by the rest of the machine. In-process work is timed on the thread's
CPU clock (``clock="cpu"``), which other processes on a busy machine do not
inflate; anything that waits on a server must use ``clock="wall"``. Tables
print nanoseconds per operation and, for each peer, how many times slower than
``caching`` it is (``2.0x`` means caching is twice as fast).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from caching.cli.timing import best_in_turns

__all__ = ["Row", "compare", "render"]


def compare(
    runs: dict[str, Callable[[], object]], ops: int, repeat: int = 9, clock: str = "wall"
) -> dict[str, float]:
    """Best ns per operation of each of ``runs``, each performing ``ops`` operations.

    Timed in turns by :func:`caching.cli.timing.best_in_turns` (the method
    ``python -m caching bench`` uses): each round times every implementation
    once, back to back, so that a burst of load falls on all of them.

    :param clock: ``"wall"`` (elapsed) or ``"cpu"`` (the thread's CPU time,
        for purely in-process work on a loaded machine).
    """
    best = best_in_turns(runs, 1, rounds=repeat, clock=clock)
    return {name: elapsed / ops for name, elapsed in best.items()}


@dataclass
class Row:
    """One operation measured on several implementations (ns/op; None = n/a)."""

    operation: str
    timings: dict[str, float | None] = field(default_factory=dict)


def render(title: str, rows: Sequence[Row], baseline: str = "caching") -> str:
    """A Markdown table of ``rows`` with each peer's ratio to ``baseline``."""
    names = list(dict.fromkeys(name for row in rows for name in row.timings))
    peers = [name for name in names if name != baseline]
    header = ["operation", f"{baseline} ns/op"]
    for peer in peers:
        header += [f"{peer} ns/op", f"{peer} / {baseline}"]
    lines = [f"### {title}", "", _line(header), _line(["---"] * len(header))]
    for row in rows:
        base = row.timings.get(baseline)
        cells = [row.operation, _ns(base)]
        for peer in peers:
            other = row.timings.get(peer)
            ratio = f"{other / base:.2f}x" if other and base else "n/a"
            cells += [_ns(other), ratio]
        lines.append(_line(cells))
    return "\n".join(lines)


def _ns(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _line(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"
