"""Differential test: the same seeded random calls against ``MemoryCache`` and
each memcached adapter give identical answers (values compared with their
types). No expiry here: the contract suite covers time."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from caching import MemoryCache
from caching.adapters import ADAPTERS
from caching.contract import Cache
from tests import servers
from tests.adapters.conftest import builder

pytestmark = pytest.mark.memcached

SEEDS = [1, 2, 3]
STEPS = 250

NAMES = ["a", "b", "c", "caf\u00e9", "caf\u00e9".encode(), b"\xff\xfe"]
VALUES: list[Any] = [
    0,
    1,
    7,
    99,
    2**64 - 1,
    -3,
    2**70,
    True,
    False,
    "12",
    " 7",
    "x",
    "",
    b"5",
    b"",
    1.5,
    [1, 2],
    {"k": (1,)},
    ("t",),
    None,
]


#: Small deltas and memcached's whole range, past pylibmc's C int (2**31-1)
#: and past 32 bits, up to 2**64-1.
DELTAS = [0, 1, 2, 5, 1000, 2**31 - 1, 2**31, 2**32, 2**63, 2**64 - 2, 2**64 - 1]


def typed(answer: Any) -> Any:
    """An answer with the type of every value made explicit, so that ``True``
    and ``1`` (equal in Python) differ."""
    if isinstance(answer, dict):
        return sorted(((repr(k), typed(v)) for k, v in answer.items()), key=repr)
    if isinstance(answer, list):
        return sorted((typed(item) for item in answer), key=repr)
    return (type(answer).__name__, answer)


def random_call(rng: random.Random, prefix: str) -> tuple[str, Callable[[Cache], Any]]:
    def key() -> str | bytes:
        name = rng.choice(NAMES)
        return prefix.encode() + name if isinstance(name, bytes) else prefix + name

    def some_keys() -> list[str | bytes]:
        return [key() for _ in range(rng.randint(0, 4))]

    def mapping() -> dict[str | bytes, Any]:
        return {key(): rng.choice(VALUES) for _ in range(rng.randint(0, 3))}

    k, value, delta = key(), rng.choice(VALUES), rng.choice(DELTAS)
    initial = rng.choice([None, None, 0, 10, 2**64 - 1])
    many, keys = mapping(), some_keys()
    calls: dict[str, Callable[[Cache], Any]] = {
        "set": lambda c: c.set(k, value),
        "add": lambda c: c.add(k, value),
        "replace": lambda c: c.replace(k, value),
        "set_multi": lambda c: c.set_multi(many),
        "add_multi": lambda c: c.add_multi(many),
        "replace_multi": lambda c: c.replace_multi(many),
        "get": lambda c: c.get(k),
        "get_multi": lambda c: c.get_multi(keys),
        "delete": lambda c: c.delete(k),
        "delete_multi": lambda c: c.delete_multi(keys),
        "incr": lambda c: c.incr(k, delta, initial_value=initial),
        "decr": lambda c: c.decr(k, delta, initial_value=initial),
    }
    name = rng.choice(sorted(calls))
    return f"{name}({k!r}, value={value!r}, delta={delta}, initial={initial})", calls[name]


def answer(call: Callable[[Cache], Any], cache: Cache) -> Any:
    try:
        return typed(call(cache))
    except (ValueError, TypeError) as exc:
        return ("raises", type(exc).__name__)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(ADAPTERS))
def test_same_calls_same_answers(name: str, seed: int, memcached_server: servers.Server) -> None:
    adapter = builder(name)(memcached_server.address, timeout=5.0)
    reference = MemoryCache()
    rng = random.Random(seed)
    prefix = uuid.uuid4().hex[:8] + "-"
    for step in range(STEPS):
        described, call = random_call(rng, prefix)
        expected = answer(call, reference)
        assert answer(call, adapter) == expected, f"step {step}: {described}"
