"""``python -m caching bench`` with a small number of operations."""

from __future__ import annotations

import importlib.util
import json

import pytest

from caching.cli.bench import measure
from caching.cli.peers import VALUE, Ops
from caching.cli.timing import CallFailedError, best_in_turns, per_call
from tests.cli.runner import caching_cli

OPERATIONS = {
    "get (hit)",
    "get (miss)",
    "set",
    "set (str)",
    "add (exists)",
    "incr (expiring)",
    "delete (miss)",
    "get_multi x10",
    "set_multi x10",
    "@cached (hit)",
    "get_or_create (hit)",
}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def test_json_report_times_every_operation_and_each_installed_peer() -> None:
    result = caching_cli("bench", "--ops", "50", "--json", "--quiet")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["url"] == "memory://"
    assert report["ops"] == 50
    assert set(report["results"]["caching"]) == OPERATIONS
    assert all(micros > 0 for micros in report["results"]["caching"].values())
    expected_peers = {
        peer
        for peer, module in [
            ("wheezy.caching", "wheezy.caching"),
            ("dogpile.cache", "dogpile.cache"),
            ("cachetools", "cachetools"),
            ("django", "django"),
        ]
        if _installed(module)
    }
    assert set(report["ratios"]) == expected_peers
    for peer in expected_peers:
        for name, ratio in report["ratios"][peer].items():
            ours, theirs = report["results"]["caching"][name], report["results"][peer][name]
            assert ratio == pytest.approx(theirs / ours)
    assert report["unit"] == "ns/op"
    assert report["clock"] == "cpu"
    assert report["left_out"] == {}
    assert result.stderr == ""


def test_table_and_progress() -> None:
    result = caching_cli("bench", "--ops", "20")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("caching bench memory://: best of 5 runs of 20 ops")
    assert "| operation | caching ns/op |" in result.stdout
    for name in OPERATIONS:
        assert f"\n| {name} | " in result.stdout
    assert "bench: [1/11] get (hit)" in result.stderr


def test_per_call_runs_ops_calls_and_returns_nanoseconds_per_call() -> None:
    calls = []
    nanos = per_call(lambda: calls.append(1), ops=7)
    assert len(calls) == 7
    assert 0 < nanos < 10_000_000


def test_best_in_turns_times_each_call_every_round() -> None:
    counts = {"a": 0, "b": 0}

    def bump(name: str) -> None:
        counts[name] += 1

    best = best_in_turns({"a": lambda: bump("a"), "b": lambda: bump("b")}, ops=5, rounds=3)
    assert counts == {"a": 15, "b": 15}
    assert set(best) == {"a", "b"}
    assert all(0 < nanos < float("inf") for nanos in best.values())


def test_best_in_turns_names_the_call_that_failed() -> None:
    def broken() -> None:
        raise ConnectionError("gone")

    with pytest.raises(CallFailedError, match="b: ConnectionError: gone") as caught:
        best_in_turns({"a": lambda: None, "b": broken}, ops=1)
    assert caught.value.name == "b"


def test_a_failing_peer_is_left_out_and_the_others_are_timed() -> None:
    healthy: Ops = {"get (hit)": lambda: VALUE, "set": lambda: True}
    failing: Ops = {"get (hit)": lambda: VALUE, "set": _raise}
    stale: Ops = {"get (hit)": lambda: None}
    results, dropped = measure(
        {"caching": healthy, "flaky": failing, "stale": stale}, ops=3, quiet=True
    )
    assert set(results) == {"caching"}
    assert set(results["caching"]) == {"get (hit)", "set"}
    assert dropped["flaky"] == "OSError: server went away"
    assert dropped["stale"].startswith("a stored item did not read back")


def _raise() -> None:
    raise OSError("server went away")


@pytest.mark.parametrize(("ops", "rounds"), [(0, 1), (1, 0)])
def test_timing_refuses_no_work(ops: int, rounds: int) -> None:
    with pytest.raises(ValueError, match="must be >= 1"):
        best_in_turns({"a": lambda: None}, ops, rounds)
