"""``caching._replies``: the one-pass split of a whole ``get`` reply gives
back exactly the items memcached wrote, or ``None`` (read step by step)
for any reply it cannot vouch for; compiled where built, and its source as
a pure-Python install runs it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caching import _replies
from caching._replies import Found
from tests.interpreted import source_module

SPLITS: dict[str, Callable[[bytes], list[Found] | None]] = {
    "built": _replies.split_reply,
    "source": source_module(_replies).split_reply,
}

_keys = st.binary(min_size=1, max_size=250).filter(lambda k: not set(k) & set(b" \r\n\x00"))
_items = st.lists(st.tuples(_keys, st.binary(max_size=300), st.integers(0, 2**32 - 1)), max_size=20)


def _reply(items: list[tuple[bytes, bytes, int]]) -> bytes:
    return (
        b"".join(b"VALUE %s %d %d\r\n%s\r\n" % (k, f, len(d), d) for k, d, f in items) + b"END\r\n"
    )


@pytest.mark.parametrize("kind", SPLITS)
@given(items=_items)
def test_a_whole_reply_is_its_items_or_none(
    kind: str, items: list[tuple[bytes, bytes, int]]
) -> None:
    found = SPLITS[kind](_reply(items))
    expected = [(k, d, f, None) for k, d, f in items]
    if any(b"\r\n" in d for _, d, _ in items):
        assert found in (None, expected)  # never a wrong split
    else:
        assert found == expected


@pytest.mark.parametrize("kind", SPLITS)
@pytest.mark.parametrize(
    "reply",
    [
        b"VALUE k 0 5\r\nab\r\nc\r\nEND\r\n",  # a value holding \r\n
        b"VALUE k 0 3\r\nab\r\nEND\r\n",  # shorter than announced
        b"VALUE k 00 2\r\nab\r\nEND\r\n",  # flags not as memcached writes them
        b"VALUE k 0 +2\r\nab\r\nEND\r\n",
        b"VALUE k 0 2 7\r\nab\r\nEND\r\n",  # a gets reply
        b"VALUE k -1 2\r\nab\r\nEND\r\n",
        b"SERVER_ERROR out of memory\r\nEND\r\n",
        b"VALUE k 0 2\r\nab\r\n",  # cut short
        b"",
    ],
)
def test_a_reply_it_cannot_vouch_for_is_none(kind: str, reply: bytes) -> None:
    assert SPLITS[kind](reply) is None


@pytest.mark.parametrize("kind", SPLITS)
def test_nothing_found(kind: str) -> None:
    assert SPLITS[kind](b"END\r\n") == []
