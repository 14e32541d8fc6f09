"""``caching._replies``: the one-pass read of a whole ``get`` reply gives
back exactly the items memcached wrote, each under the key asked, or
``None`` (read step by step) for any reply it cannot vouch for; compiled
where built, and its source as a pure-Python install runs it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caching import _replies
from caching._replies import Read
from tests.interpreted import source_module

READS: dict[str, Callable[[bytes, list[str], bool], Read | None]] = {
    "built": _replies.read_asked,
    "source": source_module(_replies).read_asked,
}

_printable = "".join(map(chr, range(33, 127)))
_keys = st.lists(st.text(_printable, min_size=1, max_size=250), min_size=1, max_size=20)
_values = st.binary(max_size=300)  # \r\n and "END" inside included
_flags = st.sampled_from([0, 1, 2, 16, 48, 2**32 - 1])


def _reply(items: list[tuple[str, bytes, int]]) -> bytes:
    return (
        b"".join(b"VALUE %s %d %d\r\n%s\r\n" % (k.encode(), f, len(d), d) for k, d, f in items)
        + b"END\r\n"
    )


@st.composite
def _asked_and_items(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, bytes, int]]]:
    """Keys asked (duplicates too), and the items of some of them in the order asked."""
    asked = draw(_keys)
    hits = [key for key in asked if draw(st.booleans())]
    return asked, [(key, draw(_values), draw(_flags)) for key in hits]


@pytest.mark.parametrize("kind", READS)
@given(case=_asked_and_items())
def test_a_whole_reply_is_its_items(
    kind: str, case: tuple[list[str], list[tuple[str, bytes, int]]]
) -> None:
    asked, items = case
    assert READS[kind](_reply(items), asked, False) == (
        {key: (data, flags) for key, data, flags in items},
        [],
    )
    assert READS[kind](_reply(items), asked, True) == (
        {key: data for key, data, flags in items if flags == 0},
        [(key, data, flags) for key, data, flags in items if flags != 0],
    )


@pytest.mark.parametrize("kind", READS)
@pytest.mark.parametrize(
    "reply",
    [
        b"VALUE k 0 5\r\nab\r\nEND\r\n",  # longer than announced: cut short
        b"VALUE k 0 1\r\nab\r\nEND\r\n",  # shorter than announced
        b"VALUE k 00 2\r\nab\r\nEND\r\n",  # flags not as memcached writes them
        b"VALUE k 0 02\r\nab\r\nEND\r\n",
        b"VALUE k 0 +2\r\nab\r\nEND\r\n",
        b"VALUE k 4294967296 2\r\nab\r\nEND\r\n",  # flags over 32 bits
        b"VALUE k 0 12345678901\r\nab\r\nEND\r\n",
        b"VALUE k 0 2 7\r\nab\r\nEND\r\n",  # a gets reply
        b"VALUE k -1 2\r\nab\r\nEND\r\n",
        b"VALUE k 0 \r\nab\r\nEND\r\n",
        b"VALUE k 0 2\nab\r\nEND\r\n",
        b"VALUE x 0 2\r\nab\r\nEND\r\n",  # a key not asked
        b"VALUE j 0 2\r\nab\r\nVALUE k 0 2\r\nab\r\nEND\r\n",  # out of order
        b"VALUE k 0 2\r\nab\r\nVALUE k 0 2\r\nab\r\nEND\r\n",  # more items than asked
        b"VALUE \xc3\xa9 0 2\r\nab\r\nEND\r\n",
        b"VALUE k 0 2\r\nab\r\nEND\r\nEND\r\n",  # bytes after END
        b"VALUE k 0 2\r\nab\r\nEN\r\n",
        b"SERVER_ERROR out of memory\r\nEND\r\n",
        b"VALUE k 0 2\r\nab\r\n",  # cut short
        b"VALUE k 0 2\r\nab",
        b"VALUE k",
        b"",
    ],
)
def test_a_reply_it_cannot_vouch_for_is_none(kind: str, reply: bytes) -> None:
    assert READS[kind](reply, ["k", "j"], True) is None


@pytest.mark.parametrize("kind", READS)
def test_nothing_found(kind: str) -> None:
    assert READS[kind](b"END\r\n", ["k"], True) == ({}, [])
