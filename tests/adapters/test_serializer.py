"""caching.adapters.serializer: the one value format of the memcached adapters.

The bytes and flags are pinned here: they are what other processes (and other
adapters, and older versions) find on the server.
"""

from __future__ import annotations

import math
import pickle
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caching.adapters.serializer import (
    FLAG_BOOL,
    FLAG_BYTES,
    FLAG_INT,
    FLAG_PICKLE,
    FLAG_QUOTED,
    FLAG_QUOTED_PICKLE,
    FLAG_STR,
    dumps,
    from_native,
    loads,
)

FORMAT: list[tuple[Any, tuple[bytes, int]]] = [
    (b"bytes", (b"bytes", FLAG_BYTES)),
    (b"_x", (b"_x", FLAG_BYTES)),
    ("text", (b"text", FLAG_STR)),
    ("\u00e9", ("\u00e9".encode(), FLAG_STR)),
    ("12", (b"_12", FLAG_QUOTED)),
    ("-1", (b"_-1", FLAG_QUOTED)),
    ("_x", (b"__x", FLAG_QUOTED)),
    ("", (b"_", FLAG_QUOTED)),
    (0, (b"0", FLAG_INT)),
    (2**64 - 1, (b"18446744073709551615", FLAG_INT)),
    (True, (b"01", FLAG_BOOL)),
    (False, (b"00", FLAG_BOOL)),
]


@pytest.mark.parametrize(("value", "item"), FORMAT, ids=repr)
def test_format(value: Any, item: tuple[bytes, int]) -> None:
    assert dumps(value) == item
    got = loads(*item)
    assert got == value
    assert type(got) is type(value)


@pytest.mark.parametrize(
    "value",
    # ... and bytes that the server would count: pickled, they are not a number.
    [2**64, -1, 1.5, None, [1], "\ud800", b"12", b" 7", b"\t", b""],
    ids=repr,
)
def test_anything_else_is_pickled(value: Any) -> None:
    data, flags = dumps(value)
    assert flags == FLAG_PICKLE
    assert pickle.loads(data) == value


@pytest.mark.parametrize(
    ("item", "value"),
    [((b"2", FLAG_BOOL), 2), ((b"1 ", FLAG_BOOL), 1), ((b"99 ", FLAG_INT), 99)],
    ids=repr,
)
def test_counted_items_read_as_ints(item: tuple[bytes, int], value: int) -> None:
    got = loads(*item)
    assert got == value
    assert type(got) is int


@pytest.mark.parametrize("value", ["_\ud800", "1\ud800", " \ud800"], ids=repr)
def test_number_like_text_with_no_utf8_form_is_pickled_quoted(value: str) -> None:
    # pylibmc's C decoder unpickles flags 33 as it does 1: the quote tells
    # from_native that this str is quoted, whatever it starts with.
    data, flags = dumps(value)
    assert flags == FLAG_QUOTED_PICKLE
    assert pickle.loads(data) == "_" + value
    assert loads(data, flags) == value
    assert from_native(pickle.loads(data)) == value


def test_unknown_flags_raise() -> None:
    with pytest.raises(ValueError, match="unknown memcached flags"):
        loads(b"x", 128)


@pytest.mark.parametrize(
    ("native", "value"),
    # What pylibmc's own decoder gives for each item of the format.
    [
        (b"12", b"12"),
        ("text", "text"),
        ("_12", "12"),
        ("__x", "_x"),
        ("_", ""),
        (7, 7),
        ("01", True),
        ("00", False),
        ("2", 2),
        ("1 ", 1),
        ("", ""),
    ],
    ids=repr,
)
def test_from_native_reads_bool_items(native: Any, value: Any) -> None:
    got = from_native(native)
    assert got == value
    assert type(got) is type(value)


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(),
    st.binary(),
    st.lists(st.integers()),
)


@given(values)
def test_round_trip_with_type(value: Any) -> None:
    got = loads(*dumps(value))
    assert got == value or (isinstance(value, float) and math.isnan(value))
    assert type(got) is type(value)
