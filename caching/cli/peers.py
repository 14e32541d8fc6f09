"""The operations ``python -m caching bench`` times, on caching and its peers.

Each subject maps an operation name to a call taking no argument, working on
keys of its own (a shared memcached sees every subject's items side by side,
and the peers store values in formats of their own). Peers (wheezy.caching,
dogpile.cache, cachetools, Django's cache) are used when importable and when
they can reach the same kind of store: an in-process one for ``memory://``
(Django's ``LocMemCache``), the same memcached client library for
``memcached://`` (Django's ``PyLibMCCache`` or ``PyMemcacheCache``).
Operations a peer lacks are left out of its subject.
"""

from __future__ import annotations

import copy
import importlib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["TEXT", "VALUE", "Keys", "Ops", "contract_ops", "pattern_ops", "peer_subjects"]

Ops = dict[str, Callable[[], object]]

#: The value of every item the benchmark stores: a small record.
VALUE = {"id": 42, "name": "a realistic small record", "tags": ["a", "b", "c"]}
#: The value of the ``set (str)`` row: a short str.
TEXT = "a realistic small record"
#: Seconds the benchmark's items live on a server.
TTL = 600
#: Tells this run's keys from an earlier run's on a shared server.
_RUN = uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class Keys:
    """The keys one subject works on, all starting with ``bench:<run>:<prefix>:``."""

    item: str
    missing: str
    counter: str
    many: tuple[str, ...]
    text: str

    @classmethod
    def make(cls, prefix: str) -> Keys:
        """The keys of subject ``prefix`` in this run."""
        start = f"bench:{_RUN}:{prefix}:"
        many = tuple(f"{start}many:{i}" for i in range(10))
        return cls(start + "item", start + "missing", start + "counter", many, start + "text")

    def many_items(self) -> dict[str, Any]:
        """The items of the ``_multi`` operations: distinct copies of :data:`VALUE`."""
        return {key: copy.deepcopy(VALUE) for key in self.many}


def contract_ops(cache: Any, keys: Keys) -> Ops:
    """The contract operations on ``cache`` (caching's or wheezy.caching's);
    the counter has an expiry, as rate limits and lockouts keep theirs."""
    many, items = list(keys.many), keys.many_items()
    cache.set(keys.item, VALUE, TTL)
    cache.set(keys.counter, 0, TTL)
    cache.set_multi(items, TTL)
    return {
        "get (hit)": lambda: cache.get(keys.item),
        "get (miss)": lambda: cache.get(keys.missing),
        "set": lambda: cache.set(keys.item, VALUE, TTL),
        "set (str)": lambda: cache.set(keys.text, TEXT, TTL),
        "add (exists)": lambda: cache.add(keys.item, VALUE, TTL),
        "incr (expiring)": lambda: cache.incr(keys.counter),
        "delete (miss)": lambda: cache.delete(keys.missing),
        "get_multi x10": lambda: cache.get_multi(many),
        "set_multi x10": lambda: cache.set_multi(items, TTL),
    }


def pattern_ops(cached_type: Any, cache: Any, keys: Keys) -> Ops:
    """The main patterns, on hits: a ``@cached`` function and ``get_or_create``.

    :param cached_type: ``Cached`` of caching or of wheezy.caching (same API).
    """
    cached = cached_type(cache, time=TTL)
    decorate = cached.wraps_get_or_set(make_key=lambda item_id: f"{keys.item}:fn:{item_id}")
    return _hits(decorate, cached.get_or_create, keys.item + ":created")


def _value(item_id: int = 0) -> Any:
    return VALUE


def _hits(
    decorate: Callable[[Callable[[int], Any]], Callable[[int], Any]],
    get_or_create: Callable[[str, Callable[[], Any]], Any],
    key: str,
) -> Ops:
    """A decorated function and ``get_or_create(key)``, each called once to fill."""
    load = decorate(_value)
    load(1)
    get_or_create(key, _value)
    return {
        "@cached (hit)": lambda: load(1),
        "get_or_create (hit)": lambda: get_or_create(key, _value),
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


def _wheezy(url: str, servers: list[str], keys: Keys) -> Ops | None:
    if _module("wheezy.caching") is None:
        return None
    cache = _wheezy_cache(url, servers)
    if cache is None:
        return None
    cached_type = _module("wheezy.caching.patterns").Cached
    return {**contract_ops(cache, keys), **pattern_ops(cached_type, cache, keys)}


def _wheezy_cache(url: str, servers: list[str]) -> Any:
    if not servers:
        return _module("wheezy.caching").MemoryCache()
    client = _client_name(url)
    if client == "pylibmc" and _module("pylibmc") is not None:
        pool = _OnePool(_module("pylibmc").Client(servers))
        return _module("wheezy.caching.pylibmc").MemcachedClient(pool)
    if client == "python-memcached" and _module("memcache") is not None:
        return _module("wheezy.caching.memcache").MemcachedClient(servers)
    return None


_DOGPILE_BACKENDS = {
    "pylibmc": "dogpile.cache.pylibmc",
    "pymemcache": "dogpile.cache.pymemcache",
    "python-memcached": "dogpile.cache.memcached",
}


def _dogpile(url: str, servers: list[str], keys: Keys) -> Ops | None:
    region_module = _module("dogpile.cache")
    if region_module is None:
        return None
    region = region_module.make_region()
    if servers:
        region.configure(_DOGPILE_BACKENDS[_client_name(url)], arguments={"url": servers})
    else:
        region.configure("dogpile.cache.memory")
    many, items = list(keys.many), keys.many_items()
    region.set(keys.item, VALUE)
    region.set_multi(items)
    hits = _hits(
        region.cache_on_arguments(namespace=keys.item),
        region.get_or_create,
        keys.item + ":created",
    )
    return {
        **hits,
        "get (hit)": lambda: region.get(keys.item),
        "get (miss)": lambda: region.get(keys.missing),
        "set": lambda: region.set(keys.item, VALUE),
        "set (str)": lambda: region.set(keys.text, TEXT),
        "delete (miss)": lambda: region.delete(keys.missing),
        "get_multi x10": lambda: region.get_multi(many),
        "set_multi x10": lambda: region.set_multi(items),
    }


def _cachetools(url: str, servers: list[str], keys: Keys) -> Ops | None:
    module = _module("cachetools")
    if module is None or servers:
        return None
    store = module.TTLCache(maxsize=1_000_000, ttl=TTL)
    lock = threading.Lock()  # cachetools caches are not thread-safe by themselves
    many, items = list(keys.many), keys.many_items()

    def get(key: str) -> Any:
        with lock:
            return store.get(key)

    def add() -> bool:
        with lock:
            if keys.item in store:
                return False
            store[keys.item] = VALUE
            return True

    def incr() -> int:
        with lock:
            store[keys.counter] = value = store.get(keys.counter, 0) + 1
            return int(value)

    def set_one() -> None:
        with lock:
            store[keys.item] = VALUE

    def set_text() -> None:
        with lock:
            store[keys.text] = TEXT

    def get_multi() -> dict[str, Any]:
        with lock:
            return {key: store[key] for key in many if key in store}

    def set_multi() -> None:
        with lock:
            store.update(items)

    def delete() -> Any:
        with lock:
            return store.pop(keys.missing, None)

    load = module.cached(store, key=lambda item_id: f"{keys.item}:fn:{item_id}", lock=lock)(_value)
    set_one()
    set_multi()
    load(1)
    return {
        "@cached (hit)": lambda: load(1),
        "get (hit)": lambda: get(keys.item),
        "get (miss)": lambda: get(keys.missing),
        "set": set_one,
        "set (str)": set_text,
        "add (exists)": add,
        "incr (expiring)": incr,
        "delete (miss)": delete,
        "get_multi x10": get_multi,
        "set_multi x10": set_multi,
    }


_DJANGO_BACKENDS = {
    "pylibmc": "django.core.cache.backends.memcached.PyLibMCCache",
    "pymemcache": "django.core.cache.backends.memcached.PyMemcacheCache",
}


def _django(url: str, servers: list[str], keys: Keys) -> Ops | None:
    if _module("django") is None:
        return None
    settings = _module("django.conf").settings
    if not settings.configured:
        settings.configure()
    if servers:
        backend = _DJANGO_BACKENDS.get(_client_name(url))
        if backend is None or _module(_client_name(url)) is None:
            return None
        path, name = backend.rsplit(".", 1)
        cache = getattr(_module(path), name)(servers, {"TIMEOUT": TTL})
    else:
        locmem = _module("django.core.cache.backends.locmem")
        cache = locmem.LocMemCache(
            f"bench-{_RUN}", {"TIMEOUT": TTL, "OPTIONS": {"MAX_ENTRIES": 10**6}}
        )
    many, items = list(keys.many), keys.many_items()
    cache.set(keys.item, VALUE, TTL)
    cache.set(keys.counter, 0, TTL)
    cache.set_many(items, TTL)
    return {
        "get (hit)": lambda: cache.get(keys.item),
        "get (miss)": lambda: cache.get(keys.missing),
        "set": lambda: cache.set(keys.item, VALUE, TTL),
        "set (str)": lambda: cache.set(keys.text, TEXT, TTL),
        "add (exists)": lambda: cache.add(keys.item, VALUE, TTL),
        "incr (expiring)": lambda: cache.incr(keys.counter),
        "delete (miss)": lambda: cache.delete(keys.missing),
        "get_multi x10": lambda: cache.get_many(many),
        "set_multi x10": lambda: cache.set_many(items, TTL),
    }


_PEERS: dict[str, Callable[[str, list[str], Keys], Ops | None]] = {
    "wheezy.caching": _wheezy,
    "dogpile.cache": _dogpile,
    "cachetools": _cachetools,
    "django": _django,
}


def peer_subjects(url: str, servers: list[str]) -> tuple[dict[str, Ops], dict[str, str]]:
    """The peers installed here that can run against the store ``url`` names.

    :param url: caching's cache URL (its ``client=`` picks the peers' client).
    :param servers: its memcached servers, ``[]`` for an in-process store.
    :returns: (peer name -> its operations, peer name -> why it could not be
        set up); peers not installed, or without a client for this store, are
        in neither.
    """
    subjects: dict[str, Ops] = {}
    failed: dict[str, str] = {}
    for name, build in _PEERS.items():
        try:
            ops = build(url, servers, Keys.make(name))
        except Exception as exc:  # a peer's own failure must not stop the benchmark
            failed[name] = f"set-up raised {type(exc).__name__}: {exc}"
            continue
        if ops is not None:
            subjects[name] = ops
    return subjects, failed
