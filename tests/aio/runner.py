"""The contract suite's one copy, run on async backends: a thin sync facade.

:class:`LoopThread` runs an event loop in a thread of its own;
:class:`Blocking` turns each call of the sync contract into the async
backend's coroutine of that name, run on that loop, and returns its answer
(or raises its exception) to the calling thread. Threads calling one facade
at once run their coroutines concurrently in the one loop, so the suite's
concurrency tests are concurrency in one event loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

#: The calls of the contract (caching.contract.Cache).
CALLS = frozenset(
    {
        "set",
        "add",
        "replace",
        "set_multi",
        "add_multi",
        "replace_multi",
        "get",
        "get_multi",
        "delete",
        "delete_multi",
        "incr",
        "decr",
        "ping",
        "flush_all",
    }
)


class LoopThread:
    """An event loop running in a daemon thread until :meth:`stop`."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="aio-loop", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        # A frame of this module between the loop and threading's: freezegun
        # takes the real time for a caller within 5 frames of a `threading`
        # frame, and a compiled MemoryCache adds no frame of its own, so the
        # loop's coroutines would otherwise read the real clock.
        self.loop.run_forever()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run ``coroutine`` on the loop and wait for its answer."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class Blocking:
    """A sync :class:`~caching.contract.Cache` over an async backend: each
    contract call runs the coroutine of its name on ``runner``'s loop.
    Anything else (``servers``, ``failures``...) is the backend's attribute."""

    def __init__(self, backend: Any, runner: LoopThread) -> None:
        self.backend = backend
        self.runner = runner

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.backend, name)
        if name not in CALLS:
            return attribute
        method: Callable[..., Coroutine[Any, Any, Any]] = attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            return self.runner.run(method(*args, **kwargs))

        return call
