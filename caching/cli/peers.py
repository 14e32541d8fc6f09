"""The operations ``python -m caching bench`` times, on caching and its peers.

Each subject maps an operation name to a call taking no argument, working on
keys it has prepared. Peers (wheezy.caching, dogpile.cache, cachetools) are
used when importable and when they can reach the same kind of store: an
in-process one for ``memory://``, the same memcached client library for
``memcached://``. Operations a peer lacks are left out of its subject.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["KEY", "MANY", "VALUE", "Ops", "contract_ops", "peer_subjects"]

Ops = dict[str, Callable[[], object]]

#: The key of the single-key operations, and the value stored under it.
KEY = "bench:item"
VALUE = {"id": 42, "name": "a realistic small record", "tags": ["a", "b", "c"]}
MISSING = "bench:missing"
COUNTER = "bench:counter"
#: The ten keys of the ``_multi`` operations.
MANY = [f"bench:many:{i}" for i in range(10)]
_MANY_ITEMS = dict.fromkeys(MANY, VALUE)


def contract_ops(cache: Any) -> Ops:
    """The contract operations on ``cache`` (caching's or wheezy.caching's)."""
    cache.set(KEY, VALUE)
    cache.set(COUNTER, 0)
    cache.set_multi(_MANY_ITEMS)
    return {
        "get (hit)": lambda: cache.get(KEY),
        "get (miss)": lambda: cache.get(MISSING),
        "set": lambda: cache.set(KEY, VALUE),
        "add (exists)": lambda: cache.add(KEY, VALUE),
        "incr": lambda: cache.incr(COUNTER),
        "delete (miss)": lambda: cache.delete(MISSING),
        "get_multi x10": lambda: cache.get_multi(MANY),
        "set_multi x10": lambda: cache.set_multi(_MANY_ITEMS),
    }


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _client_name(url: str) -> str:
    return parse_qs(urlsplit(url).query).get("client", ["pylibmc"])[-1]


class _OnePool:
    """The pool wheezy's pylibmc adapter wants, over one client (one thread)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def acquire(self) -> Any:
        return self.client

    def get_back(self, client: Any) -> None:
        pass


def _wheezy(url: str, servers: list[str]) -> Ops | None:
    if _module("wheezy.caching") is None:
        return None
    if not servers:
        return contract_ops(_module("wheezy.caching").MemoryCache())
    client = _client_name(url)
    if client == "pylibmc" and _module("pylibmc") is not None:
        pool = _OnePool(_module("pylibmc").Client(servers))
        return contract_ops(_module("wheezy.caching.pylibmc").MemcachedClient(pool))
    if client == "python-memcached" and _module("memcache") is not None:
        return contract_ops(_module("wheezy.caching.memcache").MemcachedClient(servers))
    return None


_DOGPILE_BACKENDS = {
    "pylibmc": "dogpile.cache.pylibmc",
    "pymemcache": "dogpile.cache.pymemcache",
    "python-memcached": "dogpile.cache.memcached",
}


def _dogpile(url: str, servers: list[str]) -> Ops | None:
    region_module = _module("dogpile.cache")
    if region_module is None:
        return None
    region = region_module.make_region()
    if servers:
        region.configure(_DOGPILE_BACKENDS[_client_name(url)], arguments={"url": servers})
    else:
        region.configure("dogpile.cache.memory")
    region.set(KEY, VALUE)
    region.set_multi(_MANY_ITEMS)
    return {
        "get (hit)": lambda: region.get(KEY),
        "get (miss)": lambda: region.get(MISSING),
        "set": lambda: region.set(KEY, VALUE),
        "delete (miss)": lambda: region.delete(MISSING),
        "get_multi x10": lambda: region.get_multi(MANY),
        "set_multi x10": lambda: region.set_multi(_MANY_ITEMS),
    }


def _cachetools(url: str, servers: list[str]) -> Ops | None:
    module = _module("cachetools")
    if module is None or servers:
        return None
    store = module.TTLCache(maxsize=1_000_000, ttl=3600)
    lock = threading.Lock()  # cachetools caches are not thread-safe by themselves

    def get(key: str) -> Any:
        with lock:
            return store.get(key)

    def add() -> bool:
        with lock:
            if KEY in store:
                return False
            store[KEY] = VALUE
            return True

    def incr() -> int:
        with lock:
            store[COUNTER] = value = store.get(COUNTER, 0) + 1
            return int(value)

    def set_one() -> None:
        with lock:
            store[KEY] = VALUE

    def get_multi() -> dict[str, Any]:
        with lock:
            return {key: store[key] for key in MANY if key in store}

    def set_multi() -> None:
        with lock:
            store.update(_MANY_ITEMS)

    def delete() -> Any:
        with lock:
            return store.pop(MISSING, None)

    set_one()
    set_multi()
    return {
        "get (hit)": lambda: get(KEY),
        "get (miss)": lambda: get(MISSING),
        "set": set_one,
        "add (exists)": add,
        "incr": incr,
        "delete (miss)": delete,
        "get_multi x10": get_multi,
        "set_multi x10": set_multi,
    }


_PEERS: dict[str, Callable[[str, list[str]], Ops | None]] = {
    "wheezy.caching": _wheezy,
    "dogpile.cache": _dogpile,
    "cachetools": _cachetools,
}


def peer_subjects(url: str, servers: list[str]) -> dict[str, Ops]:
    """The peers installed here that can run against the store ``url`` names.

    :param url: caching's cache URL (its ``client=`` picks the peers' client).
    :param servers: its memcached servers, ``[]`` for an in-process store.
    :returns: peer name -> its operations.
    """
    subjects = {}
    for name, build in _PEERS.items():
        ops = build(url, servers)
        if ops is not None:
            subjects[name] = ops
    return subjects
