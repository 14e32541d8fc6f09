"""The memcached adapters: the contract over pylibmc, pymemcache and python-memcached.

Each adapter is a :class:`~caching.adapters.base.MemcachedAdapter`; the client
libraries are optional (extras) and imported only when an adapter is built.
:data:`ADAPTERS` names them as ``memcached://...?client=NAME`` does, and
:func:`adapter_class` imports one by that name.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from caching.adapters.base import MemcachedAdapter

__all__ = ["ADAPTERS", "CONSISTENT_HASHING", "adapter_class"]

#: ``client=`` name -> ``(module, class)`` of its adapter.
ADAPTERS: dict[str, tuple[str, str]] = {
    "pylibmc": ("caching.adapters.pylibmc", "PylibmcAdapter"),
    "pymemcache": ("caching.adapters.pymemcache", "PymemcacheAdapter"),
    "python-memcached": ("caching.adapters.python_memcached", "PythonMemcachedAdapter"),
}

#: The adapters that spread keys over several servers by consistent hashing
#: (python-memcached uses CRC32 modulo N).
CONSISTENT_HASHING = ("pylibmc", "pymemcache")


def adapter_class(name: str) -> type[MemcachedAdapter]:
    """The adapter class of client ``name`` (a key of :data:`ADAPTERS`).

    Imports only this package's module; the client library itself is
    imported when the adapter is built.

    :raises ValueError: an unknown name; the message lists the known ones.
    """
    try:
        module, attribute = ADAPTERS[name]
    except KeyError:
        known = ", ".join(ADAPTERS)
        raise ValueError(f"unknown memcached client {name!r} (known: {known})") from None
    cls: type[MemcachedAdapter] = getattr(importlib.import_module(module), attribute)
    return cls
