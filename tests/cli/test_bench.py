"""``python -m caching bench`` with a small number of operations."""

from __future__ import annotations

import importlib.util
import json

import pytest

from caching.cli.timing import per_call
from tests.cli.runner import caching_cli

OPERATIONS = {
    "get (hit)",
    "get (miss)",
    "set",
    "add (exists)",
    "incr",
    "delete (miss)",
    "get_multi x10",
    "set_multi x10",
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
        ]
        if _installed(module)
    }
    assert set(report["ratios"]) == expected_peers
    for peer in expected_peers:
        for name, ratio in report["ratios"][peer].items():
            ours, theirs = report["results"]["caching"][name], report["results"][peer][name]
            assert ratio == pytest.approx(ours / theirs)
    assert result.stderr == ""


def test_table_and_progress() -> None:
    result = caching_cli("bench", "--ops", "20")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("caching bench memory://: 20 ops per run")
    for name in OPERATIONS:
        assert f"\n{name} " in result.stdout
    assert "bench: [1/" in result.stderr


def test_per_call_runs_ops_times_rounds_and_returns_seconds_per_call() -> None:
    calls = []
    seconds = per_call(lambda: calls.append(1), ops=7, rounds=3)
    assert len(calls) == 21
    assert 0 < seconds < 0.01


@pytest.mark.parametrize(("ops", "rounds"), [(0, 1), (1, 0)])
def test_per_call_refuses_no_work(ops: int, rounds: int) -> None:
    with pytest.raises(ValueError, match="must be >= 1"):
        per_call(lambda: None, ops, rounds)
