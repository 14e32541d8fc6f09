"""Real servers for the tests: memcached (and twemproxy) on free loopback ports.

With ``CI=true`` a missing server binary fails the run; elsewhere the tests
that need it are skipped with a reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def find_binary(name: str, *extra_dirs: str) -> str:
    """Path of server binary ``name``; fail in CI, skip elsewhere, when missing."""
    path = shutil.which(name) or next(
        (
            f"{d}/{name}"
            for d in ("/usr/bin", "/usr/sbin", *extra_dirs)
            if os.access(f"{d}/{name}", os.X_OK)
        ),
        None,
    )
    if path is None:
        message = f"{name} is not installed (run scripts/install-servers or apt-get install {name})"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout: float = 5.0) -> None:
    """Block until something accepts connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listening on 127.0.0.1:{port}") from None
            time.sleep(0.02)


@dataclass
class Server:
    """A server process that this test run started, on 127.0.0.1."""

    argv: list[str]
    port: int
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.process = subprocess.Popen(
            self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_for_port(self.port)
        except RuntimeError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGCONT)  # a paused process cannot exit
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def pause(self) -> None:
        """SIGSTOP: the server holds connections open but never answers."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


def memcached(port: int | None = None, memory_mb: int = 64) -> Server:
    """A memcached 1.6 on 127.0.0.1 (not started yet)."""
    binary = find_binary("memcached")
    port = port or free_port()
    argv = [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", str(memory_mb)]
    if os.geteuid() == 0:
        argv += ["-u", "nobody"]
    return Server(argv, port)


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    """Start ``server``, yield it, and stop it whatever happens."""
    server.start()
    try:
        yield server
    finally:
        server.stop()
