"""``OnePass``: the thundering-herd guard, built on the contract's atomic ``add``.

The first caller to ``add`` the pass key holds the pass; everybody else waits
for it to go away, or, when told the key the pass guards, for that key's
value. ``add`` decides once across every thread and every process that shares
the cache (a memcached), so exactly one caller does the work.

How waiters learn that the pass is over (wheezy.caching polls with a backoff
up to 0.8 s, so its waiters arrive about 150 ms late for a 200 ms creator):

- in the holder's own process, waiters block on an event that the holder sets
  when it leaves the pass: no polling, they wake at once;
- in other processes, waiters poll every :data:`POLL_INTERVAL` seconds (5 ms),
  reading the pass key and the guarded key in one ``get_multi``: they return as
  soon as the value is there, even while the pass is still held.

A holder leaves the pass by deleting its key, only while the key still holds
this holder's marker (read just before: the contract has no conditional
delete, so a pass that expires in the instant between the read and the
``delete`` can still be removed); a release that the cache does not confirm is
tried again for up to :data:`RELEASE_RETRY_SECONDS`, then logged (at most once
per :data:`RELEASE_LOG_PERIOD`) and the pass is left to expire. Waiters in
this process never wait on such a pass: they are woken as usual, and one that
meets the pass later deletes it itself. A process forked while a pass is held
starts with an empty registry of passes and polls like any other process.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
import time as _time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from types import TracebackType
from typing import Any, Generic, TypeVar

from caching.contract import Cache
from caching.expiry import Time, lifetime, seconds
from caching.key_rules import Key
from caching.patterns.key_builders import is_valid
from caching.steps import Steps, run

__all__ = [
    "POLL_INTERVAL",
    "RELEASE_LOG_PERIOD",
    "RELEASE_RETRY_SECONDS",
    "OnePass",
    "pass_key",
]

logger = logging.getLogger(__name__)

#: Seconds between two reads of the pass key by a waiter in another process.
POLL_INTERVAL = 0.005

#: Seconds during which a holder tries again to release a pass whose release
#: the cache did not confirm (first retry after 10 ms, then 20, 40, ...).
RELEASE_RETRY_SECONDS = 0.08

#: Seconds during which further unconfirmed releases are not logged again.
RELEASE_LOG_PERIOD = 60.0

_FIRST_RETRY_DELAY = 0.01

C = TypeVar("C")


def pass_key(prefix: str, key: Key) -> str:
    """The key of the one-pass guard of the item ``key``; distinct items get
    distinct pass keys.

    :param prefix: the start of every pass key (``Cached``'s ``key_prefix``,
        ``"one_pass:"`` by default).
    :param key: the item's key, ``str`` or ``bytes``, valid or not (a backend
        with a hashing ``key_encode`` takes any key).
    :returns: ``prefix + key``, wheezy.caching's pass key, when ``key`` is
        text (a ``str``, or ``bytes`` that decode as UTF-8: the same item as
        that ``str``, which shares its pass key), does not start with ``#``,
        and ``prefix + key`` is a valid key; otherwise ``prefix + "#" +`` the
        SHA-1 (hex) of the key's bytes tagged with their kind (text, bytes
        that are not UTF-8, a ``str`` that UTF-8 cannot encode). No key of the
        first form starts with ``prefix + "#"``, so ``b"k\\xff"`` and
        ``"k\\\\xff"`` get different pass keys (wheezy's backslash decoding
        gave them one). A prefix that leaves no room for the hash (over 209
        bytes) or is no valid key is dropped from the hashed form.
    """
    if isinstance(key, str):
        try:
            data = b"t" + key.encode("utf-8")
            text: str | None = key
        except UnicodeEncodeError:
            data, text = b"s" + key.encode("utf-8", "surrogatepass"), None
    else:
        try:
            text = key.decode("utf-8")
            data = b"t" + key
        except UnicodeDecodeError:
            data, text = b"b" + key, None
    if text is not None and not text.startswith("#"):
        direct = prefix + text
        if is_valid(direct):
            return direct
    digest = hashlib.sha1(data).hexdigest()
    hashed = f"{prefix}#{digest}"
    return hashed if is_valid(hashed) else f"#{digest}"


class _Holder:
    """The pass as held in this process: waiters here block on ``released``.

    ``orphaned`` is set when the holder left the pass without the cache
    confirming that its key is gone; ``expires`` is the ``time.monotonic()``
    after which the key has surely expired (the registry forgets it then).
    """

    __slots__ = ("expires", "marker", "orphaned", "pid", "released")

    def __init__(self, marker: str, life: float) -> None:
        self.marker = marker
        self.released = threading.Event()
        self.orphaned = False
        self.pid = os.getpid()
        # A second of margin: memcached's clock ticks in whole seconds.
        self.expires = _time.monotonic() + life + 1


_Slot = tuple[int, str | None, Key]

# (id(cache), namespace, key) -> the pass this process holds on that key, or
# left without a confirmed release (orphaned) and not yet expired.
_holders: dict[_Slot, _Holder] = {}
_holders_lock = threading.Lock()


def _forget_passes() -> None:
    """In a forked child: no thread of this process holds a pass (only the
    forking thread survives a fork), so start with an empty registry and a
    fresh lock; waiters poll the cache like any other process."""
    global _holders, _holders_lock
    _holders = {}
    _holders_lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_forget_passes)


class _RateLimitedLog:
    """Logs one WARNING per ``period`` seconds; counts the ones held back.

    :param period: seconds during which further reports are not logged.
    :param clock: monotonic time in seconds (replace it in tests).
    """

    def __init__(self, period: float, clock: Callable[[], float] = _time.monotonic) -> None:
        self.period = period
        self.clock = clock
        self._last: float | None = None
        self._held_back = 0
        self._lock = threading.Lock()

    def report(self, message: str, *args: object) -> bool:
        """Log ``message % args`` unless something was logged within the period.

        :returns: whether it was logged.
        """
        now = self.clock()
        with self._lock:
            if self._last is not None and now - self._last < self.period:
                self._held_back += 1
                return False
            self._last = now
            held_back, self._held_back = self._held_back, 0
        if held_back:
            message += " (%d more not logged since the last report)"
            args = (*args, held_back)
        logger.warning(message, *args)
        return True


_release_log = _RateLimitedLog(RELEASE_LOG_PERIOD)


def _release(
    cache: Cache,
    key: Key,
    namespace: str | None,
    marker: str,
    watch: list[Key] | None = None,
    watched: dict[Key, Any] | None = None,
) -> bool:
    """Delete the pass key if it still holds ``marker``, trying again for up
    to :data:`RELEASE_RETRY_SECONDS` while the cache does not confirm it.

    :param watch: keys read with the pass key in the first read (one
        ``get_multi``); what it found goes into ``watched``.
    :returns: ``True`` when the pass is known to be gone or to be another
        holder's (not deleted then); ``False`` when no answer confirmed it.
    """
    # The first try made directly (the calls of ``_release_steps``, which
    # the retries and the async pass run): no generators built on the
    # common path (docs/PERFORMANCE.md). The retry window starts before it.
    deadline = _time.monotonic() + RELEASE_RETRY_SECONDS
    if watch:
        found = cache.get_multi([key, *watch], namespace)
        if watched is not None:
            watched.update((k, found[k]) for k in watch if k in found)
        current = found.get(key)
    else:
        current = cache.get(key, namespace)
    if (current is not None and current != marker) or cache.delete(key, 0, namespace):
        return True
    delays = _retry_delays(deadline)
    next(delays)  # the first try's, made
    for delay in delays:
        _time.sleep(delay)
        if run(_release_steps(key, namespace, marker), cache):
            return True
    return False


def _retry_delays(deadline: float | None = None) -> Iterator[float]:
    """The waits of a release before each try: ``0`` (the first at once),
    then 10 ms, 20, 40... until :data:`RELEASE_RETRY_SECONDS` have passed
    since the first try (``deadline``, a ``time.monotonic()`` second, when
    the first try began before this was called) (shared by :class:`OnePass`
    and :class:`caching.aio.onepass.AsyncOnePass`)."""
    if deadline is None:
        deadline = _time.monotonic() + RELEASE_RETRY_SECONDS
    delay = _FIRST_RETRY_DELAY
    yield 0.0
    while (remaining := deadline - _time.monotonic()) > 0:
        yield min(delay, remaining)
        delay *= 2


def _polls(wait: float) -> Iterator[float]:
    """The seconds left before each poll of a waiter of ``wait`` seconds (a
    poll every :data:`POLL_INTERVAL`); ends when the wait is over. The count
    of polls bounds the wait even where ``monotonic()`` is frozen (tests)."""
    deadline = _time.monotonic() + wait
    for _ in range(max(1, math.ceil(wait / POLL_INTERVAL))):
        remaining = deadline - _time.monotonic()
        if remaining <= 0:
            return
        yield remaining


def _release_steps(
    key: Key,
    namespace: str | None,
    marker: str,
    watch: list[Key] | None = None,
    watched: dict[Key, Any] | None = None,
) -> Steps[bool]:
    """One try of a release, as steps (:mod:`caching.steps`): whether the
    pass is known gone or another holder's."""
    if watch:
        found = yield ("get_multi", ([key, *watch], namespace))
        if watched is not None:
            watched.update((k, found[k]) for k in watch if k in found)
        current = found.get(key)
    else:
        current = yield ("get", (key, namespace))
    if current is not None and current != marker:
        return True  # ours expired and another caller took it: not ours to delete
    # Ours, or unknown (a miss, or a read that failed): delete. ``False``
    # is a key already gone or a failure, which the contract does not tell
    # apart; so it is tried again, briefly.
    return bool((yield ("delete", (key, 0, namespace))))


class _PassBase(Generic[C]):
    """What :class:`OnePass` and :class:`caching.aio.onepass.AsyncOnePass`
    share: the pass's settings and state, and its read as steps."""

    __slots__ = ("_holder", "acquired", "cache", "guards", "key", "namespace", "time", "value")

    def __init__(
        self,
        cache: C,
        key: Key,
        time: Time = 10,
        namespace: str | None = None,
        guards: Key | None = None,
    ) -> None:
        self.cache = cache
        self.key = key
        self.time = lifetime(time)
        self.namespace = namespace
        self.guards = guards
        self.acquired = False
        #: The guarded key's value as ``wait`` last read it; ``None`` when
        #: it read none (the pass ended first) or there is no ``guards``.
        self.value: Any = None
        self._holder: Any = None

    def _read_steps(self) -> Steps[Any]:
        """Read the pass key (and the guarded key, in the same round trip);
        keep a guarded value in :attr:`value`; return the pass's marker."""
        if self.guards is None:
            marker = yield ("get", (self.key, self.namespace))
            return marker
        found = yield ("get_multi", ([self.guards, self.key], self.namespace))
        self.value = found.get(self.guards)
        return found.get(self.key)

    def _start_wait(self, timeout: float | timedelta | None) -> float:
        """Seconds a ``wait(timeout)`` waits; forget the value last read.

        :raises RuntimeError: this caller holds the pass itself.
        """
        if self.acquired:
            raise RuntimeError("wait() called by the holder of the pass")
        self.value = None
        return seconds(self.time if timeout is None else timeout)

    def _over(self, current: Any, expected: Any) -> bool:
        """Whether a waiter that read the pass's marker ``current`` (after
        ``expected`` first) is done: the pass is gone or another's, or the
        guarded value was read."""
        return current != expected or self.value is not None

    def __repr__(self) -> str:
        state = "acquired" if self.acquired else "not acquired"
        return f"<{type(self).__name__} {self.key!r} {state}>"


class OnePass(_PassBase[Cache]):
    """A solution to the thundering herd problem: one caller does the work.

    Typical use::

        with OnePass(cache, "one_pass:" + key, guards=key) as one_pass:
            if one_pass.acquired:
                ...  # create the value and store it under key
            elif one_pass.wait():
                value = one_pass.value or cache.get(key)  # the holder is done
            else:
                ...  # timed out: the holder is slow or gone

    The pass is an item stored with ``add(key, marker, time, namespace)``
    (``marker`` is a token unique to this pass), so it works across processes
    sharing a memcached. Leaving the ``with`` block deletes it, also when the
    body raises, so waiters wake at once. If the holder dies (SIGKILL) or its
    release fails, the item expires after ``time`` seconds; waiters that know
    the guarded key (``guards``) return as soon as its value is stored.

    :param cache: any backend of the contract.
    :param key: the pass key (not the key of the value it guards).
    :param time: how long the pass lives, ``int`` seconds or ``timedelta``,
        i.e. how long a dead holder blocks others; also the default wait.
    :param namespace: passed to every cache call.
    :param guards: the key of the value the holder creates, or ``None``. When
        given, :meth:`wait` also returns as soon as that key holds a value
        (read with the pass key in one ``get_multi``) and keeps it in
        :attr:`value`.
    """

    __slots__ = ("on_watched", "watch", "watched")

    def __init__(
        self,
        cache: Cache,
        key: Key,
        time: Time = 10,
        namespace: str | None = None,
        guards: Key | None = None,
    ) -> None:
        super().__init__(cache, key, time, namespace, guards)
        #: Keys the holder wants read after its work, with the pass key in
        #: the release's first read (one ``get_multi``); set by the holder
        #: before it leaves the pass. What was found is in :attr:`watched`.
        self.watch: list[Key] | None = None
        self.watched: dict[Key, Any] = {}
        #: Called with :attr:`watched` after that read, before waiters of
        #: this process are woken (``Cached`` deletes an item invalidated
        #: while it was built, so no waiter reads it).
        self.on_watched: Callable[[dict[Key, Any]], None] | None = None

    def _slot(self) -> _Slot:
        return (id(self.cache), self.namespace, self.key)

    def __enter__(self) -> OnePass:
        """Try to take the pass; ``acquired`` tells whether this caller holds it."""
        holder = _Holder(uuid.uuid4().hex, seconds(self.time))
        if self.cache.add(self.key, holder.marker, self.time, self.namespace):
            with _holders_lock:
                _holders[self._slot()] = holder
            self._holder = holder
            self.acquired = True
        return self

    def renew(self) -> bool:
        """Give the pass this caller holds a fresh life of ``time`` seconds
        (for work that starts later than the pass was taken: a queued job).

        :returns: whether this caller still holds the pass (its key held this
            pass's marker, or had expired and was taken again with it);
            ``False`` when another caller holds it now, or this one holds none.
        """
        holder: _Holder | None = self._holder
        if holder is None:
            return False
        current = self.cache.get(self.key, self.namespace)
        if current == holder.marker:
            return bool(self.cache.set(self.key, holder.marker, self.time, self.namespace))
        if current is None:
            return bool(self.cache.add(self.key, holder.marker, self.time, self.namespace))
        return False

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Release the pass if this caller holds it: delete its key if the key
        still holds this pass's marker (see the module's notes); a release
        that the cache does not confirm is retried briefly, then logged and
        left to expire. A forked child never releases its parent's pass."""
        holder: _Holder | None = self._holder
        if holder is None:
            return
        self._holder = None
        self.acquired = False
        if holder.pid != os.getpid():
            return  # the parent holds it (this object was copied by a fork)
        released = False
        try:
            watch, self.watch = self.watch, None
            released = _release(
                self.cache, self.key, self.namespace, holder.marker, watch, self.watched
            )
            if watch and self.on_watched is not None:
                self.on_watched(self.watched)
        finally:
            slot = self._slot()
            with _holders_lock:
                if _holders.get(slot) is holder:
                    if released:
                        del _holders[slot]
                    else:
                        holder.orphaned = True
                        _forget_expired(_time.monotonic())
            holder.released.set()
        if not released:
            _release_log.report(
                "one-pass %r: the cache did not confirm its release; "
                "waiters in other processes wait for the value or for the "
                "pass to expire (at most %s s)",
                self.key,
                seconds(self.time),
            )

    def _read(self) -> Any:
        return run(self._read_steps(), self.cache)

    def wait(self, timeout: float | timedelta | None = None) -> bool:
        """Wait until the pass held by another caller is over.

        :param timeout: seconds (``int``/``float``) or ``timedelta``; defaults
            to the pass's ``time``.
        :returns: ``True`` as soon as the pass is released, expires or passes
            to another holder, its holder in this process has left it (even
            where the cache did not confirm the release), or, with
            ``guards``, the guarded key holds a value (then in
            :attr:`value`); ``False`` when none of this happened within
            ``timeout``.
        :raises RuntimeError: this caller holds the pass itself.
        :raises InvalidKeyError: ``guards`` is not a valid key.
        """
        wait = self._start_wait(timeout)
        expected = self._read()
        if expected is None or self.value is not None:  # no pass, or the value is there
            return True
        for remaining in _polls(wait):
            holder = _holders.get(self._slot())
            if holder is not None and holder.marker == expected:
                return self._wait_for(holder, remaining)
            _time.sleep(min(POLL_INTERVAL, remaining))
            if self._over(self._read(), expected):
                return True
        return False

    def _wait_for(self, holder: _Holder, remaining: float) -> bool:
        """Wait for a holder of this process; finish its release if it left
        the pass without the cache confirming it."""
        if not holder.released.wait(remaining):
            return False
        if holder.orphaned:
            # The key held the holder's marker when last read: delete it now
            # (the cache may answer again), so the next caller can take the
            # pass rather than wait for it to expire. One waiter of this
            # process claims the job, so none deletes a pass that another
            # thread took meanwhile.
            slot = self._slot()
            with _holders_lock:
                claimed = _holders.get(slot) is holder
                if claimed:
                    del _holders[slot]
            # (as the holder's release: only while the key holds its marker)
            if claimed and not _release(self.cache, self.key, self.namespace, holder.marker):
                with _holders_lock:
                    _holders.setdefault(slot, holder)
        return True


def _forget_expired(now: float) -> None:
    """Drop the orphaned passes whose keys have surely expired (with the
    registry's lock held)."""
    for slot in [slot for slot, h in _holders.items() if h.orphaned and h.expires < now]:
        del _holders[slot]
