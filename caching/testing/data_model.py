"""The data model of the data-only serializers, for the suite and the probes
(no pytest here: ``python -m caching check`` imports it)."""

from __future__ import annotations

from typing import Any

from caching.contract import Cache

__all__ = ["as_data", "in_data_model", "serializer_of"]


def serializer_of(cache: Cache) -> str:
    """The serializer of ``cache``: ``cache.codec.serializer`` where the
    backend has one (the memcached adapters), else ``"pickle"``."""
    serializer = getattr(getattr(cache, "codec", None), "serializer", "pickle")
    return serializer if isinstance(serializer, str) else "pickle"


def in_data_model(value: Any) -> bool:
    """Whether ``value`` is in the json/msgpack data model."""
    kind = type(value)
    if value is None or kind in (bool, int, float, str, bytes):
        return True
    if kind in (list, tuple):
        return all(in_data_model(item) for item in value)
    if kind is dict:
        return all(type(k) is str and in_data_model(v) for k, v in value.items())
    return False


def as_data(value: Any) -> Any:
    """``value`` as a data-only serializer gives it back (tuples as lists)."""
    if type(value) in (list, tuple):
        return [as_data(item) for item in value]
    if type(value) is dict:
        return {k: as_data(v) for k, v in value.items()}
    return value
