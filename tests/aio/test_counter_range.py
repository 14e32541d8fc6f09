"""The async adapter counts a counter from 2**63 whatever memory memcached
reads past it: the sync adapters' gets/cas rule
(:func:`caching.adapters.base.count_from_2_63`), as they do."""

from __future__ import annotations

import asyncio

import pytest

from tests import servers
from tests.adapters.test_counter_range import _leave_a_dash_behind
from tests.aio.backends import emcache_at

pytestmark = pytest.mark.memcached

#: (decr?, delta, answer) from 2**64 - 1: a wrap, a decr, a wrap by a large delta.
STEPS = [(False, 1, 0), (True, 5, 2**64 - 6), (False, 2**40, 2**40 - 1)]


@pytest.mark.parametrize("options", [{}, {"serializer": "json", "secret": "k"}], ids=["", "json"])
def test_a_counter_from_2_63_counts_whatever_memory_memcached_reads_past_it(
    options: dict[str, str],
) -> None:
    # memcached 1.6.18 answers CLIENT_ERROR non-numeric for a valid counter
    # of 2**63 or more when an earlier item left a "-" just past its digits
    # (docs/FAILURES.md, "Counters from 2**63"): the dash is left there first.
    server = servers.memcached()
    with servers.running(server):

        async def body() -> list[tuple[int | None, object]]:
            adapter = emcache_at([server.address], **options)
            answers = []
            try:
                for i, (down, delta, _) in enumerate(STEPS):
                    key = f"caching-cli:ctr_:{i:035d}"
                    _leave_a_dash_behind(server, b"caching-cli:prev:%035d" % i)
                    assert await adapter.set(key, 2**64 - 1)
                    answer = await (adapter.decr(key, delta) if down else adapter.incr(key, delta))
                    answers.append((answer, await adapter.get(key)))
            finally:
                await adapter.close()
            return answers

        assert asyncio.run(body()) == [(expected, expected) for _, _, expected in STEPS]


def test_a_value_that_is_no_counter_is_still_refused() -> None:
    """The fallback reads the item first: a genuine non-numeric value raises
    ``ValueError`` as before, and the item is left as it was."""
    server = servers.memcached()
    with servers.running(server):

        async def body() -> object:
            adapter = emcache_at([server.address])
            try:
                assert await adapter.set("text", "-12 not a counter")
                with pytest.raises(ValueError, match="not an int"):
                    await adapter.incr("text", 1)
                return await adapter.get("text")
            finally:
                await adapter.close()

        assert asyncio.run(body()) == "-12 not a counter"
