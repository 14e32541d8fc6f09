"""wheezy.caching's import paths: thin shims over the new layout."""

from __future__ import annotations

import importlib
import importlib.util

import pytest

from caching.adapters.pylibmc import PylibmcAdapter, client_factory
from caching.adapters.pymemcache import PymemcacheAdapter
from caching.adapters.python_memcached import PythonMemcachedAdapter
from caching.encoding import encode_keys
from caching.expiry import total_seconds
from caching.patterns.dependency import CacheDependency
from caching.patterns.lockout import Counter, Locker, Lockout, NullLocker, NullLockout
from caching.patterns.onepass_handler import OnePassHandler

SHIMS = {
    "caching.pylibmc": {"MemcachedClient": PylibmcAdapter, "client_factory": client_factory},
    "caching.pymemcache": {"MemcachedClient": PymemcacheAdapter},
    "caching.memcache": {"MemcachedClient": PythonMemcachedAdapter},
    "caching.dependency": {"CacheDependency": CacheDependency},
    "caching.lockout": {
        "Counter": Counter,
        "Locker": Locker,
        "Lockout": Lockout,
        "NullLocker": NullLocker,
        "NullLockout": NullLockout,
    },
    "caching.logging": {"OnePassHandler": OnePassHandler},
    "caching.utils": {"encode_keys": encode_keys, "total_seconds": total_seconds},
}


@pytest.mark.parametrize("path", SHIMS)
def test_wheezy_path_re_exports_the_new_home(path: str) -> None:
    module = importlib.import_module(path)
    for name, value in SHIMS[path].items():
        assert getattr(module, name) is value
    assert set(module.__all__) >= set(SHIMS[path])
    assert module.__doc__ is not None
    assert "compatibility path" in module.__doc__.lower()


def test_memcache_client_is_python_memcacheds_or_none() -> None:
    module = importlib.import_module("caching.memcache")
    if importlib.util.find_spec("memcache") is None:
        assert module.Client is None
    else:
        assert module.Client is importlib.import_module("memcache").Client
