"""``CacheDependency``: wire cache items to a master key, invalidate them at once.

The master key is a counter of the dependent keys issued so far (as in
wheezy.caching); dependent key ``i`` holds the key of one wired item and is
``"dep:" + sha1(master_key) + ":" + str(i)`` (the SHA-1 in hex of the master
key's UTF-8 bytes), e.g. ``dep:5c0a...e1:3``:

- valid for every valid master key, 250 bytes long included (at most 66
  bytes; wheezy's ``master_key + str(i)`` is invalid from 249 bytes on, so
  its ``add`` raises after the item is stored and its ``delete`` raises for
  ever);
- unambiguous: the digest has a fixed length, so no two groups share a
  dependent key and none is another group's counter (wheezy's dependent key
  #1 of ``product:1`` is ``product:11``, the counter of another group, and
  ``delete("product:1")`` then raises ``TypeError``). Every character a
  dependent key can hold can also be in a master or item key, so a readable
  ``master + separator + number`` could always be spelled by some other key;
  a digest cannot be, short of choosing a key to collide on purpose.

A group can always be deleted: a counter whose value is not a count (a
foreign or corrupt item), or a dependent key holding something other than a
key, is skipped rather than raising, and at most the last
:data:`MAX_DEPENDENTS` dependent keys of a group are read.

Groups written in wheezy's format (by wheezy.caching, or by this package
before 0.2: dependent key ``master_key + str(i)``) are read as well while
``wheezy_keys`` is on (the default): their dependent keys are read in the same
round trip, and only those holding a key (a ``str`` or ``bytes``: not a
counter such as ``product:11``'s) are deleted with the keys they hold. Such
wires live for the dependency's ``time``; one ``time`` after every process
runs this version, none is left, and ``wheezy_keys=False`` stops reading them.

Round trips, each one contract call:

- ``next_key`` / ``next_keys``: 1 (``incr``);
- ``add`` / ``add_multi``: 2 (``incr``, ``add``/``add_multi``);
- ``get_keys`` / ``get_multi_keys``: 2 (``get_multi`` of the counters,
  ``get_multi`` of the dependent keys), 1 when nothing is wired;
- ``delete`` / ``delete_multi``: 3, whatever the number of wired items (the
  two reads above and one ``delete_multi``), 1 when nothing is wired. The
  contract has no call that reads and deletes, so 3 is the least.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar

from caching.contract import Cache
from caching.errors import InvalidKeyError
from caching.expiry import Time, lifetime
from caching.key_rules import MAX_KEY_LENGTH, Key, is_valid_key
from caching.patterns.marks import marks_written
from caching.steps import Steps, run

__all__ = ["DEPENDENT_PREFIX", "MAX_DEPENDENTS", "CacheDependency", "dependent_key"]

#: Start of every dependent key.
DEPENDENT_PREFIX = "dep:"

#: Most dependent keys read for one group: a counter above this (a group
#: that was never invalidated, or a corrupt value) reads only its last
#: ``MAX_DEPENDENTS`` keys, so that a delete always ends.
MAX_DEPENDENTS = 100_000


def _digest(master_key: Key) -> str:
    if isinstance(master_key, str):
        data = master_key.encode("utf-8", "surrogatepass")
    elif isinstance(master_key, bytes):
        data = master_key
    else:
        raise TypeError(f"master key must be str or bytes, not {type(master_key).__name__}")
    return hashlib.sha1(data).hexdigest()


def dependent_key(master_key: Key, i: int) -> str:
    """Dependent key ``i`` of ``master_key``: ``"dep:" + sha1 hex + ":" + str(i)``.

    :param master_key: ``str`` (hashed as UTF-8) or ``bytes``; a ``str`` and
        its UTF-8 bytes give the same keys.
    :param i: the dependent key's number, from 1.
    :returns: a valid key of at most 66 bytes.
    :raises TypeError: ``master_key`` is neither ``str`` nor ``bytes``.
    """
    return f"{DEPENDENT_PREFIX}{_digest(master_key)}:{i}"


def _count(value: Any) -> int:
    """The number of dependent keys a counter's value says; 0 for anything
    that is not an ``int >= 0`` (a foreign or corrupt item)."""
    return value if isinstance(value, int) and value > 0 else 0


def _is_key(value: Any) -> bool:
    return isinstance(value, (str, bytes)) and len(value) > 0


def _wheezy_keys(master_key: Key, first: int, last: int) -> list[Key]:
    """wheezy's dependent keys ``first`` .. ``last`` of ``master_key``
    (``master_key + str(i)``), those that are valid keys."""
    if isinstance(master_key, bytes):
        room = MAX_KEY_LENGTH - len(master_key)
        if room < 1 or not is_valid_key(master_key):
            return []
        return [master_key + b"%d" % i for i in range(first, min(last, 10**room - 1) + 1)]
    if not is_valid_key(master_key):
        return []
    room = MAX_KEY_LENGTH - len(master_key.encode("utf-8"))
    if room < 1:
        return []
    return [master_key + str(i) for i in range(first, min(last, 10**room - 1) + 1)]


C = TypeVar("C")


class _DependencyBase(Generic[C]):
    """What :class:`CacheDependency` and
    :class:`caching.aio.dependency.AsyncCacheDependency` share: their
    settings and every decision, written once as steps
    (:mod:`caching.steps`) that each runs on its own cache."""

    def __init__(
        self,
        cache: C,
        time: Time = 0,
        namespace: str | None = None,
        *,
        wheezy_keys: bool = True,
        marks: bool = False,
    ) -> None:
        self.cache = cache
        self.time = lifetime(time)
        self.namespace = namespace
        self.wheezy_keys = wheezy_keys
        self.marks = marks

    def _next_keys_steps(self, master_key: str, n: int) -> Steps[list[str]]:
        last = yield ("incr", (master_key, n, self.namespace, 0))
        if last is None:
            return []
        digest = _digest(master_key)
        return [f"{DEPENDENT_PREFIX}{digest}:{i}" for i in range(last - n + 1, last + 1)]

    def _add_steps(self, master_key: str, key: str) -> Steps[bool]:
        keys = yield from self._next_keys_steps(master_key, 1)
        return bool(keys) and bool((yield ("add", (keys[0], key, self.time, self.namespace))))

    def _add_multi_steps(self, master_key: str, keys: Sequence[str]) -> Steps[list[Key]]:
        if not keys:
            return []
        issued = yield from self._next_keys_steps(master_key, len(keys))
        if not issued:
            return [master_key]
        mapping: dict[Key, str] = dict(zip(issued, keys, strict=True))
        not_stored: list[Key] = yield ("add_multi", (mapping, self.time, self.namespace))
        return not_stored

    def _multi_keys_steps(self, master_keys: list[str]) -> Steps[list[Any]]:
        counts = yield ("get_multi", (master_keys, self.namespace))
        if not counts:
            return []
        dependents: list[Key] = []
        wheezy: list[Key] = []
        for master_key in master_keys:
            last = _count(counts.get(master_key))
            if not last:
                continue
            first = max(1, last - MAX_DEPENDENTS + 1)
            digest = _digest(master_key)
            dependents += [f"{DEPENDENT_PREFIX}{digest}:{i}" for i in range(first, last + 1)]
            if self.wheezy_keys:
                wheezy += _wheezy_keys(master_key, first, last)
        keys: list[Any] = list(dependents)
        if dependents:
            found = yield ("get_multi", (dependents + wheezy, self.namespace))
            wires = [found[key] for key in dependents if _is_key(found.get(key))]
            for key in wheezy:  # only those holding a key: not another group's counter
                if _is_key(found.get(key)):
                    keys.append(key)
                    wires.append(found[key])
            keys += wires
        keys += master_keys
        return keys

    def _delete_multi_steps(self, master_keys: list[str]) -> Steps[bool]:
        """Delete every item wired to any of ``master_keys``; with ``marks``,
        their invalidation marks first."""
        # The masters first: a creator wiring to one of them after this
        # reads the new mark; one that wired before is found below.
        yield from self._marked(master_keys)
        keys = yield from self._multi_keys_steps(master_keys)
        if not keys:
            return True
        yield from self._marked(keys[: -len(master_keys)])
        deleted = yield from self._delete_keys_steps(keys)
        return deleted

    def _marked(self, keys: list[Any]) -> Steps[None]:
        """With ``marks``: a new invalidation mark for each of ``keys``."""
        if self.marks:
            yield from marks_written(keys, self.namespace, hasattr(self.cache, "set_multi"))

    def _delete_keys_steps(self, keys: list[Any]) -> Steps[bool]:
        """Delete a group's ``keys``; a wire holding a key the cache refuses
        (a foreign value) is left out rather than raising."""
        try:
            deleted = yield ("delete_multi", (keys, 0, self.namespace))
        except InvalidKeyError:
            valid = [key for key in keys if is_valid_key(key)]
            deleted = yield ("delete_multi", (valid, 0, self.namespace))
        return bool(deleted)


class CacheDependency(_DependencyBase[Cache]):
    """Wires cache items to a master key so one call invalidates them all.

    :param cache: any backend of the contract.
    :param time: how long dependent keys live, ``int`` seconds or
        ``timedelta`` (``0``: no expiry). Should be at least the lifetime of
        the items they wire.
    :param namespace: passed to every cache call.
    :param wheezy_keys: also read (and invalidate) groups written in
        wheezy's format (``master_key + str(i)``); see the module docstring.
        Keyword only.
    :param marks: before deleting, give the master keys and then every key of
        the group an invalidation mark (:mod:`caching.patterns.marks`), so that
        a ``Cached`` creator building one of them meanwhile does not leave a
        value made from old data (two more round trips per ``delete``).
        ``Cached.dependency`` has it on. Keyword only.
    """

    def next_key(self, master_key: str) -> str:
        """Issue the next dependent key of ``master_key`` (one ``incr``).

        :returns: :func:`dependent_key` ``(master_key, n)``; ``n`` counts from 1.
            ``""`` when the cache failed.
        """
        keys = self.next_keys(master_key, 1)
        return keys[0] if keys else ""

    def next_keys(self, master_key: str, n: int) -> list[str]:
        """Issue ``n`` dependent keys of ``master_key`` with one ``incr``.

        :returns: the ``n`` new keys; ``[]`` when the cache failed.
        :raises InvalidKeyError: ``master_key`` is not a valid key (the cache checks it).
        """
        return run(self._next_keys_steps(master_key, n), self.cache)

    def add(self, master_key: str, key: str) -> bool:
        """Wire ``key`` to ``master_key``.

        :returns: ``True`` when the wire was stored.
        """
        return run(self._add_steps(master_key, key), self.cache)

    def add_multi(self, master_key: str, keys: Sequence[str]) -> list[Key]:
        """Wire every key of ``keys`` to ``master_key`` (two round trips).

        :returns: the dependent keys that were not stored (``[]`` when all
            were); ``[master_key]`` when the counter could not be incremented.
        """
        return run(self._add_multi_steps(master_key, keys), self.cache)

    def get_keys(self, master_key: str) -> list[Any]:
        """All keys wired to ``master_key``, the dependent keys and the master key.

        :returns: the keys to delete to invalidate the group; ``[]`` when
            nothing is wired.
        """
        return self.get_multi_keys([master_key])

    def get_multi_keys(self, master_keys: Iterable[str]) -> list[Any]:
        """As :meth:`get_keys` for several master keys, in two round trips.

        :returns: the dependent keys issued, the wheezy-format dependent keys
            that hold a key, the keys they all hold, and the master keys;
            ``[]`` when no master key holds a counter.
        """
        return run(self._multi_keys_steps(list(master_keys)), self.cache)

    def delete(self, master_key: str) -> bool:
        """Delete every item wired to ``master_key`` (three round trips).

        :returns: ``True`` when nothing is left, ``False`` on a cache failure.
        """
        return self.delete_multi([master_key])

    def delete_multi(self, master_keys: Iterable[str]) -> bool:
        """Delete every item wired to any of ``master_keys`` (three round trips).

        A wire holding a key the cache refuses (a foreign item) is left out
        rather than raising.

        :returns: ``True`` when nothing is left, ``False`` on a cache failure.
        :raises InvalidKeyError: a master key is not a valid key.
        """
        return run(self._delete_multi_steps(list(master_keys)), self.cache)
