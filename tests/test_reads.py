"""``caching._reads``: ``get_multi``'s compiled loop answers as the
interpreter's loops do, for batches small and large, with misses, expired
items, ``None`` values, bytes given for str keys and invalid keys.

Seeded random histories run on two caches with one injected clock: one reads
through :func:`caching._reads.live_values` (compiled where built, else its
source interpreted), the other through ``caching/_memory_core.py``'s own loops for a
pure-Python install.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import random
from typing import Any

import pytest

from caching import MemoryCache, _memory_core, _reads
from caching.errors import InvalidKeyError

COMPILED = isinstance(_reads.__loader__, importlib.machinery.ExtensionFileLoader)


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.25

    def __call__(self) -> float:
        return self.now


def _answers(
    compiled: bool, cache: MemoryCache, keys: list[Any], monkeypatch: pytest.MonkeyPatch
) -> Any:
    with monkeypatch.context() as patch:
        patch.setattr(_memory_core, "compiled_reads", compiled)
        try:
            return cache.get_multi(keys)
        except InvalidKeyError as exc:
            return ("InvalidKeyError", str(exc))


KEYS = [f"k{i}" for i in range(40)]


@pytest.mark.parametrize("seed", range(30))
def test_compiled_reads_answer_as_the_interpreted_loops(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    clock = _Clock()
    caches = [MemoryCache(clock=clock), MemoryCache(clock=clock)]
    for _ in range(300):
        roll = rng.random()
        key = rng.choice(KEYS)
        if roll < 0.45:
            value = rng.choice([None, 1, "v", {"id": rng.randrange(9)}, b"b"])
            time = rng.choice([0, 0, 1, 2, 5, -1])
            for cache in caches:
                cache.set(key, value, time)
        elif roll < 0.55:
            for cache in caches:
                cache.delete(key)
        elif roll < 0.6:
            for cache in caches:
                with contextlib.suppress(ValueError):  # not a counter: both refuse
                    cache.incr(key, 1, initial_value=0)
        elif roll < 0.7:
            clock.now += rng.choice([0.5, 1.0, 2.0])
        else:
            size = rng.choice([1, 3, 10, 16, 17, 40, 100])
            asked: list[Any] = [rng.choice([*KEYS, "absent"]) for _ in range(size)]
            if rng.random() < 0.3:
                asked[rng.randrange(size)] = rng.choice(KEYS).encode()  # bytes for a str key
            if rng.random() < 0.05:
                asked[rng.randrange(size)] = "bad key"
            batch = asked if rng.random() < 0.5 else tuple(asked)
            compiled = _answers(True, caches[0], list(batch), monkeypatch)
            interpreted = _answers(False, caches[1], list(batch), monkeypatch)
            assert compiled == interpreted, (seed, batch)


def test_expired_items_met_are_reclaimed(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock()
    cache = MemoryCache(clock=clock)
    cache.set_multi(dict.fromkeys(KEYS, 1), 1)
    clock.now += 1
    monkeypatch.setattr(_memory_core, "compiled_reads", True)
    assert cache.get_multi(KEYS[:3]) == {}
    assert len(cache) == 0  # all of that second went
    cache.set_multi(dict.fromkeys(KEYS, 1), 1)
    clock.now += 1
    assert cache.get_multi([b"k1"]) == {}  # met under its canonical form
    assert len(cache) == 0


def test_a_miss_with_a_bad_key_raises_and_bytes_find_str_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_memory_core, "compiled_reads", True)
    cache = MemoryCache()
    cache.set("k", "v")
    assert cache.get_multi([b"k", "k"]) == {b"k": "v", "k": "v"}
    with pytest.raises(InvalidKeyError):
        cache.get_multi(["k", "a b"])
    with pytest.raises(TypeError):
        cache.get_multi("k")
