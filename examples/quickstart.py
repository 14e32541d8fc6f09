"""The cache contract in ten lines, then two tiers behind one CacheClient."""

from __future__ import annotations

import sys

from caching import CacheClient, MemoryCache, from_url

url = sys.argv[1] if len(sys.argv) > 1 else "memory://"
cache = from_url(url)  # memory://, memcached://host:port?client=pymemcache, ...

assert cache.set("greeting", "hello", time=60)  # True: stored, expires in 60 s
assert cache.add("greeting", "hi") is False  # add only stores a missing key
assert cache.get("greeting") == "hello"
assert cache.incr("visits", initial_value=0) == 1  # counters create themselves
assert cache.get_multi(["greeting", "nobody"]) == {"greeting": "hello"}
assert cache.delete("greeting")
assert cache.delete("visits")

# Two tiers: per-process data stays local, the rest is shared between workers.
client = CacheClient({"local": MemoryCache(), "shared": cache}, default_namespace="shared")
client.set("settings", {"theme": "dark"}, namespace="local")
client.set("user:42", {"name": "Ada"}, time=300)  # the default namespace: shared
assert client.get("settings", namespace="local") == {"theme": "dark"}
assert client.get("user:42") == {"name": "Ada"}
client.delete("user:42")
print(f"quickstart on {url}: ok")
