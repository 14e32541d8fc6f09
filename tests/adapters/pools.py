"""Foreign pools for the adapter tests (pools the adapters did not build)."""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any


class EagerPool:
    """A wheezy-style pool (wheezy.core.pooling's ``EagerPool``): ``size``
    clients made up front, handed out by ``acquire`` (which waits while all
    are out) and taken back by ``get_back``."""

    def __init__(self, create: Callable[[], Any], size: int) -> None:
        self.items: queue.LifoQueue[Any] = queue.LifoQueue()
        for _ in range(size):
            self.items.put(create())

    def acquire(self) -> Any:
        return self.items.get(timeout=10)

    def get_back(self, item: Any) -> None:
        self.items.put(item)
