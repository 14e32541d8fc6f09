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

    def start(self, attempts: int = 20) -> Server:
        """Start the server on its port; a restart whose port a passing
        socket holds (a client's ephemeral port, seen in CI) is tried again
        every 0.25 s, ``attempts`` times in all."""
        for attempt in range(attempts):
            self.process = subprocess.Popen(
                self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            try:
                wait_for_port(self.port)
                time.sleep(0.05)
                if self.process.poll() is None:
                    return self
            except RuntimeError:
                self.stop()
                raise
            self.process = None  # another process took the port
            if attempt + 1 < attempts:
                time.sleep(0.25)
        raise RuntimeError(f"{self.argv[0]} exited at start on port {self.port}")

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
        """SIGSTOP: the server holds connections open but never answers.

        Returns once every thread of the server has stopped: the signal is
        delivered asynchronously, and on a busy machine a worker thread can
        still answer a request sent right after ``kill`` returns.
        """
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        deadline = time.monotonic() + 5.0
        while not _all_threads_stopped(self.process.pid):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.argv[0]} did not stop within 5 s")
            time.sleep(0.001)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


def _all_threads_stopped(pid: int) -> bool:
    """Whether every thread of process ``pid`` is stopped (``T`` in /proc);
    ``True`` where there is no /proc to ask."""
    tasks = f"/proc/{pid}/task"
    if not os.path.isdir(tasks):
        return True
    for tid in os.listdir(tasks):
        try:
            with open(f"{tasks}/{tid}/stat") as stat:
                state = stat.read().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):  # the thread has exited
            continue
        if state not in ("T", "t"):
            return False
    return True


def memcached(port: int | None = None, memory_mb: int = 1024) -> Server:
    """A memcached 1.6 on 127.0.0.1 (not started yet).

    :param memory_mb: memcached's ``-m``. Ample by default: the suite stores
        many values near the 1 MiB item size, and under a small ``-m``
        memcached assigns its pages to the large slab classes and then evicts
        small items (another test's keys) to store new ones. Memory is taken
        only as items need it.
    """
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


def nutcracker(backends: list[Server], directory: str, port: int | None = None) -> Server:
    """A twemproxy (nutcracker) on 127.0.0.1 in front of ``backends`` (not started).

    Ketama over the backends, no ejection, stats on another free loopback
    port; its configuration and log go to ``directory``.
    """
    binary = find_binary("nutcracker")
    port = port or free_port()
    lines = [
        "cache:",
        f"  listen: 127.0.0.1:{port}",
        "  hash: fnv1a_64",
        "  distribution: ketama",
        "  auto_eject_hosts: false",
        "  timeout: 10000",
        "  servers:",
        *(f"   - {backend.address}:1" for backend in backends),
    ]
    config = os.path.join(directory, "nutcracker.yml")
    with open(config, "w") as file:
        file.write("\n".join(lines) + "\n")
    argv = [binary, "-c", config, "-s", str(free_port()), "-a", "127.0.0.1"]
    argv += ["-o", os.path.join(directory, "nutcracker.log"), "-p", os.path.join(directory, "pid")]
    return Server(argv, port)


def command(address: str, line: bytes, end: bytes = b"\r\n") -> bytes:
    """Send one text-protocol command to ``address`` and return the reply
    (read until it ends with ``end``): a raw look at the server."""
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(line + b"\r\n")
        reply = b""
        while not reply.endswith(end):
            chunk = connection.recv(65536)
            if not chunk:
                break
            reply += chunk
    return reply


def flush(server: Server) -> None:
    """``flush_all`` on ``server`` directly."""
    assert command(server.address, b"flush_all") == b"OK\r\n"


def item_count(server: Server) -> int:
    """Number of live items ``server`` holds (``stats`` ``curr_items``)."""
    for line in command(server.address, b"stats", b"END\r\n").split(b"\r\n"):
        if line.startswith(b"STAT curr_items "):
            return int(line.split()[2])
    raise AssertionError("no curr_items in stats")
