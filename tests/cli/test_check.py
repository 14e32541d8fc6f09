"""``python -m caching check URL`` against in-process backends and memcached."""

from __future__ import annotations

import json
import os
import re
import socket

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
    assert re.search(r"^ping: memory \d+ µs$", result.stdout, re.MULTILINE)


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
    # memcached refuses to run as root without -u: the hint must work as given
    assert (" -u nobody" in line) is (os.geteuid() == 0)
    assert result.stdout == ""


def test_a_listener_that_never_answers_is_reported_as_not_answering() -> None:
    with socket.socket() as silent:  # accepts connections (backlog), never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        url = f"memcached://127.0.0.1:{port}?client=pymemcache&timeout=0.2"
        result = caching_cli("check", url, timeout=30)
    assert result.returncode == 3
    assert "accepted the connection but did not answer memcached's version" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
