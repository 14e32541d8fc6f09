"""What the caching patterns do, as events: a small API for metrics and logs.

``Cached`` (and so regions and the decorators) emits:

=================  ===========================================================
``hit``            a read found a fresh value
``miss``           a read found nothing (a creator or a wait follows)
``stale_served``   a stale value was returned (stale-while-revalidate)
``created``        a creator ran and returned (``seconds``: how long it took)
``create_failed``  a creator raised (``seconds``, ``error``)
``waited``         a caller waited for another's creator (``seconds`` waited)
``wait_timeout``   that wait ran out (``seconds`` waited); the caller creates
=================  ===========================================================

Each :class:`Event` carries the key, the namespace (a region's name for a
region) and the durations where they apply. Listen to every ``Cached`` with
:func:`subscribe`, or to one with ``cached.subscribe``. A listener runs in the
caller's thread, after the work it reports; an exception it raises is logged
and never reaches the caller. With no listener, the patterns test one list
per call and build no event.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["EVENTS", "Event", "Listener", "subscribe", "unsubscribe"]

logger = logging.getLogger(__name__)

#: The names of the events.
EVENTS = ("hit", "miss", "stale_served", "created", "create_failed", "waited", "wait_timeout")


@dataclass(frozen=True, slots=True)
class Event:
    """One thing a ``Cached`` did.

    :param name: one of :data:`EVENTS`.
    :param key: the item's key.
    :param namespace: the ``Cached``'s namespace, or the region's name.
    :param seconds: the creator's run (``created``, ``create_failed``) or the
        wait (``waited``, ``wait_timeout``), in seconds; else ``None``.
    :param error: the creator's exception (``create_failed``).
    """

    name: str
    key: Any
    namespace: str | None
    seconds: float | None = None
    error: BaseException | None = None


Listener = Callable[[Event], object]

#: Listeners of every ``Cached``.
_listeners: list[Listener] = []
#: Non-empty while any listener, global or of one ``Cached``, exists: the
#: patterns' one test per call (a list, so that its truth is read in C).
LISTENING: list[bool] = []
_lock = threading.Lock()
_local_count = 0


def subscribe(listener: Listener) -> Callable[[], None]:
    """Call ``listener(event)`` for every event of every ``Cached``.

    :returns: a function that unsubscribes it.
    """
    with _lock:
        _listeners.append(listener)
        _update()
    return lambda: unsubscribe(listener)


def unsubscribe(listener: Listener) -> None:
    """Stop calling ``listener`` (nothing if it is not subscribed)."""
    with _lock:
        if listener in _listeners:
            _listeners.remove(listener)
        _update()


def _local(delta: int) -> None:
    """A ``Cached``'s own listeners came (+1) or went (-1)."""
    global _local_count
    with _lock:
        _local_count += delta
        _update()


def _update() -> None:
    if _listeners or _local_count:
        if not LISTENING:
            LISTENING.append(True)
    else:
        LISTENING.clear()


def has_global_listeners() -> bool:
    """Whether :func:`subscribe` has listeners now."""
    return bool(_listeners)


def emit(own: list[Listener], event: Event) -> None:
    """Hand ``event`` to every global listener and to ``own`` (a ``Cached``'s)."""
    for listener in (*_listeners, *own):
        try:
            listener(event)
        except Exception:
            logger.exception("caching event listener %r failed on %s", listener, event.name)
