"""``python -m caching demo``: the scenario on memory://, on memcached, and failing."""

from __future__ import annotations

import re

import pytest

from caching.cli.demo import STEPS
from tests import servers
from tests.cli.runner import caching_cli, memcached_url, one_line_error


def _assert_every_step_ok(stdout: str) -> None:
    assert re.findall(r"^\d\. .*: (ok|FAILED)$", stdout, re.M) == ["ok"] * len(STEPS), stdout
    assert "product(1) asked 3 times: 1 catalog read, 2 cache hits" in stdout
    assert "creator called 1 time" in stdout
    assert "bob: 3 failures, then the right password -> [False, False, False, 'locked']" in stdout
    assert "2 emitted" in stdout
    assert f"all {len(STEPS)} steps behaved as expected" in stdout


def test_demo_on_the_embedded_default() -> None:
    result = caching_cli("demo")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("caching demo: shared tier memory://")
    assert result.stdout.splitlines()[1].startswith("ping: memory ")
    _assert_every_step_ok(result.stdout)
    assert result.stderr == ""


@pytest.mark.memcached
def test_demo_on_memcached_twice(memcached_server: servers.Server) -> None:
    url = memcached_url(memcached_server.address)
    for _ in range(2):  # a second run must not see the first run's items
        result = caching_cli("demo", "--url", url)
        assert result.returncode == 0, result.stdout + result.stderr
        _assert_every_step_ok(result.stdout)


def test_a_misbehaving_backend_fails_the_demo_with_a_clear_report() -> None:
    result = caching_cli("demo", "--url", "null://")  # stores nothing: no step can work
    assert result.returncode == 1
    assert "1. read-through cache (@cached, shared tier): FAILED" in result.stdout
    assert "FAILED: expected 1 catalog read, saw 3" in result.stdout
    assert re.search(r"\d of 5 steps misbehaved", result.stdout)
    assert "Traceback" not in result.stdout + result.stderr


def test_demo_on_an_unreachable_memcached_says_how_to_start_one() -> None:
    port = servers.free_port()
    result = caching_cli("demo", "--url", f"memcached://127.0.0.1:{port}", timeout=10)
    assert result.returncode == 3
    line = one_line_error(result)
    assert f"cannot connect to memcached at 127.0.0.1:{port}" in line
    assert "memcached -l 127.0.0.1 -p" in line


def test_the_command_line_needs_no_test_tools() -> None:
    # `make demo` installs the package alone: nothing the command line
    # imports may need pytest (or any other development tool).
    import subprocess
    import sys

    script = (
        "import sys; sys.modules['pytest'] = None; sys.modules['hypothesis'] = None\n"
        "from caching.cli import main\n"
        "raise SystemExit(main(['demo']) or main(['check', 'memory://']))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    assert "all 5 steps behaved as expected" in run.stdout
