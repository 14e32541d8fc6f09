"""Value rules shared by every backend (CONTRACT.md, "Values").

Any picklable object can be stored, and comes back equal with its type. A
value that cannot be pickled is refused with ``TypeError`` before anything
is stored.
"""

from __future__ import annotations

import pickle
from typing import Any

__all__ = ["Pickled", "pickled"]


def pickled(value: Any) -> bytes:
    """``value`` pickled with the highest protocol, as stored by a copying
    or remote backend.

    :raises TypeError: ``value`` cannot be pickled (the message names its
        type and the reason).
    """
    try:
        return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # PicklingError, TypeError, AttributeError...
        raise TypeError(f"cannot cache a {type(value).__name__}: {exc}") from exc


class Pickled(bytes):
    """A value stored by ``MemoryCache(copy_values=True)``: its pickle,
    unpickled afresh on every read."""
