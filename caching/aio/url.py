"""``caching.aio.from_url``: an async backend from one URL.

The schemes and options are :func:`caching.from_url`'s:

``memory://[?max_items=N&max_item_size=BYTES&copy_values=true]``
    :class:`~caching.aio.AsyncMemoryCache`.
``null://``
    :class:`~caching.aio.AsyncNullCache`.
``memcached://host:port[,host:port...][?option=value...]``
    :class:`~caching.aio.AsyncMemcachedClient` (over emcache; ``client=emcache``
    may be given, no other client). Building never connects.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from caching.aio.contract import AsyncCache
from caching.aio.inprocess import AsyncMemoryCache, AsyncNullCache
from caching.memory import MemoryCache
from caching.url import from_url as sync_from_url
from caching.url import parse_servers

__all__ = ["from_url"]


def from_url(url: str) -> AsyncCache:
    """Build an async backend from ``url`` (see the module docstring).

    :param url: the backend's URL.
    :returns: a ready backend; nothing is connected yet.
    :raises TypeError: ``url`` is not a ``str``.
    :raises ValueError: an unknown scheme, a malformed server list, an
        unknown option or a bad option value (the message names it).
    :raises caching.errors.MissingExtraError: emcache is not installed
        (``pip install 'caching-toolkit[emcache]'``).
    """
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, not {type(url).__name__}")
    parts = urlsplit(url)
    if parts.scheme != "memcached":
        cache = sync_from_url(url)  # memory:// and null:// parsed in one place
        if isinstance(cache, MemoryCache):
            return AsyncMemoryCache(cache=cache)
        return AsyncNullCache()
    from caching.aio.memcached import AsyncMemcachedClient

    if parts.fragment:
        raise ValueError(f"cache URL {url!r} must not have a fragment")
    if parts.path not in ("", "/"):
        raise ValueError(f"memcached:// takes no path, got {url!r}")
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    for name, value in pairs:
        if name == "client" and value != "emcache":
            raise ValueError(
                f"unknown async memcached client {value!r} in {url!r} (known: emcache)"
            )
    servers = parse_servers(url, parts.netloc)
    rest = "&".join(f"{name}={value}" for name, value in pairs if name != "client")
    return AsyncMemcachedClient.from_url(url, servers, rest)
