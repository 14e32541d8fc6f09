"""MemoryCache against a small reference model of the contract, driven by
random call sequences (hypothesis stateful testing)."""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from caching import MemoryCache

MAX = 2**64
NAMES = ["a", "b", "caf\u00e9"]
# A key names its item whether given as str or as UTF-8 bytes.
KEYS = st.sampled_from(NAMES + [name.encode() for name in NAMES])
VALUES = st.one_of(st.none(), st.integers(0, MAX - 1), st.text(max_size=3), st.lists(st.integers()))
TIMES = st.sampled_from([0, 0, 1, 2, 5, -1])
DELTAS = st.integers(0, MAX - 1)


def name(key: str | bytes) -> str:
    return key.decode() if isinstance(key, bytes) else key


class Model:
    """The contract's rules, written as plainly as possible."""

    def __init__(self) -> None:
        self.now = 1_800_000_000
        self.items: dict[str, tuple[Any, int]] = {}

    def live(self, key: str | bytes) -> tuple[Any, int] | None:
        item = self.items.get(name(key))
        if item is None or (item[1] and item[1] <= self.now):
            return None
        return item

    def store(self, mode: str, key: str | bytes, value: Any, time: int) -> bool:
        present = self.live(key) is not None
        if (mode == "add" and present) or (mode == "replace" and not present):
            return False
        self.items[name(key)] = (value, 0 if time == 0 else self.now + time)
        return True

    def count(self, key: str | bytes, delta: int, initial: int | None, up: bool) -> Any:
        item = self.live(key)
        if item is None:
            if initial is None:
                return None
            value, expiry = initial, 0
        else:
            value, expiry = item
            if not isinstance(value, int) or not 0 <= value < MAX:
                return ValueError
        value = (value + delta) % MAX if up else max(value - delta, 0)
        self.items[name(key)] = (value, expiry)
        return value


class MemoryCacheMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.model = Model()
        self.cache = MemoryCache(clock=lambda: self.model.now + 0.5)

    @rule(mode=st.sampled_from(["set", "add", "replace"]), key=KEYS, value=VALUES, time=TIMES)
    def store(self, mode: str, key: str | bytes, value: Any, time: int) -> None:
        assert getattr(self.cache, mode)(key, value, time) == self.model.store(
            mode, key, value, time
        )

    @rule(key=KEYS)
    def get(self, key: str | bytes) -> None:
        item = self.model.live(key)
        assert self.cache.get(key) == (None if item is None else item[0])

    @rule(keys=st.lists(KEYS, max_size=4))
    def get_multi(self, keys: list[str | bytes]) -> None:
        expected = {}
        for key in keys:
            item = self.model.live(key)
            if item is not None and item[0] is not None:
                expected[key] = item[0]
        assert self.cache.get_multi(keys) == expected

    @rule(key=KEYS)
    def delete(self, key: str | bytes) -> None:
        expected = self.model.live(key) is not None
        self.model.items.pop(name(key), None)
        assert self.cache.delete(key) is expected

    @rule(key=KEYS, delta=DELTAS, initial=st.one_of(st.none(), DELTAS), up=st.booleans())
    def count(self, key: str | bytes, delta: int, initial: int | None, up: bool) -> None:
        expected = self.model.count(key, delta, initial, up)
        call = self.cache.incr if up else self.cache.decr
        if expected is ValueError:
            try:
                call(key, delta, initial_value=initial)
            except ValueError:
                return
            raise AssertionError("expected ValueError")
        assert call(key, delta, initial_value=initial) == expected

    @rule(seconds=st.integers(0, 3))
    def advance(self, seconds: int) -> None:
        self.model.now += seconds

    @rule()
    def flush_all(self) -> None:
        self.model.items.clear()
        assert self.cache.flush_all() is True

    @invariant()
    def no_more_items_than_the_model(self) -> None:
        assert len(self.cache) <= len(self.model.items)


MemoryCacheMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40)
TestMemoryCacheModel = MemoryCacheMachine.TestCase


class CopyValuesMachine(MemoryCacheMachine):
    """The same answers when values are stored as copies."""

    def __init__(self) -> None:
        super().__init__()
        self.cache = MemoryCache(copy_values=True, clock=lambda: self.model.now + 0.5)


CopyValuesMachine.TestCase.settings = settings(max_examples=30, stateful_step_count=40)
TestCopyValuesModel = CopyValuesMachine.TestCase
