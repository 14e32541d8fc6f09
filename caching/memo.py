"""``Memo``: a bounded memo of a pure function of a key, read at C speed.

The key checks are pure: the same key always gives the same answer. Where
they sit on a hot path (each call of an adapter, each hit of a decorated
function), their answers are remembered, so a key seen before costs one dict
lookup in C (docs/PERFORMANCE.md, "Keys remembered").
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

__all__ = ["Memo"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(dict[K, V]):
    """``memo[key]`` is ``compute(key)``, remembered.

    :param compute: a pure function of the key; an exception it raises goes
        to the caller and nothing is remembered (an invalid key raises each
        time).
    :param size: most answers remembered; the memo then starts over.
    """

    __slots__ = ("compute", "size")

    def __init__(self, compute: Callable[[K], V], size: int = 4096) -> None:
        super().__init__()
        self.compute = compute
        self.size = size

    def __missing__(self, key: K) -> V:
        value = self.compute(key)
        if len(self) >= self.size:
            self.clear()
        self[key] = value
        return value
