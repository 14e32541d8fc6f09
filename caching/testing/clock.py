"""The time a backend under test sees, for the contract suite and the probes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["REAL_CLOCK", "Clock"]


@dataclass(frozen=True)
class Clock:
    """How a test reads and moves time.

    :param now: the current Unix time in seconds (``float``).
    :param advance: let ``seconds`` pass: a real sleep, or a tick of a
        frozen clock (e.g. ``freezegun``'s ``frozen.tick``) for an
        in-process backend.
    :param frozen: time moves only through ``advance``, so the suite can
        check expiry to the exact second (a server keeps its own clock).
    """

    now: Callable[[], float]
    advance: Callable[[float], None]
    frozen: bool = False


#: Real time: :func:`time.time` and :func:`time.sleep`, the only clock a
#: server backend can be tested with (a server keeps its own time).
REAL_CLOCK = Clock(now=time.time, advance=time.sleep)
