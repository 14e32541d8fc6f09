"""The scripted loopback memcached of the misbehaving-server tests is itself
bounded and correct when fixed (tests/fake_server.py)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tests import servers
from tests.fake_server import MODES, FakeMemcached


def test_binds_loopback_on_a_free_port_and_speaks_memcached() -> None:
    with FakeMemcached(lifetime=10) as fake:
        assert fake.address.startswith("127.0.0.1:")
        assert fake.port > 0
        address = fake.address
        assert servers.command(address, b"set k 5 0 2\r\n12") == b"STORED\r\n"
        assert servers.command(address, b"add k 0 0 1\r\nx") == b"NOT_STORED\r\n"
        assert servers.command(address, b"get k j", b"END\r\n") == b"VALUE k 5 2\r\n12\r\nEND\r\n"
        assert servers.command(address, b"incr k 30") == b"42\r\n"
        assert servers.command(address, b"decr k 50") == b"0\r\n"
        assert servers.command(address, b"set t 0 0 1\r\nx") == b"STORED\r\n"
        assert (
            servers.command(address, b"incr t 1")
            == b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
        )
        assert servers.command(address, b"delete k") == b"DELETED\r\n"
        assert servers.command(address, b"delete k") == b"NOT_FOUND\r\n"
        assert servers.command(address, b"flush_all") == b"OK\r\n"
        assert servers.command(address, b"get t", b"END\r\n") == b"END\r\n"
        assert fake.received > 0


def test_stops_by_itself_after_its_lifetime() -> None:
    before = threading.active_count()
    fake = FakeMemcached(lifetime=0.3).start()
    try:
        connection = socket.create_connection(("127.0.0.1", fake.port), timeout=2)
        time.sleep(0.8)
        connection.settimeout(2)
        assert connection.recv(10) == b""  # closed by the server
        connection.close()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", fake.port), timeout=1).close()
    finally:
        fake.stop()
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert threading.active_count() <= before


def test_serves_a_bounded_number_of_connections() -> None:
    with FakeMemcached(lifetime=10, max_connections=2) as fake:
        kept = [socket.create_connection(("127.0.0.1", fake.port), timeout=2) for _ in range(2)]
        time.sleep(0.2)
        extra = socket.create_connection(("127.0.0.1", fake.port), timeout=2)
        assert extra.recv(10) == b""  # closed at once
        extra.close()
        for connection in kept:
            connection.sendall(b"version\r\n")
            assert connection.recv(100).startswith(b"VERSION ")
            connection.close()


def _replies(connection: socket.socket, request: bytes, wait: float) -> list[bytes]:
    """Send ``request``; what arrives, chunk by chunk, until ``wait`` s of quiet."""
    connection.sendall(request)
    connection.settimeout(wait)
    chunks = []
    try:
        while chunk := connection.recv(4096):
            chunks.append(chunk)
    except TimeoutError:
        pass
    return chunks


@pytest.mark.parametrize("mode", [mode for mode in MODES if mode != "fixed"])
def test_each_mode_mangles_the_reply_but_obeys_the_command(mode: str) -> None:
    with FakeMemcached(lifetime=10, stall=0.3) as fake:
        assert servers.command(fake.address, b"set k 0 0 1\r\nv") == b"STORED\r\n"
        fake.mode = mode
        with socket.create_connection(("127.0.0.1", fake.port), timeout=2) as connection:
            if mode == "bad-value":
                reply = b"".join(_replies(connection, b"get k\r\n", 0.2))
                assert reply.startswith(b"VALUE k ")
                assert reply != b"VALUE k 0 1\r\nv\r\nEND\r\n"
            elif mode == "stall":
                chunks = _replies(connection, b"set j 0 0 1\r\nw\r\n", 0.2)
                assert chunks == [b"STOR"]  # half of "STORED\r\n", then quiet past 0.2 s
                assert _replies(connection, b"", 0.5) == [b"ED\r\n"]  # the late half
            else:
                reply = b"".join(_replies(connection, b"set j 0 0 1\r\nw\r\n", 0.2))
                assert reply != b"STORED\r\n"
        fake.mode = "fixed"
        if mode != "bad-value":  # the command was obeyed
            got = servers.command(fake.address, b"get j", b"END\r\n")
            assert got == b"VALUE j 0 1\r\nw\r\nEND\r\n"
