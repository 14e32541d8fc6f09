"""Keys that would smuggle a command are refused before anything is sent:
a raw look at the server shows nothing was created."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from caching import InvalidKeyError
from tests import servers
from tests.adapters.conftest import Build

pytestmark = pytest.mark.memcached

INJECTION = "x\r\nset injected-on-wire 0 0 1\r\nZ"

CALLS: list[Callable[[Any], object]] = [
    lambda c: c.set(INJECTION, "v"),
    lambda c: c.get(INJECTION),
    lambda c: c.get_multi(["fine", INJECTION]),
    lambda c: c.set_multi({"fine": 1, INJECTION: 2}),
    lambda c: c.delete_multi(["fine", INJECTION]),
    lambda c: c.incr(INJECTION, initial_value=0),
]


@pytest.mark.parametrize("call", CALLS)
def test_injected_command_never_reaches_the_server(
    build: Build, memcached_server: servers.Server, call: Callable[[Any], object]
) -> None:
    cache = build(memcached_server.address, timeout=5.0)
    with pytest.raises(InvalidKeyError):
        call(cache)
    assert servers.command(memcached_server.address, b"get injected-on-wire", b"END\r\n") == (
        b"END\r\n"
    )
    assert cache.set("after-injection", 1) is True  # the connection is in step
    assert cache.get("after-injection") == 1
