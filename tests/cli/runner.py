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
