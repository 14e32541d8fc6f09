"""``from_url``: build a ready backend from one URL.

Schemes:

``memory://[?max_items=N&max_item_size=BYTES&copy_values=true]``
    :class:`~caching.memory.MemoryCache` (``max_item_size=0`` turns the item
    size check off).
``null://``
    :class:`~caching.null.NullCache`.
``memcached://host:port[,host:port...][?client=NAME&option=value...]``
    a memcached adapter; ``client`` is ``pylibmc`` (default), ``pymemcache``
    or ``python-memcached``; each adapter documents its options. A host
    without a port uses 11211; ``unix:/path/to/socket`` names a socket.
    Building never connects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from caching.adapters import ADAPTERS, adapter_class
from caching.contract import Cache

__all__ = ["from_url", "parse_options", "parse_servers"]


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def parse_options(url: str, query: str, spec: dict[str, Callable[[str], Any]]) -> dict[str, Any]:
    """Parse ``query`` into typed options, each converted by ``spec[name]``.

    :raises ValueError: an option ``spec`` does not name, one given twice, or a
        value its converter refuses; the message names the option and the URL.
    """
    options: dict[str, Any] = {}
    for name, text in parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)):
        if name not in spec:
            known = ", ".join(sorted(spec)) or "none"
            raise ValueError(f"unknown option {name!r} in {url!r} (known: {known})")
        if name in options:
            raise ValueError(f"option {name!r} given twice in {url!r}")
        try:
            options[name] = spec[name](text)
        except ValueError as exc:
            raise ValueError(f"bad value for option {name!r} in {url!r}: {exc}") from None
    return options


def parse_servers(url: str, netloc: str) -> list[str]:
    """Split ``host:port[,host:port...]`` into ``["host:port", ...]``.

    A host without a port gets 11211; ``unix:/path`` passes as is.

    :raises ValueError: no server, an empty entry or a port that is not a
        number in 1..65535.
    """
    if not netloc:
        raise ValueError(f"no server in {url!r}; expected memcached://host:port")
    servers = []
    for entry in netloc.split(","):
        entry = entry.strip()
        if entry.startswith("unix:"):
            servers.append(entry)
            continue
        host, sep, port = entry.rpartition(":") if ":" in entry else (entry, "", "11211")
        if not host or (sep and not port):
            raise ValueError(f"bad server {entry!r} in {url!r}; expected host:port")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"bad port {port!r} in {url!r}")
        servers.append(f"{host}:{port}")
    return servers


def _positive_or_none(text: str) -> int | None:
    value = int(text)
    if value < 0:
        raise ValueError("must be >= 0")
    return value or None


def _memory(url: str, netloc: str, path: str, query: str) -> Cache:
    from caching.memory import MemoryCache

    if netloc or path not in ("", "/"):
        raise ValueError(f"memory:// takes no host or path, got {url!r}")
    options = parse_options(
        url,
        query,
        {"max_items": _positive_or_none, "max_item_size": _positive_or_none, "copy_values": _bool},
    )
    return MemoryCache(**options)


def _null(url: str, netloc: str, path: str, query: str) -> Cache:
    from caching.null import NullCache

    if netloc or path not in ("", "/") or query:
        raise ValueError(f"null:// takes no host, path or option, got {url!r}")
    return NullCache()


def _memcached(url: str, netloc: str, path: str, query: str) -> Cache:
    if path not in ("", "/"):
        raise ValueError(f"memcached:// takes no path, got {url!r}")
    pairs = parse_qsl(query, keep_blank_values=True)
    clients = [value for name, value in pairs if name == "client"]
    client = clients[-1] if clients else "pylibmc"
    if client not in ADAPTERS:
        known = ", ".join(ADAPTERS)
        raise ValueError(f"unknown memcached client {client!r} in {url!r} (known: {known})")
    servers = parse_servers(url, netloc)
    rest = "&".join(f"{name}={value}" for name, value in pairs if name != "client")
    adapter: Cache = adapter_class(client).from_url(url, servers, rest)
    return adapter


_SCHEMES: dict[str, Callable[[str, str, str, str], Cache]] = {
    "memory": _memory,
    "null": _null,
    "memcached": _memcached,
}


def from_url(url: str) -> Cache:
    """Build a backend from ``url`` (see the module docstring for the schemes).

    >>> from_url("memory://?max_items=1000")  # doctest: +ELLIPSIS
    <caching.memory.MemoryCache object at ...>

    :param url: the backend's URL.
    :returns: a ready backend; nothing is connected yet.
    :raises ValueError: an unknown scheme, a malformed server list, an
        unknown option or a bad option value; the message names it.
    :raises caching.errors.MissingExtraError: the client library the URL
        needs is not installed (an ``ImportError`` naming the extra).
    """
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, not {type(url).__name__}")
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        known = ", ".join(f"{name}://" for name in _SCHEMES)
        raise ValueError(f"unknown cache URL scheme in {url!r} (known: {known})")
    if parts.fragment:
        raise ValueError(f"cache URL {url!r} must not have a fragment")
    netloc, path = parts.netloc, parts.path
    if parts.scheme == "memcached" and "unix:" in netloc.split(",")[-1]:
        # urlsplit reads "memcached://unix:/run/mc.sock" as netloc "unix:" and
        # a path: the socket path belongs to the server list.
        netloc, path = netloc + path, ""
    return _SCHEMES[parts.scheme](url, netloc, path, parts.query)
