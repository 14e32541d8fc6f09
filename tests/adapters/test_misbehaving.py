"""A misbehaving server or connection never leaks into other calls
(CONTRACT.md, "Failures"; docs/FAILURES.md, "Misbehaving servers").

Each adapter talks to :class:`tests.fake_server.FakeMemcached`, which answers
garbage, replies that were not asked for, replies cut in the middle and late
halves of replies, and then correct replies again. While it misbehaves no
exception escapes any contract call and no read returns another key's value;
once it is fixed, 1,000 gets from several threads (so over several pooled
connections) each return their own value.

pylibmc's writes cannot be guarded against replies they did not ask for
(libmemcached takes them as answers: a ``set`` may answer ``True`` for
another key's reply), which no test here can see; its reads are guarded (the
adapter reads values on connections of its own), in every mode, and the
subprocess tests at the end pin that no read through it gives a wrong value
or aborts the process.
"""

from __future__ import annotations

import logging
import random
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from typing import Any

import pytest

from caching.adapters.base import MemcachedAdapter
from caching.testing.threads import run_threads
from tests import servers
from tests.adapters.conftest import NAMES, builder
from tests.fake_server import MODES, FakeMemcached

pytestmark = pytest.mark.slow

#: Seconds the adapters wait for an answer (the fake's stalls are longer).
TIMEOUT = 0.3
#: Short, so that calls reach the server between two failures (with a long
#: one, a failed call makes the next ones answer at once without trying).
RETRY = 0.05
#: Keys stored while the server behaves, read back after it is fixed.
KEYS = 40
THREADS = 4
ROUNDS = 3
GETS = 1000
#: Longest wait for the adapter to read correctly again once the server is
#: fixed (pylibmc leaves a failed server alone for whole seconds, >= 1).
RECOVERY = 10.0


MISBEHAVING = [mode for mode in MODES if mode != "fixed"]


def value_of(key: str) -> str:
    return f"value of {key}"


def _options(name: str) -> dict[str, float]:
    options = {"timeout": TIMEOUT, "retry_timeout": RETRY}
    if name != "python-memcached":  # whose timeout is also the connect timeout
        options["connect_timeout"] = TIMEOUT
    return options


def _build(name: str, address: str | list[str]) -> MemcachedAdapter:
    return builder(name)(address, **_options(name))


#: Every contract call, on keys of its own (``m:``, ``a:``... never ``k:``).
CALLS: dict[str, Callable[[MemcachedAdapter, str], Any]] = {
    "get": lambda c, tag: c.get(f"m:{tag}"),
    "get_multi": lambda c, tag: c.get_multi([f"m:{tag}", f"n:{tag}"]),
    "set": lambda c, tag: c.set(f"m:{tag}", "v"),
    "add": lambda c, tag: c.add(f"a:{tag}", "v"),
    "replace": lambda c, tag: c.replace(f"m:{tag}", "w"),
    "set_multi": lambda c, tag: c.set_multi({f"m:{tag}": 1, f"n:{tag}": 2}),
    "add_multi": lambda c, tag: c.add_multi({f"a:{tag}": 1, f"b:{tag}": 2}),
    "replace_multi": lambda c, tag: c.replace_multi({f"m:{tag}": 3}),
    "delete": lambda c, tag: c.delete(f"d:{tag}"),
    "delete_multi": lambda c, tag: c.delete_multi([f"d:{tag}", f"e:{tag}"]),
    "incr": lambda c, tag: c.incr(f"c:{tag}", initial_value=0),
    "decr": lambda c, tag: c.decr(f"c:{tag}"),
    "incr-missing": lambda c, tag: c.incr(f"x:{tag}"),
    "flush_all": lambda c, tag: None,  # would drop the k: keys; run once, below
}


def _reads(adapter: MemcachedAdapter, keys: list[str]) -> list[str]:
    """Read ``keys`` one by one and together; what came back that is not
    the key's own value (a miss is allowed)."""
    wrong = []
    for key in keys:
        value = adapter.get(key)
        if value is not None and value != value_of(key):
            wrong.append(f"get({key!r}) -> {value!r}")
    for key, value in adapter.get_multi(keys).items():
        if value != value_of(key):
            wrong.append(f"get_multi: {key!r} -> {value!r}")
    return wrong


def _misbehave(
    adapter: MemcachedAdapter, keys: list[str], flush: bool = True
) -> tuple[list[str], list[str]]:
    """Every contract call from several threads (and ``flush_all`` once,
    which drops ``keys``): ``(escaped, wrong)``."""

    def work(index: int) -> tuple[list[str], list[str]]:
        rng = random.Random(index)
        escaped: list[str] = []
        wrong: list[str] = []
        for round_ in range(ROUNDS):
            names = list(CALLS)
            rng.shuffle(names)  # each call sometimes first after a failure
            for name in names:
                call = CALLS[name]
                try:
                    call(adapter, f"{index}:{round_}")
                    wrong.extend(_reads(adapter, rng.sample(keys, 3)))
                except Exception as exc:
                    escaped.append(f"{name}: {type(exc).__name__}: {exc}")
        return escaped, wrong

    results = run_threads(THREADS, work)
    escaped = [line for part, _ in results for line in part]
    wrong = [line for _, part in results for line in part]
    try:
        if flush:
            adapter.flush_all()  # its answer may be anything but an exception
    except Exception as exc:
        escaped.append(f"flush_all: {type(exc).__name__}: {exc}")
    return escaped, wrong


def _until_back(adapter: MemcachedAdapter, keys: list[str]) -> None:
    """Store the keys again (the fake obeyed the ``flush_all`` it was sent)
    and wait until they read back right on every pooled connection."""
    deadline = time.monotonic() + RECOVERY
    while time.monotonic() < deadline:
        if adapter.set_multi({key: value_of(key) for key in keys}) == []:
            reads = run_threads(THREADS, lambda i: [adapter.get(key) for key in keys[:8]])
            if all(got == [value_of(key) for key in keys[:8]] for got in reads):
                return
        time.sleep(0.1)
    raise AssertionError(f"reads not right again within {RECOVERY} s of the fix")


def _gets_after_the_fix(adapter: MemcachedAdapter, keys: list[str]) -> list[tuple[str, Any]]:
    """``GETS`` gets of random keys from several threads: ``(key, value)`` each."""

    def work(index: int) -> list[tuple[str, Any]]:
        rng = random.Random(1000 + index)
        return [(key, adapter.get(key)) for key in rng.choices(keys, k=GETS // THREADS)]

    return [pair for part in run_threads(THREADS, work) for pair in part]


@pytest.mark.parametrize("mode", MISBEHAVING)
@pytest.mark.parametrize("name", NAMES)
def test_no_exception_escapes_and_no_call_reads_another_calls_reply(
    name: str, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    keys = [f"k:{i}" for i in range(KEYS)]
    with FakeMemcached(lifetime=90, stall=2 * TIMEOUT) as fake:
        adapter = _build(name, fake.address)
        assert adapter.set_multi({key: value_of(key) for key in keys}) == []
        caplog.set_level(logging.WARNING)
        fake.mode = mode
        started = time.monotonic()
        escaped, wrong = _misbehave(adapter, keys)
        took = time.monotonic() - started
        fake.mode = "fixed"
        assert escaped == []
        assert wrong == []
        # reported as a server failure, once per period, not once per call
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert 1 <= len(warnings) <= 2 + took / RETRY, [r.getMessage() for r in warnings]
        _until_back(adapter, keys)
        time.sleep(1.2)  # every pooled connection past any failed-server period
        got = _gets_after_the_fix(adapter, keys)
        assert len(got) == GETS
        assert [(key, value) for key, value in got if value != value_of(key)] == []


@pytest.mark.parametrize("mode", ["garbage", "other-key", "extra"])
@pytest.mark.parametrize("name", NAMES)
def test_one_misbehaving_server_of_two_spoils_only_its_own_keys(name: str, mode: str) -> None:
    keys = [f"k:{i}" for i in range(KEYS)]
    with FakeMemcached(lifetime=60) as bad, FakeMemcached(lifetime=60) as good:
        adapter = _build(name, [bad.address, good.address])
        assert adapter.set_multi({key: value_of(key) for key in keys}) == []
        on_good = {key for key in keys if key.encode() in good.items}
        assert 0 < len(on_good) < KEYS  # spread over both
        bad.mode = mode
        escaped, wrong = _misbehave(adapter, keys, flush=False)
        assert escaped == []
        assert wrong == []
        # the good server's keys are still read, one by one and together
        for key in on_good:
            assert adapter.get(key) == value_of(key)
        found = adapter.get_multi(keys)
        assert {key: found[key] for key in on_good} == {key: value_of(key) for key in on_good}
        assert all(found[key] == value_of(key) for key in found)


@pytest.mark.parametrize("name", NAMES)
def test_an_unread_reply_left_on_a_connection_is_never_read_as_an_answer(name: str) -> None:
    """The server runs one reply ahead for a single command: the next call
    on that connection must not read the extra reply as its own answer."""
    with FakeMemcached(lifetime=30) as fake:
        adapter = _build(name, fake.address)
        assert adapter.set_multi({"k:1": value_of("k:1"), "k:2": value_of("k:2")}) == []
        fake.mode = "extra"  # answers, then sends a reply for another key
        assert adapter.get("k:1") in (None, value_of("k:1"))
        fake.mode = "fixed"
        time.sleep(0.05)  # the unrequested reply has arrived
        for _ in range(20):
            assert adapter.get("k:2") == value_of("k:2")
            assert adapter.get("k:1") == value_of("k:1")


@pytest.mark.parametrize("name", ["pymemcache", "python-memcached"])
def test_a_connection_the_server_closed_is_replaced_before_the_next_command(name: str) -> None:
    """The check before each command also finds the end of a connection the
    server closed (restart, idle timeout): the command goes out on a new one
    instead of failing (pylibmc's connections are libmemcached's own)."""
    with FakeMemcached(lifetime=30) as fake:
        adapter = _build(name, fake.address)
        assert adapter.set("k", "v") is True
        for _ in range(5):
            fake.drop_connections()
            time.sleep(0.05)  # the end of the connection has arrived
            assert adapter.get("k") == "v"
            assert adapter.set("k", "v") is True
        assert fake.connections == 6


@pytest.mark.parametrize("name", NAMES)
def test_one_error_reply_does_not_make_reads_of_other_keys_miss(name: str) -> None:
    """A ``CLIENT_ERROR`` (memcached's two-line answer to an exptime it cannot
    parse) is one bad reply, not a dead server: the next reads still hit."""
    with FakeMemcached(lifetime=30) as fake:
        adapter = _build(name, fake.address)
        assert adapter.set("other", "value") is True
        fake.mode = "two-lines"
        assert adapter.set("k", "v") is False
        fake.mode = "fixed"
        for _ in range(20):
            assert adapter.get("other") == "value"


@pytest.mark.parametrize("name", NAMES)
def test_incr_tells_a_value_that_is_not_a_counter_from_a_bad_reply(name: str) -> None:
    with FakeMemcached(lifetime=30) as fake:
        adapter = _build(name, fake.address)
        assert adapter.set("n", 5) is True
        for value in ["not a number", None, 1.5, -3, 2**70, b"7"]:
            assert adapter.set("other", value) is True
            with pytest.raises(ValueError, match="not an int"):
                adapter.incr("other")  # memcached's non-numeric CLIENT_ERROR: a programming error
            with pytest.raises(ValueError, match="not an int"):
                adapter.decr("other", initial_value=0)
        assert adapter.incr("n") == 6  # and the adapter stays healthy
        fake.mode = "garbage"
        assert adapter.incr("n") is None  # a reply it cannot read: a failure
        assert adapter.decr("n") is None
        fake.mode = "fixed"
        deadline = time.monotonic() + RECOVERY
        while adapter.get("n") is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert adapter.incr("n") == 7  # 6, +1 and -1 by the garbled calls (the server obeyed), +1


@pytest.mark.memcached
@pytest.mark.parametrize("name", NAMES)
def test_the_first_incr_after_the_server_dies_answers_none(name: str) -> None:
    server = servers.memcached()
    with servers.running(server):
        adapter = _build(name, server.address)
        assert adapter.set("n", 10) is True
        assert adapter.incr("n") == 11
        server.stop()
        assert adapter.incr("n") is None  # python-memcached: ValueError("not an int") before
        assert adapter.decr("n") is None
        assert adapter.incr("n", initial_value=0) is None
        server.start()
        deadline = time.monotonic() + RECOVERY
        while adapter.incr("n", initial_value=0) is None:
            assert time.monotonic() < deadline, "incr not back"
            time.sleep(0.1)


# -- pylibmc, in a subprocess: what no adapter can guard ---------------------

_PYLIBMC_RUN = """
import sys, time
sys.path.insert(0, {root!r})
from tests.fake_server import FakeMemcached
from caching.adapters.pylibmc import PylibmcAdapter

with FakeMemcached(lifetime=20) as fake:
    adapter = PylibmcAdapter(fake.address, timeout=0.3, connect_timeout=0.3)
    keys = [f"k:{{i}}" for i in range(5)]
    assert adapter.set_multi({{key: "value of " + key for key in keys}}) == []
    fake.mode = {mode!r}
    wrong = 0
    for round_ in range(4):
        for key in keys:
            {call}
            time.sleep(0.02)  # the reply not asked for has arrived
    print("wrong", wrong, flush=True)
"""


def _run_pylibmc(mode: str, call: str) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("pylibmc")
    root = str(__import__("pathlib").Path(__file__).parents[2])
    source = textwrap.dedent(_PYLIBMC_RUN).format(root=root, mode=mode, call=call)
    return subprocess.run(
        [sys.executable, "-c", source], capture_output=True, text=True, timeout=60, check=False
    )


_READS = {
    "get": "value = adapter.get(key)\n            wrong += value not in (None, 'value of ' + key)",
    "get_multi": "found = adapter.get_multi([key, 'k:0'])\n"
    "            wrong += any(v != 'value of ' + k for k, v in found.items())",
}


@pytest.mark.parametrize("read", list(_READS))
@pytest.mark.parametrize("mode", ["other-key", "extra", "two-lines"])
def test_pylibmcs_reads_never_take_a_reply_they_did_not_ask_for(mode: str, read: str) -> None:
    """The adapter reads values on connections of its own (not libmemcached's,
    which took other keys' replies as answers and aborted the process in
    ``get_multi``: docs/FAILURES.md): no wrong value, no abort."""
    run = _run_pylibmc(mode, _READS[read])
    assert run.returncode == 0, (run.returncode, run.stdout, run.stderr)
    assert run.stdout.split()[-2:] == ["wrong", "0"], run.stdout


@pytest.mark.parametrize("name", ["pymemcache", "python-memcached"])
def test_a_bad_reply_leaves_the_servers_health_alone(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A server that answered, out of step, is not a server that is down: no
    hold-off, no pool renewed, no "is back" (the connection alone is closed)."""
    caplog.set_level(logging.INFO)
    with FakeMemcached(lifetime=30) as fake:
        adapter = _build(name, fake.address)
        assert adapter.set_multi({"k:1": value_of("k:1"), "k:2": value_of("k:2")}) == []
        fake.mode = "extra"
        adapter.get("k:1")
        fake.mode = "fixed"
        time.sleep(0.05)
        for _ in range(20):
            assert adapter.get("k:2") == value_of("k:2")
        assert adapter.failures.down == frozenset()
    # (Only this server's records: another test's adapter may still be
    # watching servers of its own in a thread.)
    ours = [r.getMessage() for r in caplog.records if fake.address in r.getMessage()]
    assert [m for m in ours if "is back" in m] == []
    assert any("could not be read" in m for m in ours)
