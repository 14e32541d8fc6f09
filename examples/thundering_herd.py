"""Many threads miss the same expensive key at once: only one builds it."""

from __future__ import annotations

import sys
import threading
import time
import uuid

from caching import from_url
from caching.patterns import Cached

cache = from_url(sys.argv[1] if len(sys.argv) > 1 else "memory://")
cached = Cached(cache, time=60, timeout=10)
key = f"example-report:{uuid.uuid4().hex}"  # fresh on every run
builds: list[int] = []


def build_report() -> dict[str, int]:
    builds.append(1)
    time.sleep(0.2)  # an expensive query
    return {"orders": 1280}


results: list[dict[str, int]] = []
start = threading.Barrier(16)


def request() -> None:
    start.wait()
    results.append(cached.get_or_create(key, build_report))


threads = [threading.Thread(target=request) for _ in range(16)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
assert len(builds) == 1, builds
assert results == [{"orders": 1280}] * 16
cache.delete(key)
print("thundering herd: 16 concurrent requests, the report was built once")
