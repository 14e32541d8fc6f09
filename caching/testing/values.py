"""Values (CONTRACT.md, "Values"): any picklable object comes back equal.

A backend with a data-only serializer (``serializer="json"`` or
``"msgpack"`` on the memcached adapters, seen as ``cache.codec.serializer``)
takes only its data model: ``None``, ``bool``, ``int``, ``float``, ``str``,
``bytes``, and lists (tuples come back as lists) and dicts with ``str``
keys of those; any other value raises ``TypeError`` and stores nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from caching.contract import Cache
from caching.testing.data_model import as_data, in_data_model, serializer_of


@dataclass(frozen=True)
class Point:
    x: int
    y: float


VALUES: list[Any] = [
    "text",
    "",
    "\u00e9t\u00e9 \u2603",
    b"\x00\xffbytes",
    b"",
    0,
    -5,
    2**70,
    1.25,
    float("inf"),
    [1, "two", [3.0]],
    [],
    {"a": 1, "nested": {"b": [2]}},
    (1, "two"),
    {1, 2, 3},
    frozenset({"x"}),
    Point(1, 2.5),
    False,
]

__all__ = ["ValueTests", "as_data", "in_data_model", "serializer_of"]


class ValueTests:
    """The contract's rules on values and the item size (CONTRACT.md, "Values")."""

    section = "Values"

    @pytest.mark.parametrize("value", VALUES, ids=repr)
    def test_value_round_trips_with_its_type(self, cache: Cache, value: Any) -> None:
        if serializer_of(cache) != "pickle":  # a data-only serializer
            if not in_data_model(value):
                with pytest.raises(TypeError, match=type(value).__name__):
                    cache.set("k", value)
                assert cache.get("k") is None
                return
            value = as_data(value)
        assert cache.set("k", value) is True
        got = cache.get("k")
        assert got == value
        assert type(got) is type(value)
        assert cache.get_multi(["k"]) == {"k": value}

    def test_oversized_value_is_refused_without_raising(self, cache: Cache) -> None:
        big = b"x" * (1024 * 1024 + 1)
        assert cache.add("new", big) is False
        assert cache.get("new") is None
        cache.set("held", "old")
        assert cache.replace("held", big) is False
        assert cache.get("held") == "old"
        assert cache.add_multi({"other": "small", "big": big}) == ["big"]
        assert cache.get_multi(["other", "big"]) == {"other": "small"}

    def test_oversized_set_drops_the_old_item_as_memcached_does(self, cache: Cache) -> None:
        big = "y" * (2 * 1024 * 1024)
        cache.set("k", "old")
        assert cache.set("k", big) is False
        assert cache.get("k") is None
        cache.set("m", "old")
        assert cache.set_multi({"m": big, "n": 1}) == ["m"]
        assert cache.get_multi(["m", "n"]) == {"n": 1}

    def test_value_just_under_the_item_size_is_stored(self, cache: Cache) -> None:
        value = b"z" * (1000 * 1024)
        assert cache.set("k", value) is True
        assert cache.get("k") == value

    def test_backend_stays_in_step_after_a_refused_value(self, cache: Cache) -> None:
        cache.set("a", 1)
        cache.set("b", b"x" * (3 * 1024 * 1024))
        assert cache.get("a") == 1
        assert cache.set("c", 3) is True
        assert cache.get_multi(["a", "c"]) == {"a": 1, "c": 3}
