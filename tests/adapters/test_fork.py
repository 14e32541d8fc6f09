"""Fork, every way (issue 17, point 6): a forked child never uses a client
of its parent, whether the adapter built its own pool or was handed a
foreign one (wheezy.caching's ``MemcachedClient(pool)``), and a child that
exits normally leaves its parent's connections working."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from caching.adapters.base import MemcachedAdapter
from tests import servers
from tests.adapters.conftest import NAMES
from tests.adapters.pools import EagerPool

pytestmark = pytest.mark.memcached

ROUND_TRIPS = 500
ROOT = Path(__file__).resolve().parents[2]


def _foreign_pool_adapter(address: str, size: int = 2) -> MemcachedAdapter:
    pylibmc = pytest.importorskip("caching.pylibmc")
    pool = EagerPool(lambda: pylibmc.client_factory([address]), size)
    adapter: MemcachedAdapter = pylibmc.MemcachedClient(pool)
    return adapter


def _connect_every_client(adapter: MemcachedAdapter, size: int) -> None:
    """Check every client out at once and use it, so that each holds a
    connection before the fork."""
    pool = adapter.pool
    held = [pool.acquire() for _ in range(size)]
    for client in held:
        assert client.set(b"warm", (b"1", 0)) is True
    for client in held:
        pool.get_back(client)


def _round_trips(adapter: MemcachedAdapter, prefix: str) -> tuple[int, int]:
    """``ROUND_TRIPS`` set/get of distinct values: (wrong values, failed calls)."""
    wrong = failed = 0
    for i in range(ROUND_TRIPS):
        key = f"{prefix}-{i}"
        if not adapter.set(key, f"{prefix} {i}"):
            failed += 1
        value = adapter.get(key)
        if value is None:
            failed += 1
        elif value != f"{prefix} {i}":
            wrong += 1
    return wrong, failed


def test_parent_and_child_never_share_a_client_of_a_foreign_pool(
    memcached_server: servers.Server,
) -> None:
    adapter = _foreign_pool_adapter(memcached_server.address)
    _connect_every_client(adapter, 2)
    prefix = uuid.uuid4().hex
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            os.close(read)
            os.write(write, json.dumps(_round_trips(adapter, f"{prefix}-child")).encode())
        finally:
            os._exit(0)
    os.close(write)
    parent = _round_trips(adapter, f"{prefix}-parent")
    with os.fdopen(read) as pipe:
        reported = pipe.read()
    status = os.waitpid(pid, 0)[1]
    assert os.waitstatus_to_exitcode(status) == 0, "the child died"
    assert tuple(json.loads(reported)) == (0, 0), "child: (wrong values, failed calls)"
    assert parent == (0, 0), "parent: (wrong values, failed calls)"


def test_a_child_of_a_child_gets_its_own_clients_too(memcached_server: servers.Server) -> None:
    adapter = _foreign_pool_adapter(memcached_server.address)
    _connect_every_client(adapter, 2)
    prefix = uuid.uuid4().hex
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            # The child's own clients, connected; then a grandchild of its own.
            assert _round_trips(adapter, f"{prefix}-child") == (0, 0)
            grandchild = os.fork()
            if grandchild == 0:
                try:
                    ok = _round_trips(adapter, f"{prefix}-grandchild") == (0, 0)
                finally:
                    os._exit(0 if ok else 1)
            ok = _round_trips(adapter, f"{prefix}-child-again") == (0, 0)
            waited = os.waitstatus_to_exitcode(os.waitpid(grandchild, 0)[1])
            code = 0 if ok and waited == 0 else 1
        finally:
            os._exit(code)
    assert _round_trips(adapter, f"{prefix}-parent") == (0, 0)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


#: Run in a fresh interpreter: build an adapter, connect, fork; the child
#: works and exits *normally* (interpreter finalization frees what it
#: holds); then the parent makes calls and reports what failed.
CHILD_EXITS_NORMALLY = textwrap.dedent(
    """
    import json, logging, os, sys
    from caching.adapters import adapter_class

    warnings = []
    class Keep(logging.Handler):
        def emit(self, record):
            warnings.append(record.getMessage())
    logging.getLogger("caching").addHandler(Keep(logging.WARNING))

    name, address, foreign = sys.argv[1], sys.argv[2], sys.argv[3] == "foreign"
    if foreign:
        from caching.adapters.pylibmc import PylibmcAdapter, client_factory
        from tests.adapters.pools import EagerPool
        adapter = PylibmcAdapter(EagerPool(lambda: client_factory([address]), 1))
    else:
        adapter = adapter_class(name).build(address)
    assert adapter.set("before", 1)
    pid = os.fork()
    if pid == 0:
        adapter.set("child", 2)
        sys.exit(0)
    os.waitpid(pid, 0)
    def works(i):
        return adapter.set(f"after{i}", i) and adapter.get(f"after{i}") == i
    failed = [i for i in range(20) if not works(i)]
    print(json.dumps({"failed": failed, "warnings": warnings, "child": adapter.get("child")}))
    """
)


@pytest.mark.parametrize(
    ("name", "foreign"),
    [*((name, "own") for name in NAMES), ("pylibmc", "foreign")],
)
def test_a_child_exiting_normally_leaves_the_parent_connections_alone(
    name: str, foreign: str, memcached_server: servers.Server
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD_EXITS_NORMALLY, name, memcached_server.address, foreign],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report == {"failed": [], "warnings": [], "child": 2}
