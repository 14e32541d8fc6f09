"""Work done in spawned child processes by the region and invalidation tests.

Kept free of pytest so that a spawned child imports it quickly.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from caching import from_url
from caching.patterns import Cached, key_builder

#: The "database" row the cached functions read, kept in the shared memcached.
ROW = "db:row"


def slow_creator(url: str, decorator: str, read: Any, go: Any, done: Any) -> str:
    """Call a decorated function whose creator reads :data:`ROW`, then sets
    ``read`` and waits for ``go`` before it returns (and so before it stores).

    :returns: what the call returned.
    """
    cache = from_url(url)
    cached = Cached(cache, key_builder("race"), time=60)

    @getattr(cached, decorator)
    def listing(name: str) -> Any:
        row = cache.get(ROW)
        read.set()
        if not go.wait(30):
            raise RuntimeError("never told to go on")
        return f"{name}:{row}"

    try:
        return str(listing("tea"))
    finally:
        done.set()
        cache.close()  # type: ignore[attr-defined]


def cmd_get(address: str) -> int:
    """The server's ``cmd_get`` (``stats``), read on a connection of its own."""
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(b"stats\r\n")
        reply = b""
        while not reply.endswith(b"END\r\n"):
            chunk = connection.recv(65536)
            if not chunk:
                break
            reply += chunk
    for line in reply.split(b"\r\n"):
        if line.startswith(b"STAT cmd_get "):
            return int(line.split()[2])
    raise RuntimeError("no cmd_get in stats")


def region_process(
    role: str,
    address: str,
    check: float,
    events: dict[str, Any],
    hits: int,
    pause: float,
) -> dict[str, Any]:
    """One of two processes sharing a region on the memcached at ``address``.

    Both configure the region ``shared`` and call ``report("x")`` (made once,
    then hits). Then ``"B"`` makes ``hits`` calls ``pause`` seconds apart
    while ``"A"`` waits, and measures the server's ``cmd_get`` around them;
    then ``"A"`` calls ``region.invalidate()`` (and reads the item, a miss)
    and ``"B"`` calls every 10 ms until its function runs again, measuring
    how long that took.
    """
    from caching.regions import Region

    url = f"memcached://{address}?client=pymemcache&timeout=5&connect_timeout=5"
    region = Region("shared", invalidation_check=check)
    made: list[float] = []

    @region.cache_on_arguments
    def report(name: str) -> str:
        made.append(time.monotonic())
        return f"report {name} by {role} #{len(made)}"

    region.configure(url, time=60)
    first = report("x")
    report("x")
    answer: dict[str, Any] = {"first": first}
    events[role + "_ready"].set()
    if role == "B":
        if not events["A_ready"].wait(30):
            raise RuntimeError("A never got ready")
        before_made = len(made)
        before = cmd_get(address)
        started = time.monotonic()
        for _ in range(hits):
            report("x")
            time.sleep(pause)
        answer["elapsed"] = time.monotonic() - started
        answer["cmd_get"] = cmd_get(address) - before
        answer["made_during_hits"] = len(made) - before_made
        events["measured"].set()
        if not events["invalidated"].wait(30):
            raise RuntimeError("never invalidated")
        seen = time.monotonic()
        before_made = len(made)
        while len(made) == before_made and time.monotonic() - seen < 30:
            report("x")
            time.sleep(0.01)
        answer["rerun_after"] = made[-1] - seen if len(made) > before_made else None
        answer["after"] = report("x")
    else:
        if not events["measured"].wait(30):
            raise RuntimeError("B never measured")
        before_made = len(made)
        answer["invalidated"] = region.invalidate()
        # this process: a miss at once (read without making it, so that B
        # does not find a value made here)
        answer["miss_here"] = report.get("x") is None
        events["invalidated"].set()
    region.backend.close()  # type: ignore[union-attr]
    return answer


def reporting(target: str, results: Any, *args: Any) -> None:
    """Run ``globals()[target](*args)`` and put ``(True, answer)`` or
    ``(False, repr(error))`` on ``results``."""
    try:
        results.put((True, globals()[target](*args)))
    except BaseException as exc:
        results.put((False, repr(exc)))
