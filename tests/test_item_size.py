"""``caching._item_size``: the walk that bounds a value's share of the item
size without pickling it must never say "fits" of a value that does not.

Each bound is checked against the exact measure (what the adapters send,
``caching._memory_core.charge``), for the compiled module and for its source run
by the interpreter; ``MemoryCache``'s exact-limit tests run on every path.
"""

from __future__ import annotations

import importlib.machinery
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caching import MemoryCache, _item_size, _memory_core
from tests.interpreted import source_module

COMPILED = isinstance(_item_size.__loader__, importlib.machinery.ExtensionFileLoader)

INTERPRETED = source_module(_item_size)  # the source, run by the interpreter
WALKS = [pytest.param(INTERPRETED.fits, id="interpreted")]
if COMPILED:
    WALKS.append(pytest.param(_item_size.fits, id="compiled"))


plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.binary(max_size=40),
    lambda children: (
        st.lists(children, max_size=6)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=8) | st.integers(), children, max_size=6)
    ),
    max_leaves=30,
)


def _charge(value: Any) -> int:
    """The exact bytes ``value`` takes of the item size, as the adapters send it."""
    return _memory_core.charge(value)


@pytest.mark.parametrize("walk", WALKS)
@settings(max_examples=300, deadline=None)
@given(value=plain, slack=st.integers(min_value=-40, max_value=400))
def test_a_value_said_to_fit_fits(walk: Any, value: Any, slack: int) -> None:
    budget = max(_charge(value) + slack, 0)
    if walk([value], budget):
        assert _charge(value) <= budget


@settings(max_examples=200, deadline=None)
@given(values=st.lists(plain, max_size=5), budget=st.integers(min_value=0, max_value=3000))
def test_compiled_and_interpreted_walks_answer_alike(values: list[Any], budget: int) -> None:
    answer = INTERPRETED.fits(values, budget)
    if COMPILED:
        assert _item_size.fits(values, budget) is answer
    if answer:
        assert all(_charge(value) <= budget for value in values)


@pytest.mark.parametrize("walk", WALKS)
@pytest.mark.parametrize(
    "value",
    [
        "\ud800" * 50,  # lone surrogates: pickled with surrogatepass, 3 bytes each
        "\U0001f600" * 50,  # 4 bytes each in UTF-8
        "_" + "\u00e9" * 50,  # quoted by the serializer
        b"1" * 100,  # bytes that start like a number: pickled
        2**64,  # beyond a counter: pickled
        -(2**31) - 1,
        [[[[["deep"]]]]],
        {"a": ["x" * 60, ("y" * 60, None)], 7: 1.5},
        [b"z" * 70] * 3,  # one object three times: memoised in the pickle
        # the loops' inline bounds of str and int, at the int's 32-bit edges
        {"k" * 40: "\U0001f600" * 30, "n": 2**31, "m": -(2**31) - 1, "o": 2**31 - 1},
        [2**31, -(2**31), 2**31 - 1, -(2**31) - 1, 2**100, "\ud800" * 20],
        {(1, "t"): [{"x": (2**40, b"b")}], 3: {"y": {"z": ()}}},
    ],
)
def test_edge_values_are_bounded_from_above(walk: Any, value: Any) -> None:
    exact = _charge(value)
    assert walk([value], 4 * exact + 200)  # a plain value this small is settled
    for budget in range(max(exact - 5, 0), exact):
        assert not walk([value], budget)


class _Record(dict[str, Any]):
    pass


@pytest.mark.parametrize("walk", WALKS)
def test_what_the_walk_does_not_know_is_left_to_the_exact_measure(walk: Any) -> None:
    nested: list[Any] = ["x"]
    for _ in range(20):
        nested = [nested]
    cycle: list[Any] = []
    cycle.append(cycle)
    for value in [_Record(a=1), {1, 2}, nested, cycle, {"k": frozenset()}, object()]:
        assert not walk([value], 10**9)


@pytest.mark.parametrize("walk", WALKS)
def test_a_long_container_stops_at_the_budget(walk: Any) -> None:
    # the walk gives up as soon as the bound passes the budget
    assert not walk([[None] * 1_000_000], 1000)
    assert walk([[None] * 1000], 10_000)


@pytest.mark.parametrize("walk", WALKS)
def test_a_budget_beyond_an_i64_is_taken_as_a_huge_one(walk: Any) -> None:
    # the compiled walk sums in i64: a larger budget must not overflow
    value = {"a": [1, "x" * 50]}
    assert walk([value], 2**64)
    assert walk([value], 2**200)
    assert not walk([[None] * 1_000_000], 1000)


@pytest.fixture(params=["compiled", "pickle"])
def walk_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """``MemoryCache`` with each way of settling a value: the compiled walk
    (where built), or the pickle alone (what a pure-Python install uses: the
    interpreted walk is never used by ``MemoryCache``, and its bounds are
    checked above)."""
    if request.param == "compiled":
        if not COMPILED:
            pytest.skip("pure-Python install")
        monkeypatch.setattr(_memory_core, "walk", True)
    else:
        monkeypatch.setattr(_memory_core, "walk", False)
    return str(request.param)


@pytest.mark.parametrize("key_length", [1, 250])
def test_every_path_refuses_exactly_memcacheds_refusals(walk_path: str, key_length: int) -> None:
    limit = 4096
    key = "k" * key_length
    room = limit - 59 - key_length - 4  # the pickle and its flags
    for value_of in (
        lambda n: ["y" * (n - 12)],  # a one-item list: 12 bytes of pickle more
        lambda n: {"a": "y" * (n - 25)},
        lambda n: {"rec": {"tags": ["y" * ((n - 45) // 2), "y" * (n - 45 - (n - 45) // 2)]}},
    ):
        for size in range(room - 3, room + 3):
            value = value_of(size)
            expected = _charge(value) <= room + 4
            assert MemoryCache(max_item_size=limit).set(key, value) is expected, (size, value)
            batch = MemoryCache(max_item_size=limit)
            failed = batch.set_multi({key: value, "other": {"s": 1}})
            assert failed == ([] if expected else [key])
            assert batch.get("other") == {"s": 1}


def test_an_unpicklable_value_in_a_container_still_raises(walk_path: str) -> None:
    cache = MemoryCache()
    with pytest.raises(TypeError, match="lock"):
        cache.set("k", {"a": threading.Lock()})
    with pytest.raises(TypeError, match="lock"):
        cache.set_multi({"a": 1, "b": [threading.Lock()]})
    assert cache.get("a") is None
