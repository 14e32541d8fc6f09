"""``python -m caching check URL`` against in-process backends and memcached."""

from __future__ import annotations

import json

from caching.cli.check import RULES
from tests import servers
from tests.cli.runner import caching_cli, one_line_error


def _statuses(stdout: str) -> dict[str, str]:
    rows = [line.split(None, 1) for line in stdout.splitlines() if line.startswith("  ")]
    return {rest.split("  ")[0].strip(): status for status, rest in rows}


def test_memory_honours_every_rule() -> None:
    result = caching_cli("check", "memory://", "--flush")
    assert result.returncode == 0, result.stdout + result.stderr
    assert _statuses(result.stdout) == {rule.name: "ok" for rule in RULES}
    assert result.stdout.rstrip().endswith(f"{len(RULES)} rules hold, 0 failed")


def test_json_lists_every_rule_with_its_status() -> None:
    result = caching_cli("check", "null://", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["url"] == "null://"
    assert [rule["rule"] for rule in report["rules"]] == [rule.name for rule in RULES]
    by_rule = {rule["rule"]: rule for rule in report["rules"]}
    assert by_rule["counters"]["status"] == "FAIL"
    assert by_rule["counters"]["detail"] == "incr with initial_value=0 returned None, expected 1"
    assert by_rule["flush_all"]["status"] == "skip"


def test_flush_all_is_skipped_unless_asked() -> None:
    result = caching_cli("check", "memory://")
    assert result.returncode == 0
    assert _statuses(result.stdout)["flush_all"] == "skip"


def test_null_cache_breaks_the_rules_and_says_which() -> None:
    result = caching_cli("check", "null://")
    assert result.returncode == 1
    statuses = _statuses(result.stdout)
    assert statuses["add/replace"] == "FAIL"
    assert statuses["key rules"] == "FAIL"
    assert "replace on a missing key returned True, expected False" in result.stdout
    assert "failed: values, add/replace" in result.stdout


def test_unreachable_port_is_one_clear_line() -> None:
    port = servers.free_port()
    result = caching_cli("check", f"memcached://127.0.0.1:{port}", timeout=10)
    assert result.returncode == 3
    line = one_line_error(result)
    assert line.startswith(f"caching check: cannot connect to memcached at 127.0.0.1:{port}")
    assert f"memcached -l 127.0.0.1 -p {port}" in line
    assert result.stdout == ""
