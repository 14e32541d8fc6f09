"""A memcached on a Unix socket, named ``unix:/path`` in the URL, for every adapter."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from caching import from_url
from tests import servers


@pytest.fixture(scope="module")
def socket_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    binary = servers.find_binary("memcached")
    path = tmp_path_factory.mktemp("unix") / "memcached.sock"
    argv = [binary, "-s", str(path), "-a", "0600", "-U", "0"]
    if os.geteuid() == 0:
        argv += ["-u", "root"]  # the socket lives in a directory only we can write
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while not path.exists():
            assert process.poll() is None, "memcached exited at start"
            assert time.monotonic() < deadline, "memcached did not create its socket"
            time.sleep(0.02)
        yield path
    finally:
        process.terminate()
        process.wait(5)


@pytest.mark.parametrize("client", ["pylibmc", "pymemcache", "python-memcached"])
def test_each_adapter_serves_a_unix_socket(socket_path: Path, client: str) -> None:
    cache = from_url(f"memcached://unix:{socket_path}?client={client}&timeout=5")
    key = f"unix-{client}"
    assert cache.set(key, 41) is True
    assert cache.incr(key) == 42
    assert cache.get_multi([key, "missing"]) == {key: 42}
    assert cache.delete(key) is True
