"""Every file of ``examples/`` runs and checks its claims, on memory:// and memcached."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import servers
from tests.cli.runner import memcached_url

ROOT = Path(__file__).parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def _run(example: Path, url: str) -> subprocess.CompletedProcess[str]:
    # A script's own directory, not the current one, starts sys.path: put
    # this checkout first, so the examples run against the code under test
    # (not another checkout installed in editable mode).
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, str(example), url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": path},
    )


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_example_on_memory(example: Path) -> None:
    result = _run(example, "memory://")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


@pytest.mark.memcached
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_example_on_memcached(example: Path, memcached_server: servers.Server) -> None:
    result = _run(example, memcached_url(memcached_server.address))
    assert result.returncode == 0, result.stderr
