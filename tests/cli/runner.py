"""Run ``python -m caching`` as a subprocess, as a user would."""

from __future__ import annotations

import subprocess
import sys

#: Seconds any command of the test suite may take.
TIMEOUT = 60


def caching_cli(*args: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    """Run ``python -m caching ARGS``; return its status, stdout and stderr."""
    return subprocess.run(
        [sys.executable, "-m", "caching", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single line a failed command printed on stderr (no traceback)."""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def memcached_url(address: str, client: str | None = None) -> str:
    """A ``memcached://`` URL for ``address`` with generous timeouts: the tests
    check behaviour, and a loaded CI machine can take longer than the
    adapters' 0.5 s defaults to answer."""
    chosen = f"client={client}&" if client else ""
    return f"memcached://{address}?{chosen}timeout=5"
